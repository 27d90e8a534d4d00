"""TFRecord files and ``tf.train.Example`` / ``SequenceExample`` without TensorFlow.

A TFRecord file is a sequence of records, each::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes)
    data[length]                  | uint32 masked_crc32c(data)

optionally inside a GZIP or ZLIB stream. Examples are encoded with the protobuf wire format
written by hand (``_protobuf``), so neither tensorflow nor protobuf is needed.

The reader trusts no length field: a valid length CRC only proves the header was written as
it reads, not that the data exist. Before a record is read its declared length is compared
with ``max_record_bytes`` and, for an uncompressed regular file, with the bytes that remain
in the file; a compressed stream is inflated in bounded chunks (at most 1 MiB of output per
step), so memory grows only with data that are really there. Every failure is a
:class:`TFRecordError` naming the file, the record index and the record's byte offset.
"""

import gzip
import io
import numbers
import os
import secrets
import stat
import struct
import zlib
from contextlib import nullcontext

import numpy as np
import pandas as pd

from ._crc32c import masked_crc32c
from ._protobuf import (
    ProtobufError,
    decode_example,
    decode_sequence_example,
    encode_example,
    encode_examples,
    encode_sequence_example,
    feature_kind,
    value_kind,
)

_COMPRESSIONS = (None, "", "GZIP", "ZLIB", "auto")
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class TFRecordError(ValueError):
    """A TFRecord file is corrupted, truncated or holds a record that is not what was asked.

    The message names the file, the record index and the record's byte offset (in the
    decompressed stream for GZIP / ZLIB files). A subclass of ``ValueError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.io import TFRecordError, read_tfrecord, write_tfrecord
    >>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
    >>> write_tfrecord(path, [b"first"])
    1
    >>> with open(path, "r+b") as f:
    ...     _ = f.seek(14)
    ...     _ = f.write(b"X")
    >>> try:
    ...     list(read_tfrecord(path))
    ... except TFRecordError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    record 0 (byte 0) has a corrupted data CRC
    """


def _check_compression(compression, allow_auto=True):
    if compression not in _COMPRESSIONS or (compression == "auto" and not allow_auto):
        allowed = "None, 'GZIP', 'ZLIB' or 'auto'" if allow_auto else "None, 'GZIP' or 'ZLIB'"
        raise ValueError(f"compression must be {allowed}, got {compression!r}")
    return compression or None


def _plain_header(head):
    """True when ``head`` starts with a TFRecord header whose length CRC holds."""
    return len(head) >= 12 and masked_crc32c(head[:8]) == struct.unpack("<I", head[8:12])[0]


def _sniff_compression(head):
    """The compression a file's first bytes announce: 'GZIP', 'ZLIB' or None.

    GZIP is its magic number 1f 8b; ZLIB a header whose method is deflate (CMF & 0x0f == 8,
    window <= 32 KiB) and whose check bits make ``CMF * 256 + FLG`` a multiple of 31 (RFC
    1950). A plain TFRecord whose first 12 bytes carry a valid length CRC is plain whatever
    its first bytes look like, so that test goes first.
    """
    if _plain_header(head):
        return None
    if head[:2] == _GZIP_MAGIC:
        return "GZIP"
    if len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7:
        if (head[0] * 256 + head[1]) % 31 == 0:
            return "ZLIB"
    return None


def _detect_compression(path):
    """``compression="auto"``: sniff a regular file; a pipe cannot be read twice, so plain."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    with open(path, "rb") as fh:
        return _sniff_compression(fh.read(12))


def _check_max_record_bytes(max_record_bytes):
    if max_record_bytes is None:
        return None
    if not isinstance(max_record_bytes, numbers.Integral) or isinstance(max_record_bytes, bool):
        raise TypeError(
            f"max_record_bytes must be an int or None, got {type(max_record_bytes).__name__} "
            f"{max_record_bytes!r}"
        )
    if max_record_bytes < 0:
        raise ValueError(f"max_record_bytes must be >= 0, got {max_record_bytes!r}")
    return int(max_record_bytes)


class _ZlibReader(io.RawIOBase):
    """Streaming reader of a zlib-compressed file (TF's ZLIB option).

    ``read(size)`` inflates at most ``size`` bytes of output per call (``max_length``), so a
    small compressed input that expands enormously is never inflated further than asked.
    """

    def __init__(self, path, chunk=1 << 20):
        self._raw = open(path, "rb")
        self._inflate = zlib.decompressobj()
        self._buffer = b""
        self._chunk = chunk
        self._started = False

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            return self.readall()
        parts, have = [self._buffer], len(self._buffer)
        while have < size and not self._inflate.eof:
            data = self._inflate.unconsumed_tail or self._raw.read(self._chunk)
            if not data:
                if self._started:
                    raise EOFError("the ZLIB stream ends before its end-of-stream marker")
                break
            self._started = True
            out = self._inflate.decompress(data, size - have)
            parts.append(out)
            have += len(out)
        joined = b"".join(parts)
        out, self._buffer = joined[:size], joined[size:]
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


def _read_bounded(fh, n):
    """Read ``n`` bytes in chunks: a short stream stops early, memory follows the data."""
    if n <= _CHUNK:
        return fh.read(n)
    parts, left = [], n
    while left:
        part = fh.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _file_size(fh):
    """Size in bytes of a plain regular file; None for streams (pipes, compressed)."""
    try:
        info = os.fstat(fh.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def read_tfrecord(path, compression=None, verify_crc=True, max_record_bytes=None):
    """Iterate over the records (bytes) of a TFRecord file.

    Parameters
    ----------
    path : str or path-like
    compression : {None, "GZIP", "ZLIB", "auto"}, default=None
        With ``"auto"`` the file's first bytes decide: the GZIP magic number, a ZLIB header,
        else an uncompressed file. A compressed file read as uncompressed raises a
        :class:`TFRecordError` naming the ``compression=`` to pass.
    verify_crc : bool, default=True
        Check both masked CRC32C of every record. With False, records with a bad CRC are
        returned as they are (a truncated file still raises).
    max_record_bytes : int or None, default=None
        Largest record (data bytes) accepted; a header declaring more raises before
        anything is read. With None the bound is the file itself: an uncompressed file's
        remaining size, and for GZIP / ZLIB the data the stream really inflates to (read
        in 1 MiB steps). Set it when reading compressed files from untrusted sources: a
        small compressed file can inflate to many GiB.

    Yields
    ------
    bytes

    Raises
    ------
    TFRecordError
        On a bad length CRC, a bad data CRC, a truncated record, a length beyond the file
        or ``max_record_bytes``, or a GZIP / ZLIB stream that is not one; the message names
        the file, the record index and its byte offset.

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
    max_record_bytes = _check_max_record_bytes(max_record_bytes)
    return _iter_records(path, compression, bool(verify_crc), max_record_bytes)


def _iter_records(path, compression, verify_crc, max_record_bytes):
    if compression == "auto":
        compression = _detect_compression(path)
    with _open_read(path, compression) as fh:
        yield from _records(fh, path, compression, verify_crc, max_record_bytes)


def _records(fh, path, compression, verify_crc, max_record_bytes):
    index, offset = 0, 0
    stream = "" if compression is None else " of the inflated stream"
    # An uncompressed file is read from its start, so ``offset`` is the position in it;
    # its size is asked again only when a record seems to pass it (a file still growing).
    size = _file_size(fh) if compression is None else None

    def read(n):
        if compression is None:
            return _read_bounded(fh, n)
        try:
            return _read_bounded(fh, n)
        except (OSError, EOFError, zlib.error) as exc:
            hint = _compression_hint(path) if index == 0 and offset == 0 else ""
            raise TFRecordError(
                f"{path}: record {index} (byte {offset}{stream}): "
                f"not a valid {compression} stream ({exc}){hint}"
            ) from None

    while True:
        header = read(12)
        if not header:
            return
        where = f"{path}: record {index} (byte {offset}{stream})"
        if index == 0 and compression is None:
            _refuse_compressed(path, header)
        if len(header) < 12:
            raise TFRecordError(f"{where} is truncated: {len(header)} of 12 header bytes")
        length_bytes = header[:8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", header[8:])
        if verify_crc and masked_crc32c(length_bytes) != length_crc:
            raise TFRecordError(f"{where} has a corrupted length CRC")
        if max_record_bytes is not None and length > max_record_bytes:
            raise TFRecordError(
                f"{where} declares {length} data bytes, more than max_record_bytes="
                f"{max_record_bytes}"
            )
        if size is not None and offset + 16 + length > size:
            size = _file_size(fh)
            left = size - offset - 12
            if length + 4 > left:
                raise TFRecordError(
                    f"{where} is truncated: its header declares {length} data bytes + 4 CRC "
                    f"bytes, only {left} bytes remain in the file"
                )
        body = read(length + 4)
        if len(body) < length + 4:
            raise TFRecordError(f"{where} is truncated: {len(body)} of {length + 4} bytes")
        data = body[:length]
        (data_crc,) = struct.unpack("<I", body[length:])
        if verify_crc and masked_crc32c(data) != data_crc:
            raise TFRecordError(f"{where} has a corrupted data CRC")
        yield data
        index += 1
        offset += 16 + length


def _refuse_compressed(path, head):
    """A compressed file read as plain: say which ``compression=`` reads it."""
    found = _sniff_compression(head)
    if found is not None:
        magic = "the GZIP magic number 1f 8b" if found == "GZIP" else "a ZLIB header"
        raise TFRecordError(
            f"{path}: starts with {magic}, not a TFRecord header: pass "
            f"compression={found!r} (or compression='auto')"
        )


def _compression_hint(path):
    """For a file that fails to inflate: the compression its first bytes announce."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return ""
    if _plain_header(head):
        return "; the file starts with a valid TFRecord header: pass compression=None"
    found = _sniff_compression(head)
    return f"; the file starts like {found}: pass compression={found!r}" if found else ""


def _frame(data):
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def _record_bytes(record, index):
    """A record as bytes; anything but a bytes-like object is a TypeError naming the index."""
    if isinstance(record, bytes):
        return record
    if not isinstance(record, (str, np.generic)):
        try:
            return memoryview(record).tobytes()
        except TypeError:
            pass
    raise TypeError(
        f"records[{index}] must be bytes-like (bytes, bytearray, memoryview), got "
        f"{type(record).__name__} {record!r:.60}"
    )


def _framed(records):
    for index, record in enumerate(records):
        yield _frame(_record_bytes(record, index))


def write_tfrecord(path, records, compression=None):
    """Write an iterable of bytes as a TFRecord file; returns the number of records.

    The records go to a temporary file in the target's folder, renamed over ``path``
    (``os.replace``, atomic on POSIX and Windows) only once every record is written: an
    exception on the way (a bad record, an error raised by the ``records`` iterable, a full
    disk) removes the temporary file and leaves any earlier file at ``path`` untouched, so a
    failed write never leaves a partial file that reads back without error. A ``path`` that
    exists and is no regular file (a pipe, ``/dev/stdout``) is written in place.

    Parameters
    ----------
    path : str or path-like
    records : iterable of bytes-like
        bytes, bytearray, memoryview or another buffer (``make_example`` output).
    compression : {None, "GZIP", "ZLIB"}, default=None

    Raises
    ------
    TypeError
        For a record that is not bytes-like (an int, a str, a numpy scalar), naming its
        index; nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.io import read_tfrecord, write_tfrecord
    >>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord.gz")
    >>> write_tfrecord(path, [b"first", b"second"], compression="GZIP")
    2
    >>> list(read_tfrecord(path, compression="GZIP"))
    [b'first', b'second']
    """
    compression = _check_compression(compression, allow_auto=False)
    path = os.fspath(path)
    try:
        in_place = not stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        in_place = False
    if in_place:
        with open(path, "wb") as fh:
            return _write_records(fh, records, compression)
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        # "xb" honours the umask, as a plain open(path, "wb") would (mkstemp gives 0600)
        with open(temp, "xb") as fh:
            count = _write_records(fh, records, compression)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    return count


def _write_records(raw, records, compression):
    count = 0
    if compression == "ZLIB":
        comp = zlib.compressobj()
        for frame in _framed(records):
            raw.write(comp.compress(frame))
            count += 1
        raw.write(comp.flush())
        return count
    # mtime=0 keeps GZIP output byte-for-byte reproducible.
    gz = compression == "GZIP"
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if gz else nullcontext(raw) as fh:
        for frame in _framed(records):
            fh.write(frame)
            count += 1
    return count


def make_example(features, feature_lists=None, *, dtypes=None):
    """Serialize a ``tf.train.Example`` (or a ``SequenceExample`` if ``feature_lists``).

    Parameters
    ----------
    features : dict of str -> value
        A value is bytes / str (BytesList), a float or float array (FloatList, float32) or
        an int / bool / int array (Int64List); scalars and lists alike. ``None`` leaves the
        feature out of the Example (absent, as ``tf.io.parse_example`` sees a missing
        value). The context of a SequenceExample.
    feature_lists : dict of str -> list of values, optional
        One value (as above) per step of each feature list; a ``None`` list is left out.
    dtypes : dict of str -> dtype, optional
        The list each named feature goes to, where the values alone cannot say it: an
        empty list ``[]`` becomes an empty list of that type, ints given to a float feature
        are stored as floats. A dtype is ``"int64"``, ``"float"`` or ``"bytes"``, a numpy
        dtype or Python type (``np.int64``, ``float``, ``str``), a TensorFlow dtype or a
        parsing spec such as ``tf.io.FixedLenFeature([], tf.int64)`` (read by its
        ``dtype``, without importing TensorFlow). Names not in ``dtypes`` are inferred.

    Returns
    -------
    bytes
        Deterministic: map entries are sorted by the UTF-8 bytes of their key, as
        protobuf's ``SerializeToString(deterministic=True)`` writes them, so the same
        features give the same bytes whatever the dict's insertion order.

    Raises
    ------
    TypeError
        For a value that is no feature (a dict, a nested list, mixed strings and numbers),
        a value of another type than its ``dtypes`` entry, an unknown dtype or a key that
        is not a str, naming the feature.
    ValueError
        For an empty list without a dtype or an integer outside int64, naming the feature.

    Examples
    --------
    >>> from skextras.io.tfrecord import make_example, parse_example
    >>> parse_example(make_example({"age": 3, "tags": ["a", "b"], "city": None}))
    {'age': array([3]), 'tags': array([b'a', b'b'], dtype=object)}
    >>> parse_example(make_example({"ids": []}, dtypes={"ids": "int64"}))
    {'ids': array([], dtype=int64)}
    """
    if feature_lists is None:
        return encode_example(features, dtypes)
    return encode_sequence_example(features, feature_lists, dtypes)


def make_sequence_example(context, feature_lists, *, dtypes=None):
    """Serialize a ``tf.train.SequenceExample``; see :func:`make_example`.

    Parameters
    ----------
    context : dict of str -> value
        The context features (values as in :func:`make_example`).
    feature_lists : dict of str -> list of values
        One value per step of each feature list.
    dtypes : dict of str -> dtype, optional
        As in :func:`make_example`.

    Returns
    -------
    bytes

    Examples
    --------
    >>> from skextras.io import make_sequence_example, parse_sequence_example
    >>> data = make_sequence_example({"user": "ana"}, {"clicks": [[1, 2], [3]]})
    >>> parse_sequence_example(data)
    ({'user': array([b'ana'], dtype=object)}, {'clicks': [array([1, 2]), array([3])]})
    """
    return encode_sequence_example(context, feature_lists, dtypes)


def parse_example(data, sequence=False):
    """Parse a serialized ``tf.train.Example``.

    Returns a dict name -> ndarray (object array of bytes, float32 or int64). With
    ``sequence=True`` the bytes are a ``SequenceExample`` and the result is
    ``(context dict, feature_lists dict of name -> list of ndarrays)``.

    Raises
    ------
    ProtobufError
        (a ValueError) For bytes that are not such a message: a truncated field, a length
        past the end, a known field with the wrong wire type, a FloatList whose byte length
        is not a multiple of 4, a key that is not UTF-8; the message names the field path
        and byte offset.
    TypeError
        For ``data`` that is not bytes-like.

    Examples
    --------
    >>> from skextras.io import make_example, parse_example
    >>> features = parse_example(make_example({"age": 31, "tags": ["a", "b"], "score": 0.5}))
    >>> features["age"], features["score"], features["tags"]
    (array([31]), array([0.5], dtype=float32), array([b'a', b'b'], dtype=object))
    """
    if sequence:
        return decode_sequence_example(data)
    return decode_example(data)


def parse_sequence_example(data):
    """Parse a ``tf.train.SequenceExample``: ``(context, feature_lists)``.

    The same as ``parse_example(data, sequence=True)``; see :func:`make_sequence_example`.

    Examples
    --------
    >>> from skextras.io import make_sequence_example, parse_sequence_example
    >>> context, lists = parse_sequence_example(make_sequence_example({}, {"x": [[1.5], [2.5]]}))
    >>> lists
    {'x': [array([1.5], dtype=float32), array([2.5], dtype=float32)]}
    """
    return decode_sequence_example(data)


def _decode_text(values):
    try:
        return np.array([v.decode("utf-8") for v in values], dtype=object)
    except UnicodeDecodeError:
        return values


def read_examples_to_frame(path, compression=None, verify_crc=True, decode_strings=True,
                           max_record_bytes=None):  # fmt: skip
    """Read a TFRecord file of ``tf.train.Example`` into a pandas DataFrame.

    One row per record. A feature with exactly one value in every record becomes a scalar
    column; otherwise the column holds 1-d arrays (None where a record lacks the feature).
    Bytes are decoded as UTF-8 text when ``decode_strings`` and valid. ``compression``,
    ``verify_crc`` and ``max_record_bytes`` are those of :func:`read_tfrecord`.

    Raises
    ------
    TFRecordError
        For a corrupted file (see :func:`read_tfrecord`) and for a record that is not a
        ``tf.train.Example``, naming the file, the record index and the field.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from skextras.io import read_examples_to_frame, write_examples
    >>> path = os.path.join(tempfile.mkdtemp(), "frame.tfrecord")
    >>> write_examples(path, pd.DataFrame({"age": [31, 45], "tags": [["a", "b"], ["c"]]}))
    2
    >>> read_examples_to_frame(path)
       age    tags
    0   31  [a, b]
    1   45     [c]
    """
    rows = []
    for index, record in enumerate(read_tfrecord(path, compression, verify_crc,
                                                 max_record_bytes)):  # fmt: skip
        try:
            rows.append(parse_example(record))
        except ProtobufError as exc:
            raise TFRecordError(f"{path}: record {index} is not a tf.train.Example: {exc}") from exc
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


def _is_missing(cell):
    kind = type(cell)
    if kind in (str, bytes, int, bool, list, tuple, np.ndarray):
        return False
    if kind is float:
        return cell != cell
    return cell is None or (pd.api.types.is_scalar(cell) and bool(pd.isna(cell)))


def _column_kind(name, column, cells):
    """The list kind of a DataFrame column: from its dtype, else from its present cells."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return "int64"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.StringDtype):
        return "bytes"
    if not (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        raise TypeError(
            f"column {name!r}: cannot store dtype {dtype} in a tf.train.Example; convert it "
            "to int64, float or str, or give its dtype in dtypes="
        )
    kinds = {value_kind(name, cell) for cell in cells if cell is not None} - {None}
    if kinds == {"int64", "float"}:
        return "float"
    if len(kinds) > 1:
        raise TypeError(f"column {name!r}: cells mix {' and '.join(sorted(kinds))} values")
    if not kinds and any(cell is not None for cell in cells):
        raise ValueError(
            f"column {name!r}: only empty lists, no type; give it in dtypes={{{name!r}: "
            "'int64' | 'float' | 'bytes'}}"
        )
    return kinds.pop() if kinds else "bytes"


def write_examples(path, frame, dtypes=None, compression=None):
    """Write a DataFrame as a TFRecord file of ``tf.train.Example``, one per row.

    The inverse of :func:`read_examples_to_frame`: every column is a feature named by the
    column, every cell the feature's value in that row's Example. A column's list type is
    one for all its rows: integer and bool columns (numpy or pandas nullable) are Int64List,
    float columns FloatList (float32), str / bytes columns BytesList (str as UTF-8); an
    object column is typed by its cells (scalars or list-valued cells: lists, tuples, 1-d
    arrays; ints and floats together make floats). A missing cell (None, NaN, ``pd.NA``,
    ``NaT``) leaves the feature out of that row's Example, as ``read_examples_to_frame``
    reads an absent feature back as None; an empty list cell is a present, empty feature.
    Features are written in key order (an Example is a map), so the columns read back in
    that order.

    Parameters
    ----------
    path : str or path-like
    frame : pandas.DataFrame
        Column names must be str. The index is not written.
    dtypes : dict of str -> dtype, optional
        A column's list type where its dtype or cells do not say it (a column of empty
        lists) or to override it (ints stored as floats); see :func:`make_example`.
    compression : {None, "GZIP", "ZLIB"}, default=None

    Returns
    -------
    int
        The number of records written (``len(frame)``).

    Raises
    ------
    TypeError
        For ``frame`` that is no DataFrame, a column name that is not a str, a column of a
        dtype no Example holds (datetime, complex), cells of mixed types, naming the column.
    ValueError
        For duplicated column names or a column of only empty lists without a dtype.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from skextras.io import read_examples_to_frame, write_examples
    >>> path = os.path.join(tempfile.mkdtemp(), "x.tfrecord")
    >>> frame = pd.DataFrame({"age": [31.5, None], "city": ["paris", "rome"], "ids": [[1, 2], []]})
    >>> write_examples(path, frame)
    2
    >>> read_examples_to_frame(path)
          age   city     ids
    0  [31.5]  paris  [1, 2]
    1    None   rome      []
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    names = list(frame.columns)
    bad = next((name for name in names if not isinstance(name, str)), None)
    if bad is not None:
        raise TypeError(f"frame: column names must be str, got {type(bad).__name__} {bad!r}")
    if len(set(names)) != len(names):
        dup = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"frame: duplicated column names {dup}")
    dtypes = dict(dtypes or {})
    unknown = sorted(set(dtypes) - set(names))
    if unknown:
        raise ValueError(f"dtypes names columns that frame lacks: {unknown}")
    columns, kinds = {}, {}
    for index, name in enumerate(names):
        column = frame.iloc[:, index]
        cells = [None if _is_missing(cell) else cell for cell in column.tolist()]
        columns[name] = cells
        if name in dtypes:
            kinds[name] = feature_kind(name, dtypes[name])
        else:
            kinds[name] = _column_kind(name, column, cells)
    return write_tfrecord(path, encode_examples(columns, kinds), compression)
