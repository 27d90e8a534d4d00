"""The tf.Example codec against the real protobuf library, on valid and hostile bytes.

``_example_proto`` declares TensorFlow's messages to protobuf itself; protobuf's parser and
its deterministic serialisation (map entries sorted by key, what TensorFlow's
``SerializeToString(deterministic=True)`` writes) are the reference. Hostile inputs (random
bytes, truncations, bit flips, huge length varints, deep nesting, wrong wire types) must
give what protobuf parses or a ProtobufError, within the deadline and without allocating
more than a small multiple of the input.
"""

import random
import tracemalloc

import numpy as np
import pytest
from _example_proto import deterministic_bytes, feature_array, feature_pb, features_dict, messages
from _mutations import mutate, mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skextras.io import (
    ProtobufError,
    make_example,
    make_sequence_example,
    parse_example,
    parse_sequence_example,
)
from skextras.io._protobuf import _len_field, _varint, encode_varints

FUZZ = settings(
    max_examples=30, derandomize=True, deadline=5000, suppress_health_check=[HealthCheck.too_slow]
)

_int64 = st.integers(-(2**63), 2**63 - 1)
_values = st.one_of(
    st.lists(_int64, max_size=5).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(st.floats(width=32), max_size=5).map(lambda v: np.array(v, dtype=np.float32)),
    st.lists(st.binary(max_size=8), max_size=5).map(lambda v: np.array(v, dtype=object)),
)
_keys = st.text(max_size=6)
_features = st.dictionaries(_keys, _values, max_size=5)


def example_pb(features):
    example = messages()["Example"]()
    example.features.SetInParent()  # as tf.train.Example(features=Features(feature={}))
    for key, value in features.items():
        example.features.feature[key].CopyFrom(feature_pb(value))
        kind = {"O": "bytes_list", "f": "float_list"}.get(value.dtype.kind, "int64_list")
        getattr(example.features.feature[key], kind).SetInParent()  # TF sets empty lists too
    return example


def shuffled(mapping, seed):
    items = list(mapping.items())
    random.Random(seed).shuffle(items)
    return dict(items)


def assert_same(got, want):
    assert set(got) == set(want)
    for key in want:
        assert got[key].dtype == want[key].dtype, key
        if want[key].dtype == object:
            assert list(got[key]) == list(want[key]), key
        else:
            np.testing.assert_array_equal(got[key], want[key])


def parse_bounded(data, parse=parse_example):
    """(parsed value or the ProtobufError, peak bytes allocated while parsing)."""
    tracemalloc.start()
    try:
        try:
            result = parse(data)
        except ProtobufError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def protobuf_parse(data, name="Example"):
    """The reference parse, or None where protobuf rejects the bytes."""
    from google.protobuf.message import DecodeError

    message = messages()[name]()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return None
    return message


@FUZZ
@given(_features, st.integers(0, 1000))
def test_make_example_equals_protobuf_deterministic_bytes_in_any_insertion_order(features, seed):
    want = deterministic_bytes(example_pb(features))
    assert make_example(features) == want
    assert make_example(shuffled(features, seed)) == want


@FUZZ
@given(_features, st.dictionaries(_keys, st.lists(_values, max_size=3), max_size=3), st.integers())
def test_make_sequence_example_equals_protobuf_deterministic_bytes(context, lists, seed):
    message = messages()["SequenceExample"]()
    message.feature_lists.SetInParent()
    message.context.CopyFrom(example_pb(context).features)
    for key, steps in lists.items():
        feature_list = message.feature_lists.feature_list[key]
        feature_list.SetInParent()
        for step in steps:
            feature_list.feature.add().CopyFrom(example_pb({"": step}).features.feature[""])
    want = deterministic_bytes(message)
    got = make_sequence_example(shuffled(context, seed), shuffled(lists, seed + 1))
    assert got == want


@FUZZ
@given(st.binary(max_size=300))
def test_parse_example_random_bytes_equal_protobuf_or_raise_protobuf_error(data):
    check_against_protobuf(data)


def check_against_protobuf(data):
    """Our parse equals protobuf's, or ours raises ProtobufError; memory stays bounded."""
    result, peak = parse_bounded(data)
    if not isinstance(result, ProtobufError):
        reference = protobuf_parse(data)
        assert reference is not None, "we accepted bytes that protobuf rejects"
        assert_same(result, features_dict(reference.features))
    assert peak < 64 * len(data) + (64 << 10)


@FUZZ
@given(_features, mutations)
def test_parse_example_mutated_bytes_equal_protobuf_or_raise_protobuf_error(features, mutation):
    check_against_protobuf(mutate(make_example(features), *mutation))


@FUZZ
@given(st.binary(max_size=200))
def test_parse_sequence_example_random_bytes_equal_protobuf_or_raise(data):
    result, _ = parse_bounded(data, parse_sequence_example)
    if not isinstance(result, ProtobufError):
        reference = protobuf_parse(data, "SequenceExample")
        assert reference is not None
        context, lists = result
        assert_same(context, features_dict(reference.context))
        assert set(lists) == set(reference.feature_lists.feature_list)
        for key, steps in lists.items():
            want = reference.feature_lists.feature_list[key].feature
            assert len(steps) == len(want)
            for got, ref in zip(steps, want, strict=True):
                assert_same({"": got}, {"": feature_array(ref)})


@pytest.mark.parametrize("size", [2**31, 16 << 30, 2**62, 2**64 - 1])
def test_parse_example_huge_length_varint_raises_without_allocating(size):
    data = b"\x0a" + _varint(size) + b"\x0a\x03abc"
    result, peak = parse_bounded(data)
    assert isinstance(result, ProtobufError)
    assert f"declares {size} bytes" in str(result)
    assert peak < 64 << 10


@pytest.mark.parametrize("depth", [100, 5000])
def test_parse_example_deep_nesting_neither_recurses_nor_allocates(depth):
    data = b"\x12\x00"  # Feature.float_list, empty
    for _ in range(depth):
        data = b"\x0a" + _varint(len(data)) + data
    result, peak = parse_bounded(data)
    assert isinstance(result, (dict, ProtobufError))
    assert peak < 4 * len(data) + (64 << 10)


def ld(field, payload):
    """A length-delimited field."""
    return _len_field(field, payload)


def vi(field, value):
    """A varint field."""
    return _varint(field << 3) + _varint(value)


def entry(payload):
    """An Example whose one map entry is ``key 'k'`` + ``payload``."""
    return ld(1, ld(1, ld(1, b"k") + payload))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (entry(vi(2, 1)), r"features.feature entry: field 2 has wire type 0"),
        (entry(ld(2, vi(1, 1))), r"features.feature\['k'\]: field 1 has wire type 0"),
        (
            entry(ld(2, ld(1, vi(1, 1)))),
            r"features.feature\['k'\].bytes_list: field 1 has wire type 0",
        ),
        (
            entry(ld(2, ld(3, b"\x0d" + bytes(4)))),
            r"features.feature\['k'\].int64_list: field 1 has wire type 5",
        ),
        (vi(1, 1), r"Example: field 1 has wire type 0"),
    ],  # fmt: skip
    ids=["entry-value", "feature-kind", "bytes-value", "int64-as-fixed32", "features"],
)
def test_parse_example_wrong_wire_type_raises_naming_the_field(data, match):
    with pytest.raises(ProtobufError, match=match):
        parse_example(data)


@pytest.mark.parametrize("nbytes", [1, 3, 5, 7])
def test_parse_example_float_list_not_multiple_of_4_raises_naming_the_field(nbytes):
    data = entry(ld(2, ld(2, ld(1, bytes(nbytes)))))
    with pytest.raises(ProtobufError, match=rf"\['k'\].float_list: .*{nbytes} bytes, not a mult"):
        parse_example(data)


@pytest.mark.parametrize("data", ["text", 12, None, [1, 2]])
def test_parse_example_non_bytes_input_raises_type_error(data):
    with pytest.raises(TypeError, match="data must be bytes-like"):
        parse_example(data)


@pytest.mark.parametrize(
    ("features", "error", "match"),
    [
        ({"k": {"a": 1}}, TypeError, r"feature 'k': not a feature value, got dict"),
        ({"k": [1, None]}, TypeError, r"feature 'k': values must be all bytes/str"),
        ({"k": [1, "a"]}, TypeError, r"feature 'k': values must be all bytes/str"),
        ({"k": [[1, 2], [3]]}, TypeError, r"feature 'k': values must be all"),
        ({"k": [2**64]}, ValueError, r"feature 'k': 18446744073709551616 does not fit an int64"),
        ({"k": np.array([2**63], dtype=np.uint64)}, ValueError, "does not fit an int64"),
        ({"k": np.array(["2020-01-01"], dtype="datetime64[D]")}, TypeError, "dtype datetime64"),
        ({3: [1]}, TypeError, r"features: keys must be str, got int 3"),
    ],
)
def test_make_example_bad_value_raises_naming_the_feature(features, error, match):
    with pytest.raises(error, match=match):
        make_example(features)


def test_make_sequence_example_feature_list_must_be_a_list_of_steps():
    with pytest.raises(TypeError, match=r"feature list 'f' must be a list with one value per"):
        make_sequence_example({}, {"f": "abc"})


def test_make_example_mixed_int_and_float_list_is_a_float_list():
    assert make_example({"k": [1, 2.5]}) == make_example({"k": np.array([1, 2.5], np.float32)})


def varints_by_definition(values):
    """Packed varints written byte by byte: 7 bits at a time, low first, 0x80 = more."""
    out = bytearray()
    for value in values:
        n = int(value) & (2**64 - 1)
        while True:
            low, n = n & 0x7F, n >> 7
            out.append(low | (0x80 if n else 0))
            if not n:
                break
    return bytes(out)


_edges = st.sampled_from(
    [0, 1, 127, 128, 2**14 - 1, 2**14, 2**35, 2**56 - 1, 2**63 - 1, -1, -128, -(2**63)]
)


@FUZZ
@given(st.lists(st.one_of(_int64, _edges), max_size=300))
def test_encode_varints_equals_the_byte_by_byte_definition(values):
    assert encode_varints(np.array(values, dtype=np.int64)) == varints_by_definition(values)


@FUZZ
@given(
    st.dictionaries(
        _keys,
        st.one_of(
            st.lists(st.one_of(_int64, _edges), max_size=200).map(
                lambda v: np.array(v, dtype=np.int64)
            ),
            st.lists(st.floats(width=32), max_size=200).map(
                lambda v: np.array(v, dtype=np.float32)
            ),
        ),
        max_size=3,
    )
)
def test_make_example_long_lists_equal_protobuf_deterministic_bytes(features):
    assert make_example(features) == deterministic_bytes(example_pb(features))


@FUZZ
@given(_features, st.sets(_keys, max_size=3))
def test_make_example_none_leaves_the_feature_out(features, absent):
    with_none = {**features, **dict.fromkeys(absent)}
    kept = {k: v for k, v in with_none.items() if v is not None}
    assert make_example(with_none) == deterministic_bytes(example_pb(kept))
    assert set(parse_example(make_example(with_none))) == set(kept)


class _TFDType:
    """Duck type of ``tf.DType`` and ``tf.io.FixedLenFeature``: what ``dtypes`` reads."""

    def __init__(self, numpy_dtype):
        self.as_numpy_dtype = numpy_dtype


class _Spec:
    def __init__(self, numpy_dtype):
        self.dtype = _TFDType(numpy_dtype)


@pytest.mark.parametrize(
    ("dtype", "numpy_dtype"),
    [
        ("int64", np.int64), (np.int64, np.int64), (int, np.int64), (np.dtype("int32"), np.int64),
        (_Spec(np.int64), np.int64), (_TFDType(np.int64), np.int64),
        ("float", np.float32), (np.float32, np.float32), (float, np.float32),
        (_Spec(np.float32), np.float32),
        ("bytes", object), ("string", object), (str, object), (bytes, object),
        (_Spec(object), object),
    ],
)  # fmt: skip
@pytest.mark.parametrize("empty", [[], (), np.zeros(0)])
def test_make_example_empty_list_with_dtype_equals_protobuf(dtype, numpy_dtype, empty):
    want = deterministic_bytes(example_pb({"k": np.array([], dtype=numpy_dtype), "n": np.ones(1)}))
    got = make_example({"k": empty, "n": np.ones(1)}, dtypes={"k": dtype})
    assert got == want


def test_make_example_float_dtype_stores_ints_as_floats():
    want = deterministic_bytes(example_pb({"k": np.array([1, 2], np.float32)}))
    assert make_example({"k": [1, 2]}, dtypes={"k": "float"}) == want
    assert make_example({"k": np.array([1, 2])}, dtypes={"k": float}) == want
    assert make_example({"k": 1}, dtypes={"k": float}) == make_example({"k": 1.0})


@pytest.mark.parametrize(
    ("value", "dtype", "error", "match"),
    [
        ("a", "int64", TypeError, r"feature 'k': dtypes says int64, the values are bytes"),
        (2.5, "int64", TypeError, r"feature 'k': dtypes says int64, the values are float"),
        ([1, 2], "bytes", TypeError, r"feature 'k': dtypes says bytes, the values are int64"),
        ([], "complex", TypeError, r"dtypes\['k'\] must be 'bytes', 'float', 'int64'"),
        ([], np.complex64, TypeError, r"dtypes\['k'\] must be"),
        ([], None, ValueError, r"feature 'k': an empty list has no type"),
    ],
)
def test_make_example_value_against_its_dtype_raises_naming_the_feature(value, dtype, error, match):
    with pytest.raises(error, match=match):
        make_example({"k": value}, dtypes={"k": dtype} if dtype else None)


def test_make_example_dtypes_must_be_a_dict():
    with pytest.raises(TypeError, match="dtypes must be a dict of name -> dtype, got list"):
        make_example({"k": 1}, dtypes=["int64"])


def test_make_sequence_example_dtypes_type_empty_steps_and_none_lists():
    context, lists = parse_sequence_example(
        make_sequence_example(
            {"c": [], "gone": None},
            {"f": [[], [1.5]], "g": None},
            dtypes={"c": "bytes", "f": "float"},
        )
    )
    assert list(context) == ["c"] and context["c"].dtype == object and context["c"].size == 0
    assert list(lists) == ["f"] and [step.tolist() for step in lists["f"]] == [[], [1.5]]
    assert lists["f"][0].dtype == np.float32


@FUZZ
@given(st.floats(allow_nan=False, min_value=-3.4e38, max_value=3.4e38), st.integers(-(2**63), -1))
def test_make_example_python_scalars_equal_protobuf_deterministic_bytes(value, negative):
    features = {"f": value, "i": negative, "s": "é"}
    message = messages()["Example"]()
    message.features.feature["f"].float_list.value.append(value)
    message.features.feature["i"].int64_list.value.append(negative)
    message.features.feature["s"].bytes_list.value.append("é".encode())
    assert make_example(features) == deterministic_bytes(message)


@pytest.mark.parametrize("value", [1e300, -1e300, float("inf"), float("nan"), 3.40282357e38, 1e-46])
def test_make_example_float_scalar_beyond_float32_equals_the_float32_array(value):
    with np.errstate(over="ignore"):
        assert make_example({"f": value}) == make_example({"f": np.array([value], np.float32)})
