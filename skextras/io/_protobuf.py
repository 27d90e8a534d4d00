"""Protobuf wire format of ``tf.train.Example`` and ``tf.train.SequenceExample``, by hand.

Messages (field numbers from TensorFlow's ``example.proto`` / ``feature.proto``)::

    Example          { Features features = 1; }
    SequenceExample  { Features context = 1; FeatureLists feature_lists = 2; }
    Features         { map<string, Feature> feature = 1; }       # entry: key = 1, value = 2
    FeatureLists     { map<string, FeatureList> feature_list = 1; }
    FeatureList      { repeated Feature feature = 1; }
    Feature          { oneof { BytesList bytes_list = 1; FloatList float_list = 2;
                               Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1; }
    Int64List { repeated int64 value = 1; }

Numbers are written packed (as TF does) and read packed or not. Packed varints are decoded
and encoded with numpy, not a Python loop per value.

Encoding is deterministic: map entries are written sorted by the UTF-8 bytes of their key,
as protobuf's deterministic serialisation (``SerializeToString(deterministic=True)``) does in
C++ (TensorFlow's own), Java and pure Python, so the same features give the same bytes
whatever the dict's insertion order. (The upb backend of Python protobuf >= 4.21 puts a key
after the longer keys it is a prefix of, "ab" before "a"; every other order agrees.)

Decoding trusts nothing: every length is checked against the bytes that remain before a
slice is taken (slices are views, so nothing is allocated beyond the input's size), a known
field with the wrong wire type and a FloatList whose byte length is not a multiple of 4 are
errors, and unknown fields are skipped as protobuf skips them. Messages nest at most five
deep here, so no input can make the decoder recurse. Every error is a :class:`ProtobufError`
naming the path of the field (``features.feature['age'].float_list``) and the byte offset.
"""

import functools
import numbers
import struct

import numpy as np

_LEN = 2
_VARINT = 0
_I64 = 1
_I32 = 5
_WIRE_NAMES = {_VARINT: "varint", _I64: "64-bit", _LEN: "length-delimited", _I32: "32-bit"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class ProtobufError(ValueError):
    """The bytes are not a well-formed message of the expected type.

    A ``ValueError``; the message names the field path and the byte offset.

    Examples
    --------
    >>> from skextras.io import ProtobufError, parse_example
    >>> try:
    ...     parse_example(bytes([10, 5, 97, 98]))  # field 1 says 5 bytes, 2 follow
    ... except ProtobufError as exc:
    ...     print(exc)
    Example: field 1 at byte 0 declares 5 bytes, only 2 remain
    """


def _read_varint(buf, pos, where="message"):
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= len(buf):
            raise ProtobufError(f"{where}: truncated varint at byte {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            # a 10th byte may carry more than the 64th bit; protobuf drops the excess
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift > 63:
            raise ProtobufError(f"{where}: varint longer than 10 bytes at byte {start}")


_SMALL_VARINTS = [bytes((i,)) for i in range(128)]
# the largest value of 1, 2, ..., 9 varint bytes: searchsorted gives a value's byte count - 1
_VARINT_LIMITS = np.array([(1 << (7 * k)) - 1 for k in range(1, 10)], dtype=np.uint64)
_VARINT_SHIFTS = np.arange(0, 70, 7, dtype=np.uint64)
_VARINT_BYTES = np.arange(10)


def _varint(n):
    if 0 <= n < 128:
        return _SMALL_VARINTS[n]
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _view(buf):
    try:
        view = memoryview(buf)
    except TypeError:
        raise TypeError(
            f"data must be bytes-like (bytes, bytearray, memoryview), got {type(buf).__name__}"
        ) from None
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def iter_fields(buf, where="message"):
    """Yield (field number, wire type, value) with value an int or a memoryview slice.

    Raises :class:`ProtobufError` naming ``where`` and the byte offset for a truncated
    field, a length running past the end, field number 0 or a group / unknown wire type.
    """
    view = _view(buf)
    pos = 0
    end = len(view)
    while pos < end:
        start = pos
        key, pos = _read_varint(view, pos, where)
        field, wire = key >> 3, key & 7
        if not 0 < field < 1 << 29:
            raise ProtobufError(f"{where}: field number {field} at byte {start} is invalid")
        if wire == _VARINT:
            value, pos = _read_varint(view, pos, where)
        elif wire == _LEN:
            size, pos = _read_varint(view, pos, where)
            if size > end - pos:
                raise ProtobufError(
                    f"{where}: field {field} at byte {start} declares {size} bytes, "
                    f"only {end - pos} remain"
                )
            value = view[pos : pos + size]
            pos += size
        elif wire in (_I32, _I64):
            size = 4 if wire == _I32 else 8
            if size > end - pos:
                raise ProtobufError(f"{where}: field {field} at byte {start} is truncated")
            value = view[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(
                f"{where}: field {field} at byte {start} has unsupported wire type {wire}"
            )
        yield field, wire, value


def _expect(where, field, wire, allowed):
    if wire not in allowed:
        want = " or ".join(f"{w} ({_WIRE_NAMES[w]})" for w in allowed)
        raise ProtobufError(
            f"{where}: field {field} has wire type {wire} ({_WIRE_NAMES[wire]}), expected {want}"
        )


def decode_varints(data, where="packed varints"):
    """All varints of a packed field as int64 (two's complement, as int64 fields are)."""
    a = np.frombuffer(data, dtype=np.uint8)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(a < 0x80)
    if ends.size == 0 or ends[-1] != a.size - 1:
        raise ProtobufError(f"{where}: truncated packed varint")
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise ProtobufError(f"{where}: varint longer than 10 bytes")
    shift = (np.arange(a.size) - np.repeat(starts, lengths)) * 7
    # bits beyond the 64th (a 10th byte above 1) are dropped, as protobuf drops them
    parts = (a & 0x7F).astype(np.uint64) << shift.astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts).view(np.int64)


def encode_varints(values):
    """Packed varint bytes of int64 values (negative values take 10 bytes).

    Arrays of up to 40 values go through the Python loop (measured: below that, numpy's
    per-call costs exceed the loop's); all-small arrays are one cast; longer ones are one
    (n, 10) matrix of 7-bit groups with the continuation bits set, of which the live bytes
    are read in row-major order.
    """
    u = np.asarray(values, dtype=np.int64).reshape(-1).view(np.uint64)
    if u.size <= 40:
        out = bytearray()
        for n in u.tolist():
            while n >= 0x80:
                out.append((n & 0x7F) | 0x80)
                n >>= 7
            out.append(n)
        return bytes(out)
    if u.max() < 128:
        return u.astype(np.uint8).tobytes()
    return _varint_matrix(u)[0]


def _varint_matrix(u):
    """(packed varint bytes, byte count per value) of uint64 values, all in numpy."""
    nbytes = np.searchsorted(_VARINT_LIMITS, u) + 1
    groups = ((u[:, None] >> _VARINT_SHIFTS) & np.uint64(0x7F)).astype(np.uint8)
    groups[_VARINT_BYTES < (nbytes - 1)[:, None]] |= 0x80
    return groups[_VARINT_BYTES < nbytes[:, None]].tobytes(), nbytes


_TAGS = {field: bytes(((field << 3) | _LEN,)) for field in (1, 2, 3)}


def _len_field(field, payload):
    return _TAGS[field] + _varint(len(payload)) + payload


# ---- Feature -------------------------------------------------------------------------

_KIND_NAMES = {"bytes": "bytes", "string": "bytes", "str": "bytes", "float": "float",
               "float32": "float", "int64": "int64"}  # fmt: skip
_KIND_OF_DTYPE = {"S": "bytes", "U": "bytes", "O": "bytes", "f": "float", "i": "int64",
                  "u": "int64", "b": "int64"}  # fmt: skip
# a float scalar's Feature: float_list (field 2) of 6 bytes = packed value (field 1) of 4 bytes
_FLOAT_SCALAR = b"\x12\x06\x0a\x04"
_PACK_FLOAT = struct.Struct("<f").pack
_FLOAT32_LE, _INT64 = np.dtype("<f4"), np.dtype(np.int64)


def feature_kind(name, dtype):
    """The list a feature's values go to: 'bytes', 'float' or 'int64'.

    ``dtype`` is a list name ("bytes" / "string", "float", "int64"), a numpy dtype or Python
    type (int, float, str, bytes, np.float32, ...), a TensorFlow ``DType`` or a parsing spec
    with a ``dtype`` (``tf.io.FixedLenFeature``, ``VarLenFeature``), read without TensorFlow.
    """
    if isinstance(dtype, str) and dtype in _KIND_NAMES:
        return _KIND_NAMES[dtype]
    spec = dtype
    if not isinstance(spec, (type, np.dtype, str)):  # numpy scalar types have a .dtype too
        spec = getattr(spec, "dtype", spec)
        spec = getattr(spec, "as_numpy_dtype", spec)
    try:
        kind = _KIND_OF_DTYPE.get(np.dtype(spec).kind)
    except TypeError:
        kind = None
    if kind is None:
        raise TypeError(
            f"dtypes[{name!r}] must be 'bytes', 'float', 'int64', a numpy dtype or a "
            f"TensorFlow dtype / feature spec, got {dtype!r}"
        )
    return kind


def _bad_value(name, value, why):
    return TypeError(
        f"feature {name!r}: {why}, got {type(value).__name__} {value!r:.80}; a feature is "
        "bytes / str, an int / bool, a float, or a flat list or 1-d array of one of these"
    )


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.bool_)) and not isinstance(v, np.timedelta64)


def _int64_array(name, seq):
    ints = [int(v) for v in seq]
    bad = next((v for v in ints if not _INT64_MIN <= v <= _INT64_MAX), None)
    if bad is not None:
        raise ValueError(f"feature {name!r}: {bad} does not fit an int64 (Int64List)")
    return np.array(ints, dtype=np.int64)


def _from_sequence(name, seq):
    """Classify a list of Python / numpy scalars; one kind per feature."""
    if all(isinstance(v, (bytes, bytearray, str)) for v in seq):
        return "bytes", [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in seq]
    if all(_is_int(v) for v in seq):
        return "int64", _int64_array(name, seq)
    if all(isinstance(v, numbers.Real) and not isinstance(v, (bytes, str)) for v in seq):
        return "float", np.array([float(v) for v in seq], dtype=np.float32)
    kinds = sorted({type(v).__name__ for v in seq})
    bad = next((v for v in seq if not isinstance(v, (bytes, str, numbers.Real, np.bool_))), seq[0])
    raise _bad_value(name, bad, f"values must be all bytes/str, all ints or all numbers ({kinds})")


def _from_array(name, arr):
    arr = arr.reshape(-1)
    kind = arr.dtype.kind
    if kind in "SU":
        return "bytes", [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr]
    if kind == "O":
        return _from_sequence(name, list(arr)) if arr.size else ("bytes", [])
    if kind in "bi":
        return "int64", arr.astype(np.int64)
    if kind == "u":
        if arr.size and arr.max() > _INT64_MAX:
            raise ValueError(f"feature {name!r}: {arr.max()} does not fit an int64 (Int64List)")
        return "int64", arr.astype(np.int64)
    if kind == "f":
        return "float", arr.astype(np.float32)
    raise TypeError(f"feature {name!r}: cannot store values of dtype {arr.dtype}")


def _empty(kind):
    return [] if kind == "bytes" else np.zeros(0, np.float32 if kind == "float" else np.int64)


def _is_empty(value):
    if isinstance(value, np.ndarray):
        return value.size == 0
    return isinstance(value, (list, tuple)) and not value


def value_kind(name, value):
    """The list kind ('bytes', 'float', 'int64') a value infers; None for an empty list."""
    return None if _is_empty(value) else _as_value_array(name, value)[0]


def _as_value_array(name, value, dtype=None):
    """Classify a Python / numpy value as ('bytes' | 'float' | 'int64', array or list).

    ``dtype`` (a kind, or None to infer it) types an empty list and widens ints to floats;
    values of another kind are a TypeError naming the feature.
    """
    if dtype is not None and _is_empty(value):
        return dtype, _empty(dtype)
    if isinstance(value, (bytes, str)):
        kind, values = "bytes", [value.encode("utf-8") if isinstance(value, str) else bytes(value)]
    elif isinstance(value, np.ndarray):
        kind, values = _from_array(name, value)
    elif isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(
                f"feature {name!r}: an empty list has no type; pass a typed numpy array or "
                f"dtypes={{{name!r}: 'int64' | 'float' | 'bytes'}}"
            )
        kind, values = _from_sequence(name, list(value))
    elif isinstance(value, np.generic):
        kind, values = _from_array(name, np.asarray(value))
    elif isinstance(value, numbers.Real):
        kind, values = _from_sequence(name, [value])
    else:
        raise _bad_value(name, value, "not a feature value")
    if dtype is None or dtype == kind:
        return kind, values
    if dtype == "float" and kind == "int64":
        return "float", values.astype(np.float32)
    raise _bad_value(name, value, f"dtypes says {dtype}, the values are {kind}")


def encode_feature(name, value, dtype=None):
    """Serialized ``Feature`` for a scalar, list or 1-d array of bytes/str, floats or ints.

    ``dtype`` is None (inferred from the values) or a kind from :func:`feature_kind`.
    """
    # the common scalars skip the classification (a third of a small Example's time)
    cls = type(value)
    if cls is float and dtype in (None, "float"):
        try:  # C's double -> float cast, as numpy's; beyond float32's range numpy gives inf
            return _FLOAT_SCALAR + _PACK_FLOAT(value)
        except OverflowError:
            return _FLOAT_SCALAR + np.float32(value).tobytes()
    if cls is int and dtype in (None, "int64") and _INT64_MIN <= value <= _INT64_MAX:
        return _len_field(3, _len_field(1, _varint(value)))
    if cls is str and dtype in (None, "bytes"):
        return _len_field(1, _len_field(1, value.encode("utf-8")))
    if cls is np.ndarray and value.ndim == 1 and value.size:
        if value.dtype == _FLOAT32_LE and dtype in (None, "float"):
            return _len_field(2, _len_field(1, value.tobytes()))
        if value.dtype == _INT64 and dtype in (None, "int64"):
            return _len_field(3, _len_field(1, encode_varints(value)))
    kind, values = _as_value_array(name, value, dtype)
    if kind == "bytes":
        inner = b"".join([_len_field(1, v) for v in values])
        return _len_field(1, inner)
    if kind == "float":
        inner = _len_field(1, values.astype("<f4").tobytes()) if values.size else b""
        return _len_field(2, inner)
    inner = _len_field(1, encode_varints(values)) if values.size else b""
    return _len_field(3, inner)


def _decode_bytes_list(buf, where):
    out = []
    for f, w, v in iter_fields(buf, where):
        if f == 1:
            _expect(where, f, w, (_LEN,))
            out.append(bytes(v))
    return np.array(out, dtype=object)


def _decode_float_list(buf, where):
    chunks = []
    for f, w, v in iter_fields(buf, where):
        if f == 1:
            _expect(where, f, w, (_LEN, _I32))
            if len(v) % 4:
                raise ProtobufError(
                    f"{where}: packed floats of {len(v)} bytes, not a multiple of 4"
                )
            chunks.append(np.frombuffer(v, dtype="<f4"))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _decode_int64_list(buf, where):
    chunks = []
    for f, w, v in iter_fields(buf, where):
        if f == 1:
            _expect(where, f, w, (_LEN, _VARINT))
            if w == _LEN:
                chunks.append(decode_varints(v, where))
            else:
                chunks.append(np.array([v], dtype=np.uint64).view(np.int64))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int64)


_LIST_DECODERS = {1: ("bytes_list", _decode_bytes_list), 2: ("float_list", _decode_float_list),
                  3: ("int64_list", _decode_int64_list)}  # fmt: skip


def decode_feature(buf, where="Feature"):
    """A ``Feature`` as a numpy array: object (bytes), float32 or int64.

    A list field seen twice is merged (values appended) as protobuf merges a repeated
    sub-message; a different list field replaces the earlier one (``oneof``).
    """
    out, kind = None, None
    for field, wire, value in iter_fields(buf, where):
        if field not in _LIST_DECODERS:
            continue
        _expect(where, field, wire, (_LEN,))
        name, decode = _LIST_DECODERS[field]
        values = decode(value, f"{where}.{name}")
        out = np.concatenate([out, values]) if field == kind else values
        kind = field
    return np.zeros(0, dtype=np.float32) if out is None else out


# ---- maps and messages ----------------------------------------------------------------


def _map_key(key, where):
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{where}: key {key!r} is not valid UTF-8") from None
    if not isinstance(key, str):
        raise TypeError(f"{where}: keys must be str, got {type(key).__name__} {key!r}")
    return key


@functools.lru_cache(maxsize=4096)
def _key_field(name):
    """(UTF-8 key, the map entry's serialized key field): computed once per feature name."""
    key = name.encode("utf-8")
    return key, _len_field(1, key)


def _kinds(dtypes):
    if dtypes is None:
        return {}
    if not isinstance(dtypes, dict):
        raise TypeError(f"dtypes must be a dict of name -> dtype, got {type(dtypes).__name__}")
    return {name: feature_kind(name, dtype) for name, dtype in dtypes.items()}


def _encode_map(entries, encode_value, where, kinds):
    """Map entries sorted by key bytes (deterministic serialisation); None values left out."""
    if not isinstance(entries, dict):
        raise TypeError(f"{where} must be a dict of name -> value, got {type(entries).__name__}")
    encoded = []
    for key, value in entries.items():
        if value is None:
            continue
        name = _map_key(key, where)
        key_bytes, key_field = _key_field(name)
        value_field = _len_field(2, encode_value(name, value, kinds.get(name)))
        encoded.append((key_bytes, _len_field(1, key_field + value_field)))
    encoded.sort(key=_first)
    return b"".join([entry for _, entry in encoded])


def _first(pair):
    return pair[0]


def _decode_map(buf, decode_value, where):
    out = {}
    for field, wire, entry in iter_fields(buf, where):
        if field != 1:
            continue
        _expect(where, field, wire, (_LEN,))
        key, values = b"", []
        for f, w, v in iter_fields(entry, f"{where} entry"):
            if f in (1, 2):
                _expect(f"{where} entry", f, w, (_LEN,))
                if f == 1:
                    key = v
                else:
                    values.append(v)
        # a value seen twice is merged, and merging equals parsing the concatenation
        value = values[0] if len(values) == 1 else b"".join(values)
        try:
            name = bytes(key).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtobufError(f"{where}: key {bytes(key)!r} is not valid UTF-8") from None
        out[name] = decode_value(value, f"{where}[{name!r}]")
    return out


def encode_features(features, where="features", kinds=None):
    return _encode_map(features, encode_feature, where, kinds or {})


def decode_features(buf, where="features.feature"):
    return _decode_map(buf, decode_feature, where)


def _encode_feature_list(name, steps, dtype=None):
    if isinstance(steps, (bytes, str, dict)) or not isinstance(steps, (list, tuple, np.ndarray)):
        raise TypeError(
            f"feature list {name!r} must be a list with one value per step, "
            f"got {type(steps).__name__}"
        )
    return b"".join(
        [_len_field(1, encode_feature(f"{name}[{t}]", s, dtype)) for t, s in enumerate(steps)]
    )


def _decode_feature_list(buf, where):
    out = []
    for f, w, v in iter_fields(buf, where):
        if f == 1:
            _expect(where, f, w, (_LEN,))
            out.append(decode_feature(v, f"{where}.feature[{len(out)}]"))
    return out


def encode_example(features, dtypes=None):
    """Serialized ``Example``; ``dtypes`` maps names to a dtype (see :func:`feature_kind`)."""
    return _len_field(1, encode_features(features, kinds=_kinds(dtypes)))


def encode_examples(columns, kinds):
    """Serialized ``Example`` per row of ``columns`` (name -> list of cells, None = absent).

    Column-wise: a numeric column's values are encoded in one numpy pass over all rows
    (:func:`_column_features`), the key fields and their sorted order once; a row is then
    only the concatenation of its cells' entries. ``kinds`` maps every name to its kind.
    """
    order = sorted(columns, key=lambda name: name.encode("utf-8"))
    keys = [_key_field(name)[1] for name in order]
    features = [_column_features(name, columns[name], kinds[name]) for name in order]
    for row in zip(*features):
        entries = [
            _len_field(1, key + _len_field(2, feature))
            for key, feature in zip(keys, row)
            if feature is not None
        ]
        yield _len_field(1, b"".join(entries))


def _column_values(name, cells, kind):
    """(all values of the cells concatenated, values per cell) for a numeric column."""
    scalar_types = (int, float, bool) if kind == "float" else (int, bool)
    if all(type(cell) in scalar_types for cell in cells):
        try:  # scalars: one array; ints beyond int64 fall back to the per-cell checks
            values = np.array(cells, dtype=np.float32 if kind == "float" else np.int64)
            return values, np.ones(len(cells), dtype=np.int64)
        except OverflowError:
            pass
    lossless = "bi" if kind == "int64" else "biuf"
    if all(type(cell) is np.ndarray and cell.dtype.kind in lossless for cell in cells):
        arrays = [cell.reshape(-1) for cell in cells]
        values = np.concatenate(arrays).astype(np.int64 if kind == "int64" else np.float32)
    else:
        arrays = [_as_value_array(name, cell, kind)[1] for cell in cells]
        values = np.concatenate(arrays)
    return values, np.array([a.size for a in arrays], dtype=np.int64)


def _column_features(name, cells, kind):
    """Serialized ``Feature`` per cell (None where absent), equal to :func:`encode_feature`."""
    present = [i for i, cell in enumerate(cells) if cell is not None]
    out = [None] * len(cells)
    if kind == "bytes" or not present:
        for i in present:
            out[i] = encode_feature(name, cells[i], kind)
        return out
    values, sizes = _column_values(name, [cells[i] for i in present], kind)
    if kind == "float":
        data, field, value_bytes = values.astype("<f4").tobytes(), 2, np.full(values.size, 4)
    else:
        (data, value_bytes), field = _varint_matrix(values.view(np.uint64)), 3
    cum = np.concatenate([[0], np.cumsum(value_bytes)])
    bounds = cum[np.concatenate([[0], np.cumsum(sizes)])].tolist()
    for i, start, end in zip(present, bounds[:-1], bounds[1:]):
        out[i] = _len_field(field, _len_field(1, data[start:end]) if end > start else b"")
    return out


def encode_sequence_example(context, feature_lists, dtypes=None):
    """Serialized ``SequenceExample``; ``dtypes`` types context and feature-list names."""
    kinds = _kinds(dtypes)
    return _len_field(1, encode_features(context, "context", kinds)) + _len_field(
        2, _encode_map(feature_lists, _encode_feature_list, "feature_lists", kinds)
    )


def decode_example(buf):
    out = {}
    for field, wire, value in iter_fields(buf, "Example"):
        if field == 1:
            _expect("Example", field, wire, (_LEN,))
            out.update(decode_features(value))
    return out


def decode_sequence_example(buf):
    context, lists = {}, {}
    for field, wire, value in iter_fields(buf, "SequenceExample"):
        if field == 1:
            _expect("SequenceExample", field, wire, (_LEN,))
            context.update(decode_features(value, "context.feature"))
        elif field == 2:
            _expect("SequenceExample", field, wire, (_LEN,))
            lists.update(_decode_map(value, _decode_feature_list, "feature_lists.feature_list"))
    return context, lists
