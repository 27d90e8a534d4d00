"""TFRecord files and ``tf.train.Example`` / ``SequenceExample`` without TensorFlow.

A TFRecord file is a sequence of records, each::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes)
    data[length]                  | uint32 masked_crc32c(data)

optionally inside a GZIP or ZLIB stream. Examples are encoded with the protobuf wire format
written by hand (``_protobuf``), so neither tensorflow nor protobuf is needed.
"""

import gzip
import io
import struct
import zlib

import numpy as np
import pandas as pd

from ._crc32c import masked_crc32c
from ._protobuf import (
    decode_example,
    decode_sequence_example,
    encode_example,
    encode_sequence_example,
)

_COMPRESSIONS = (None, "", "GZIP", "ZLIB")


class TFRecordError(ValueError):
    """A TFRecord file is corrupted or truncated; the message names the record index."""


def _check_compression(compression):
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be None, 'GZIP' or 'ZLIB', got {compression!r}")
    return compression or None


class _ZlibReader(io.RawIOBase):
    """Streaming reader of a zlib-compressed file (TF's ZLIB option)."""

    def __init__(self, path, chunk=1 << 20):
        self._raw = open(path, "rb")
        self._inflate = zlib.decompressobj()
        self._buffer = b""
        self._chunk = chunk

    def read(self, size=-1):
        while size < 0 or len(self._buffer) < size:
            data = self._raw.read(self._chunk)
            if not data:
                self._buffer += self._inflate.flush()
                break
            self._buffer += self._inflate.decompress(data)
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def close(self):
        self._raw.close()
        super().close()


def _open_read(path, compression):
    if compression == "GZIP":
        return gzip.open(path, "rb")
    if compression == "ZLIB":
        return _ZlibReader(path)
    return open(path, "rb")


def read_tfrecord(path, compression=None, verify_crc=True):
    """Iterate over the records (bytes) of a TFRecord file.

    Parameters
    ----------
    path : str or path-like
    compression : {None, "GZIP", "ZLIB"}, default=None
    verify_crc : bool, default=True
        Check both masked CRC32C of every record. With False, records with a bad CRC are
        returned as they are (a truncated file still raises).

    Yields
    ------
    bytes

    Raises
    ------
    TFRecordError
        On a bad length CRC, a bad data CRC or a truncated record, naming the record index.

    Examples
    --------
    >>> import tempfile, os
    >>> from skextras.io.tfrecord import write_tfrecord, read_tfrecord
    >>> path = os.path.join(tempfile.mkdtemp(), "x.tfrecord")
    >>> write_tfrecord(path, [b"a", b"bc"])
    2
    >>> list(read_tfrecord(path))
    [b'a', b'bc']
    """
    compression = _check_compression(compression)
    with _open_read(path, compression) as fh:
        index = 0
        while True:
            header = fh.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(
                    f"{path}: record {index} is truncated: {len(header)} of 12 header bytes"
                )
            length_bytes = header[:8]
            (length,) = struct.unpack("<Q", length_bytes)
            (length_crc,) = struct.unpack("<I", header[8:])
            if verify_crc and masked_crc32c(length_bytes) != length_crc:
                raise TFRecordError(f"{path}: record {index} has a corrupted length CRC")
            body = fh.read(length + 4)
            if len(body) < length + 4:
                raise TFRecordError(
                    f"{path}: record {index} is truncated: {len(body)} of {length + 4} bytes"
                )
            data = body[:length]
            (data_crc,) = struct.unpack("<I", body[length:])
            if verify_crc and masked_crc32c(data) != data_crc:
                raise TFRecordError(f"{path}: record {index} has a corrupted data CRC")
            yield data
            index += 1


def _frame(data):
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def write_tfrecord(path, records, compression=None):
    """Write an iterable of bytes as a TFRecord file; returns the number of records.

    Parameters
    ----------
    path : str or path-like
    records : iterable of bytes
    compression : {None, "GZIP", "ZLIB"}, default=None
    """
    compression = _check_compression(compression)
    count = 0
    if compression == "ZLIB":
        comp = zlib.compressobj()
        with open(path, "wb") as fh:
            for rec in records:
                fh.write(comp.compress(_frame(bytes(rec))))
                count += 1
            fh.write(comp.flush())
        return count
    with open(path, "wb") as raw:
        # mtime=0 keeps GZIP output byte-for-byte reproducible.
        fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compression == "GZIP" else raw
        with fh:
            for rec in records:
                fh.write(_frame(bytes(rec)))
                count += 1
    return count


def make_example(features, feature_lists=None):
    """Serialize a ``tf.train.Example`` (or a ``SequenceExample`` if ``feature_lists``).

    Parameters
    ----------
    features : dict of str -> value
        A value is bytes / str (BytesList), a float or float array (FloatList, float32) or
        an int / bool / int array (Int64List); scalars and lists alike. The context of a
        SequenceExample.
    feature_lists : dict of str -> list of values, optional
        One value (as above) per step of each feature list.

    Returns
    -------
    bytes

    Examples
    --------
    >>> from skextras.io.tfrecord import make_example, parse_example
    >>> parse_example(make_example({"age": 3, "tags": ["a", "b"]}))
    {'age': array([3]), 'tags': array([b'a', b'b'], dtype=object)}
    """
    if feature_lists is None:
        return encode_example(features)
    return encode_sequence_example(features, feature_lists)


def make_sequence_example(context, feature_lists):
    """Serialize a ``tf.train.SequenceExample``; see :func:`make_example`."""
    return encode_sequence_example(context, feature_lists)


def parse_example(data, sequence=False):
    """Parse a serialized ``tf.train.Example``.

    Returns a dict name -> ndarray (object array of bytes, float32 or int64). With
    ``sequence=True`` the bytes are a ``SequenceExample`` and the result is
    ``(context dict, feature_lists dict of name -> list of ndarrays)``.
    """
    if sequence:
        return decode_sequence_example(data)
    return decode_example(data)


def parse_sequence_example(data):
    """Parse a ``tf.train.SequenceExample``: ``(context, feature_lists)``."""
    return decode_sequence_example(data)


def _decode_text(values):
    try:
        return np.array([v.decode("utf-8") for v in values], dtype=object)
    except UnicodeDecodeError:
        return values


def read_examples_to_frame(path, compression=None, verify_crc=True, decode_strings=True):
    """Read a TFRecord file of ``tf.train.Example`` into a pandas DataFrame.

    One row per record. A feature with exactly one value in every record becomes a scalar
    column; otherwise the column holds 1-d arrays (None where a record lacks the feature).
    Bytes are decoded as UTF-8 text when ``decode_strings`` and valid.
    """
    rows = [parse_example(r) for r in read_tfrecord(path, compression, verify_crc)]
    names = list(dict.fromkeys(k for row in rows for k in row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if decode_strings:
            values = [_decode_text(v) if v is not None and v.dtype == object else v for v in values]
        if all(v is not None and v.size == 1 for v in values):
            columns[name] = [v[0] for v in values]
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
