"""TFRecord framing and tf.Example wire format against files written and read by TensorFlow.

``tf_*.tfrecord*`` were written by TensorFlow 2.21 (``tests/reference/make_tf_fixtures.py``);
``ours_*.tfrecord*`` by skextras and parsed by TensorFlow into ``tf_read_ours.json``.
"""

import base64
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skextras.io import (
    TFRecordError,
    make_example,
    make_sequence_example,
    parse_example,
    parse_sequence_example,
    read_examples_to_frame,
    read_tfrecord,
    write_examples,
    write_tfrecord,
)
from skextras.io._crc32c import crc32c, masked_crc32c
from skextras.io._protobuf import ProtobufError, decode_varints, encode_varints

DATA = Path(__file__).resolve().parent / "data" / "feature_columns"
sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
import _spec  # noqa: E402
from write_skextras_tfrecords import typed  # noqa: E402

COMPRESSED = [("", None), (".gz", "GZIP"), (".zlib", "ZLIB")]


def assert_feature_equal(got, spec_value):
    expected = typed(spec_value)
    if expected.dtype == object:
        assert list(got) == [v.encode("utf-8") for v in expected]
    else:
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("suffix", "compression"), COMPRESSED)
def test_read_tfrecord_reads_tensorflow_examples(suffix, compression):
    records = list(read_tfrecord(DATA / f"tf_examples.tfrecord{suffix}", compression))
    assert len(records) == len(_spec.EXAMPLES)
    for record, spec in zip(records, _spec.EXAMPLES, strict=True):
        parsed = parse_example(record)
        assert set(parsed) == set(spec)
        for key, value in spec.items():
            assert_feature_equal(parsed[key], value)


def test_parse_sequence_example_reads_tensorflow_records():
    records = list(read_tfrecord(DATA / "tf_sequence_examples.tfrecord"))
    for record, spec in zip(records, _spec.SEQUENCE_EXAMPLES, strict=True):
        context, lists = parse_sequence_example(record)
        assert set(context) == set(spec["context"])
        for key, value in spec["context"].items():
            assert_feature_equal(context[key], value)
        assert set(lists) == set(spec["feature_lists"])
        for key, steps in spec["feature_lists"].items():
            assert len(lists[key]) == len(steps)
            for got, step in zip(lists[key], steps, strict=True):
                assert_feature_equal(got, step)


def _from_tf_json(feature):
    """A feature as TF's json_format printed it, in _spec's {"kind": values} form."""
    if not feature:
        return None
    ((kind, body),) = feature.items()
    values = body.get("value", [])
    if kind == "bytesList":
        return {"bytes": [base64.b64decode(v).decode("utf-8") for v in values]}
    if kind == "floatList":
        return {"float": np.array(values, dtype=np.float32).tolist()}
    return {"int64": [int(v) for v in values]}


def _spec_float32(spec_value):
    ((kind, values),) = spec_value.items()
    if kind == "float":
        return {"float": np.array(values, dtype=np.float32).tolist()}
    return spec_value


@pytest.mark.parametrize("suffix", ["", ".gz", ".zlib"])
def test_tensorflow_reads_our_examples(suffix):
    tf_parsed = json.loads((DATA / "tf_read_ours.json").read_text(encoding="utf-8"))
    messages = tf_parsed[f"ours_examples.tfrecord{suffix}"]
    assert len(messages) == len(_spec.EXAMPLES)
    for msg, spec in zip(messages, _spec.EXAMPLES, strict=True):
        feats = msg["features"]["feature"]
        assert set(feats) == set(spec)
        for key, value in spec.items():
            got = _from_tf_json(feats[key])
            empty = {next(iter(value)): []}
            assert (got or empty) == _spec_float32(value), key


def test_tensorflow_reads_our_sequence_examples():
    tf_parsed = json.loads((DATA / "tf_read_ours.json").read_text(encoding="utf-8"))
    messages = tf_parsed["ours_sequence_examples.tfrecord"]
    for msg, spec in zip(messages, _spec.SEQUENCE_EXAMPLES, strict=True):
        context = msg.get("context", {}).get("feature", {})
        assert {k: _from_tf_json(v) for k, v in context.items()} == spec["context"]
        lists = msg.get("featureLists", {}).get("featureList", {})
        assert set(lists) == set(spec["feature_lists"])
        for key, steps in spec["feature_lists"].items():
            got = [_from_tf_json(f) for f in lists[key].get("feature", [])]
            want = [_spec_float32(s) for s in steps]
            assert got == want, key


@pytest.mark.parametrize(("suffix", "compression"), COMPRESSED)
def test_write_tfrecord_reproduces_our_fixture_files(tmp_path, suffix, compression):
    from write_skextras_tfrecords import example_bytes

    path = tmp_path / f"x.tfrecord{suffix}"
    write_tfrecord(path, example_bytes(), compression)
    assert list(read_tfrecord(path, compression)) == list(
        read_tfrecord(DATA / f"ours_examples.tfrecord{suffix}", compression)
    )


def test_read_examples_to_frame_scalar_and_list_columns():
    frame = read_examples_to_frame(DATA / "tf_examples.tfrecord")
    assert list(frame["label"]) == [1, 0, 1]
    assert list(frame["city"]) == ["paris", "", "😀"]
    assert frame["age"].dtype == np.float32
    assert list(frame["tags"][0]) == ["a", "", "é", "中文"]
    assert frame["ids"][1].size == 0 and frame["ids"][0][0] == -(2**63)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (9, r"record 1 \(byte \d+\) has a corrupted length CRC"),
        (13, r"record 1 \(byte \d+\) has a corrupted data CRC"),
    ],
)
def test_read_tfrecord_names_the_corrupted_record(tmp_path, offset, message):
    first = len(next(read_tfrecord(DATA / "tf_examples.tfrecord"))) + 16
    raw = bytearray((DATA / "tf_examples.tfrecord").read_bytes())
    raw[first + offset] ^= 0x40
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(raw))
    with pytest.raises(TFRecordError, match=message):
        list(read_tfrecord(path))
    if "data" in message:
        assert len(list(read_tfrecord(path, verify_crc=False))) == len(_spec.EXAMPLES)


def test_read_tfrecord_truncated_file_names_the_record(tmp_path):
    raw = (DATA / "tf_examples.tfrecord").read_bytes()
    path = tmp_path / "cut.tfrecord"
    path.write_bytes(raw[:-5])
    with pytest.raises(TFRecordError, match=r"record 2 \(byte \d+\) is truncated"):
        list(read_tfrecord(path, verify_crc=False))


def test_read_tfrecord_bad_compression_names_parameter(tmp_path):
    shutil.copy(DATA / "tf_examples.tfrecord", tmp_path / "a")
    with pytest.raises(ValueError, match="compression"):
        list(read_tfrecord(tmp_path / "a", compression="LZ4"))


def test_crc32c_known_vectors_and_native_agree():
    assert crc32c(b"123456789", use_native=False) == 0xE3069283
    assert crc32c(bytes(32), use_native=False) == 0x8A9136AA
    assert crc32c(b"\xff" * 32, use_native=False) == 0x62A8AB43
    data = bytes(range(256)) * 3
    assert crc32c(data) == crc32c(data, use_native=False)
    assert masked_crc32c(b"") == 0xA282EAD8


def test_parse_example_rejects_garbage():
    with pytest.raises(ProtobufError):
        parse_example(b"\x0a\xff\x01abc")


def test_make_example_empty_untyped_list_names_feature():
    with pytest.raises(ValueError, match="'tags'"):
        make_example({"tags": []})


_int64 = st.integers(-(2**63), 2**63 - 1)
_values = st.one_of(
    st.lists(_int64, max_size=6).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(st.floats(width=32, allow_nan=False), max_size=6).map(
        lambda v: np.array(v, dtype=np.float32)
    ),
    st.lists(st.binary(max_size=12), max_size=6).map(lambda v: np.array(v, dtype=object)),
)
_features = st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=5)


@settings(max_examples=60, deadline=None)
@given(_features)
def test_example_round_trip(features):
    parsed = parse_example(make_example(features))
    assert set(parsed) == set(features)
    for key, value in features.items():
        if value.dtype == object:
            assert list(parsed[key]) == list(value)
        else:
            assert parsed[key].dtype == value.dtype
            np.testing.assert_array_equal(parsed[key], value)


@settings(max_examples=30, deadline=None)
@given(_features, st.dictionaries(st.text(max_size=5), st.lists(_values, max_size=3), max_size=3))
def test_sequence_example_round_trip(context, lists):
    got_context, got_lists = parse_sequence_example(make_sequence_example(context, lists))
    assert set(got_context) == set(context)
    assert set(got_lists) == set(lists)
    for key, steps in lists.items():
        assert len(got_lists[key]) == len(steps)
        for got, want in zip(got_lists[key], steps, strict=True):
            assert list(got) == list(want)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.sampled_from([None, "GZIP", "ZLIB"]),
)
def test_tfrecord_round_trip(tmp_path_factory, records, compression):
    path = tmp_path_factory.mktemp("rt") / "r.tfrecord"
    assert write_tfrecord(path, records, compression) == len(records)
    assert list(read_tfrecord(path, compression)) == records


@settings(max_examples=60, deadline=None)
@given(st.lists(_int64, max_size=50))
def test_varints_round_trip(values):
    arr = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(decode_varints(encode_varints(arr)), arr)


def test_cli_prints_and_exports_records(tmp_path, capsys):
    import argparse

    from skextras.io._cli import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out_csv = tmp_path / "x.csv"
    args = parser.parse_args(
        [str(DATA / "tf_examples.tfrecord.gz"), "--compression", "GZIP", "--to-csv", str(out_csv)]
    )
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert "3 records, 6 features" in printed and "paris" in printed
    assert out_csv.read_text(encoding="utf-8").splitlines()[0].split(",")[0] in {
        "label",
        "age",
        "city",
        "tags",
        "ids",
        "scores",
    }


def test_zlib_reader_streams_records_across_chunks(tmp_path):
    from skextras.io.tfrecord import _ZlibReader

    records = [bytes([i % 251]) * (i * 37) for i in range(60)]
    path = tmp_path / "big.tfrecord.zlib"
    write_tfrecord(path, records, "ZLIB")
    reader = _ZlibReader(path, chunk=64)
    head = reader.read(12)
    reader.close()
    assert len(head) == 12
    assert list(read_tfrecord(path, "ZLIB")) == records


def test_examples_frame_feeds_dense_features():
    from skextras import feature_columns as fc

    frame = read_examples_to_frame(DATA / "tf_examples.tfrecord")
    tags = fc.categorical_column_with_vocabulary_list("tags", ["a", "é", "x"])
    layer = fc.DenseFeatures([fc.numeric_column("age"), fc.indicator_column(tags)])
    out = layer.fit_transform(frame[["age", "tags"]])
    np.testing.assert_array_equal(out, [[31.5, 1, 1, 0], [0, 0, 0, 0], [7.25, 0, 0, 1]])


@pytest.mark.parametrize(("suffix", "compression"), [(".gz", "GZIP"), (".zlib", "ZLIB")])
def test_read_tfrecord_compressed_file_without_compression_names_the_option(suffix, compression):
    path = DATA / f"tf_examples.tfrecord{suffix}"
    with pytest.raises(TFRecordError, match=rf"pass compression='{compression}'") as info:
        list(read_tfrecord(path))
    assert "corrupted" not in str(info.value)


@pytest.mark.parametrize("suffix", ["", ".gz", ".zlib"])
def test_read_tfrecord_auto_compression_reads_tensorflow_files(suffix):
    path = DATA / f"tf_examples.tfrecord{suffix}"
    assert list(read_tfrecord(path, "auto")) == list(read_tfrecord(DATA / "tf_examples.tfrecord"))


@pytest.mark.parametrize("level", [1, 6, 9])
def test_read_tfrecord_auto_detects_every_zlib_level(tmp_path, level):
    import zlib

    plain = (DATA / "tf_examples.tfrecord").read_bytes()
    path = tmp_path / "x.zlib"
    path.write_bytes(zlib.compress(plain, level))
    assert len(list(read_tfrecord(path, "auto"))) == len(_spec.EXAMPLES)


def test_read_tfrecord_auto_keeps_a_plain_file_whose_first_bytes_look_compressed(tmp_path):
    # a 0x8b1f-byte record starts with the GZIP magic; its valid length CRC says plain
    records = [bytes(0x8B1F), b"x"]
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, records)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert list(read_tfrecord(path, "auto")) == records
    assert list(read_tfrecord(path)) == records


def test_read_tfrecord_plain_file_read_as_gzip_says_pass_none():
    with pytest.raises(TFRecordError, match="pass compression=None"):
        list(read_tfrecord(DATA / "tf_examples.tfrecord", "GZIP"))


def _failing_records(n_good):
    for _ in range(n_good):
        yield b"good"
    raise RuntimeError("source failed")


@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_write_tfrecord_failing_iterable_leaves_no_file(tmp_path, compression):
    path = tmp_path / "x.tfrecord"
    with pytest.raises(RuntimeError, match="source failed"):
        write_tfrecord(path, _failing_records(3), compression)
    assert list(tmp_path.iterdir()) == []


def test_write_tfrecord_bad_record_keeps_the_earlier_file(tmp_path):
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [b"old"])
    with pytest.raises(TypeError, match=r"records\[1\]"):
        write_tfrecord(path, [b"new", 7])
    assert list(read_tfrecord(path)) == [b"old"]
    assert list(tmp_path.iterdir()) == [path]


def test_write_tfrecord_file_has_the_umask_permissions(tmp_path):
    import os

    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [b"a"])
    assert os.stat(path).st_mode == os.stat(plain).st_mode


def test_write_tfrecord_refuses_auto_compression(tmp_path):
    with pytest.raises(ValueError, match=r"compression must be None, 'GZIP' or 'ZLIB', got 'auto'"):
        write_tfrecord(tmp_path / "x", [b"a"], "auto")


def assert_frames_equal(got, want):
    """Cell by cell: scalars equal, list cells equal arrays of the same dtype, None = None.

    Column order is not compared: an Example is a map, written in key order."""
    assert sorted(got.columns) == sorted(want.columns) and len(got) == len(want)
    for name in want.columns:
        assert got[name].dtype == want[name].dtype, name
        for a, b in zip(got[name], want[name], strict=True):
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype, name
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b or (a is None and b is None), name


@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_write_examples_round_trips_read_examples_to_frame(tmp_path, compression):
    frame = read_examples_to_frame(DATA / "tf_examples.tfrecord")
    path = tmp_path / "x.tfrecord"
    assert write_examples(path, frame, compression=compression) == len(frame)
    assert_frames_equal(read_examples_to_frame(path, compression), frame)


def _protobuf_example_of_row(row, kinds):
    """The definition: one protobuf Example per row, missing cells left out, typed lists."""
    from _example_proto import messages

    example = messages()["Example"]()
    example.features.SetInParent()
    for name, cell in row.items():
        if cell is None or (np.isscalar(cell) and cell != cell):
            continue
        values = list(cell) if isinstance(cell, (list, np.ndarray)) else [cell]
        feature = example.features.feature[name]
        if kinds[name] == "bytes":
            feature.bytes_list.SetInParent()
            feature.bytes_list.value.extend(
                [v.encode() if isinstance(v, str) else v for v in values]
            )
        elif kinds[name] == "float":
            feature.float_list.SetInParent()
            feature.float_list.value.extend([float(v) for v in values])
        else:
            feature.int64_list.SetInParent()
            feature.int64_list.value.extend([int(v) for v in values])
    return example


def test_write_examples_records_equal_protobuf_examples_of_the_rows(tmp_path):
    import pandas as pd
    from _example_proto import messages

    frame = pd.DataFrame(
        {
            "age": [31.5, np.nan, 7.0],
            "n": pd.array([1, None, -(2**63)], dtype="Int64"),
            "flag": [True, False, True],
            "city": ["paris", None, "中文"],
            "text": pd.array(["x", None, "y"], dtype="string"),
            "raw": [b"\x00\xff", b"", None],
            "tags": [["a", "b"], [], None],
            "ids": [np.array([1, 2**40]), np.zeros(0, np.int64), [3]],
            "mixed": [[1, 2.5], 3, None],
        }
    )
    kinds = {"age": "float", "n": "int64", "flag": "int64", "city": "bytes", "text": "bytes",
             "raw": "bytes", "tags": "bytes", "ids": "int64", "mixed": "float"}  # fmt: skip
    path = tmp_path / "x.tfrecord"
    write_examples(path, frame)
    for record, (_, row) in zip(read_tfrecord(path), frame.iterrows(), strict=True):
        parsed = messages()["Example"]()
        parsed.ParseFromString(record)
        assert parsed == _protobuf_example_of_row(row.to_dict(), kinds)


def test_write_examples_dtypes_type_empty_lists_and_widen_ints(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"ids": [[], []], "x": [1, 2]})
    path = tmp_path / "x.tfrecord"
    write_examples(path, frame, dtypes={"ids": "int64", "x": "float"})
    back = read_examples_to_frame(path)
    assert [cell.dtype for cell in back["ids"]] == [np.int64, np.int64]
    assert back["x"].dtype == np.float32 and list(back["x"]) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("frame", "dtypes", "error", "match"),
    [
        ({"a": [[1], ["x"]]}, None, TypeError, r"column 'a': cells mix bytes and int64"),
        ({"a": [[], []]}, None, ValueError, r"column 'a': only empty lists, no type"),
        ({"a": ["2020-01-01"]}, {"b": "int64"}, ValueError, r"dtypes names columns .*\['b'\]"),
        ({"a": ["x"]}, {"a": "int64"}, TypeError, r"feature 'a': dtypes says int64"),
        ({"a": [2.5]}, {"a": "int64"}, TypeError, r"feature 'a': dtypes says int64, the va"),
        ({0: [1]}, None, TypeError, r"column names must be str, got int 0"),
    ],
)
def test_write_examples_bad_frame_raises_naming_the_column(tmp_path, frame, dtypes, error, match):
    import pandas as pd

    with pytest.raises(error, match=match):
        write_examples(tmp_path / "x.tfrecord", pd.DataFrame(frame), dtypes=dtypes)
    assert list(tmp_path.iterdir()) == []


def test_write_examples_datetime_column_and_non_frame_raise(tmp_path):
    import pandas as pd

    dates = pd.DataFrame({"d": pd.to_datetime(["2020-01-01"])})
    with pytest.raises(TypeError, match=r"column 'd': cannot store dtype datetime64"):
        write_examples(tmp_path / "x", dates)
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame, got dict"):
        write_examples(tmp_path / "x", {"a": [1]})


_cells = st.one_of(st.none(), st.lists(_int64, max_size=50).map(np.array))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "i": st.lists(_int64, min_size=n, max_size=n),
                "f": st.lists(st.floats(width=32, allow_nan=False), min_size=n, max_size=n),
                "l": st.lists(_cells, min_size=n, max_size=n),
                "g": st.lists(
                    st.one_of(st.none(), st.lists(st.floats(width=32), max_size=20)),
                    min_size=n,
                    max_size=n,
                ),
            }
        )
    )
)
def test_write_examples_column_encoding_equals_make_example_per_row(tmp_path_factory, columns):
    import pandas as pd

    frame = pd.DataFrame(columns)
    dtypes = {"l": "int64", "g": "float"}
    path = tmp_path_factory.mktemp("we") / "x.tfrecord"
    write_examples(path, frame, dtypes=dtypes)
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values())]
    assert list(read_tfrecord(path)) == [make_example(row, dtypes=dtypes) for row in rows]
