"""Hostile TFRecord files: the reader returns the records or raises TFRecordError, bounded.

Every case holds two bounds besides the outcome: the call ends within hypothesis' deadline,
and the memory it allocates (``tracemalloc``'s peak, which sees every bytes object and numpy
buffer) stays within a small multiple of the file's size. Header lengths of 16 GiB and
2**62 with a valid length CRC run in a subprocess under ``RLIMIT_AS``, so an attempt to
allocate them fails the test instead of the machine, and a crash cannot end the run.
"""

import gzip
import json
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from _mutations import mutate, mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skextras.io import (
    TFRecordError,
    make_example,
    read_examples_to_frame,
    read_tfrecord,
    write_tfrecord,
)
from skextras.io._crc32c import masked_crc32c

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLACK = 4 << 20  # a few 1 MiB read chunks and the interpreter's own buffers


def framed(data, length=None):
    """One TFRecord frame whose header may declare ``length`` instead of ``len(data)``."""
    header = struct.pack("<Q", len(data) if length is None else length)
    crc = masked_crc32c(header)
    return header + struct.pack("<I", crc) + data + struct.pack("<I", masked_crc32c(data))


def compress(raw, compression):
    if compression == "GZIP":
        return gzip.compress(raw, mtime=0)
    if compression == "ZLIB":
        return zlib.compress(raw)
    return raw


def read_bounded(path, compression, **kwargs):
    """(records or the TFRecordError, peak bytes allocated while reading)."""
    tracemalloc.start()
    try:
        try:
            result = list(read_tfrecord(path, compression, **kwargs))
        except TFRecordError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_records = st.lists(st.binary(max_size=64), min_size=1, max_size=5)
_compression = st.sampled_from([None, "GZIP", "ZLIB"])


@FUZZ
@given(
    _records,
    _compression,
    mutations,
)
def test_read_tfrecord_mutated_file_gives_a_prefix_or_tfrecord_error(
    tmp_path, records, compression, mutation
):
    raw = compress(b"".join(framed(r) for r in records), compression)
    path = tmp_path / "x.tfrecord"
    path.write_bytes(mutate(raw, *mutation))
    result, peak = read_bounded(path, compression)
    if isinstance(result, TFRecordError):
        assert str(path) in str(result) and "record " in str(result)
    else:
        # CRC32C catches every 1-bit error and a lost byte: only whole records survive
        assert result == records[: len(result)]
    assert peak < 4 * len(raw) + SLACK


@FUZZ
@given(st.binary(max_size=400), _compression)
def test_read_tfrecord_random_bytes_gives_records_or_tfrecord_error(tmp_path, raw, compression):
    path = tmp_path / "x.tfrecord"
    path.write_bytes(raw)
    result, peak = read_bounded(path, compression)
    assert isinstance(result, (list, TFRecordError))
    if isinstance(result, list):
        assert all(isinstance(r, bytes) for r in result)
    assert peak < 4 * len(raw) + SLACK


@FUZZ
@given(
    st.binary(max_size=32),
    st.sampled_from([17, 1 << 20, 16 << 30, 1 << 62, 2**64 - 1]),
    _compression,
)
def test_read_tfrecord_length_beyond_the_data_raises_naming_record_and_offset(
    tmp_path, data, declared, compression
):
    raw = framed(b"ok") + framed(data, length=min(len(data) + declared, 2**64 - 1))
    path = tmp_path / "x.tfrecord"
    path.write_bytes(compress(raw, compression))
    result, peak = read_bounded(path, compression)
    assert isinstance(result, TFRecordError)
    assert f"{path}: record 1 (byte 18" in str(result)
    assert peak < 4 * len(raw) + SLACK


@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_read_tfrecord_max_record_bytes_refuses_before_inflating(tmp_path, compression):
    big = bytes(8 << 20)  # 8 MiB of zeros: a few KiB once compressed
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [b"small", big], compression)
    result, peak = read_bounded(path, compression, max_record_bytes=1 << 16)
    assert isinstance(result, TFRecordError)
    assert "record 1" in str(result) and "max_record_bytes=65536" in str(result)
    assert peak < (1 << 20) + SLACK
    assert list(read_tfrecord(path, compression, max_record_bytes=len(big)))[1] == big


def test_read_tfrecord_huge_lengths_with_valid_crc_fail_cleanly_under_rlimit(tmp_path):
    """16 GiB and 2**62 declared lengths, plain and compressed, in a 1 GiB address space."""
    cases = []
    for k, declared in enumerate([16 << 30, 1 << 62, 2**64 - 16]):
        for compression in (None, "GZIP", "ZLIB"):
            path = tmp_path / f"huge{k}{compression}.tfrecord"
            path.write_bytes(compress(framed(b"x" * 8, length=declared), compression))
            cases.append((str(path), compression))
    script = textwrap.dedent(
        f"""
        import json, resource, sys
        from skextras.io import TFRecordError, read_tfrecord
        list(read_tfrecord({str(ROOT / "tests/data/feature_columns/tf_examples.tfrecord")!r}))
        with open("/proc/self/status") as fh:
            vm = next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), vm + (1 << 30)))
        out = []
        for path, compression in json.loads(sys.argv[1]):
            try:
                list(read_tfrecord(path, compression))
                out.append("read")
            except TFRecordError as exc:
                out.append("TFRecordError: " + str(exc))
            except MemoryError:
                out.append("MemoryError")
        print(json.dumps(out))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcomes = json.loads(proc.stdout.splitlines()[-1])
    for (path, _), outcome in zip(cases, outcomes):
        assert outcome.startswith(f"TFRecordError: {path}: record 0 (byte 0"), outcome


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB"])
def test_read_tfrecord_stream_that_is_not_compressed_raises_naming_the_format(
    tmp_path, compression
):
    path = tmp_path / "plain.tfrecord"
    write_tfrecord(path, [b"abc", b"def"])
    with pytest.raises(TFRecordError, match=rf"{re.escape(str(path))}: record 0 .*not a valid"):
        list(read_tfrecord(path, compression))


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB"])
def test_read_tfrecord_truncated_compressed_stream_raises(tmp_path, compression):
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [bytes(range(256)) * 40], compression)
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(TFRecordError, match=rf"{re.escape(str(path))}: record 0"):
        list(read_tfrecord(path, compression))


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (-1, ValueError, "max_record_bytes must be >= 0"),
        (1.5, TypeError, "max_record_bytes must be an int"),
        ("10", TypeError, "max_record_bytes must be an int"),
    ],
)
def test_read_tfrecord_bad_max_record_bytes_raises_naming_it(tmp_path, value, error, match):
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [b"a"])
    with pytest.raises(error, match=match):
        read_tfrecord(path, max_record_bytes=value)


@pytest.mark.parametrize(
    ("records", "index", "kind"),
    [
        ([7], 0, "int"),
        ([b"a", 10**11], 1, "int"),
        ([b"a", b"b", "text"], 2, "str"),
        ([np.int64(3)], 0, "int64"),
        ([None], 0, "NoneType"),
    ],  # fmt: skip
)
def test_write_tfrecord_non_bytes_record_raises_type_error_naming_the_index(
    tmp_path, records, index, kind
):
    with pytest.raises(TypeError, match=rf"records\[{index}\] must be bytes-like.* {kind}"):
        write_tfrecord(tmp_path / "x.tfrecord", records)


def test_write_tfrecord_accepts_every_bytes_like_record(tmp_path):
    records = [b"ab", bytearray(b"cd"), memoryview(b"ef"), np.frombuffer(b"gh", np.uint8)]
    path = tmp_path / "x.tfrecord"
    assert write_tfrecord(path, records) == 4
    assert list(read_tfrecord(path)) == [b"ab", b"cd", b"ef", b"gh"]


@pytest.mark.parametrize(
    "garbage",
    [b"\x0a\xff\xff\x07abc", b"\x0a\x03\x0a\x01", b"\x08\x01\x0a\x02\x0a\x05", b"\x0b"],
    ids=["length-past-end", "truncated-entry", "entry-of-wrong-wire-type", "group"],
)
@pytest.mark.parametrize("position", [0, 2])
def test_read_examples_to_frame_garbage_record_raises_naming_file_and_record(
    tmp_path, garbage, position
):
    good = make_example({"a": 1})
    path = tmp_path / "x.tfrecord"
    write_tfrecord(path, [good] * position + [garbage, good])
    match = rf"{re.escape(str(path))}: record {position} is not a tf.train.Example"
    with pytest.raises(TFRecordError, match=match):
        read_examples_to_frame(path)
