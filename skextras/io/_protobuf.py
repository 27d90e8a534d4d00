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
"""

import numpy as np

_LEN = 2
_VARINT = 0
_I64 = 1
_I32 = 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed message of the expected type."""


def _read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint longer than 10 bytes")


def _varint(n):
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def iter_fields(buf):
    """Yield (field number, wire type, value) with value an int or a memoryview slice."""
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        key, pos = _read_varint(view, pos)
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(view, pos)
        elif wire == _LEN:
            size, pos = _read_varint(view, pos)
            if pos + size > len(view):
                raise ProtobufError(f"field {field}: length {size} runs past the message end")
            value = view[pos : pos + size]
            pos += size
        elif wire == _I32:
            value = view[pos : pos + 4]
            pos += 4
        elif wire == _I64:
            value = view[pos : pos + 8]
            pos += 8
        else:
            raise ProtobufError(f"field {field}: unsupported wire type {wire}")
        if pos > len(view):
            raise ProtobufError(f"field {field}: truncated")
        yield field, wire, value


def decode_varints(data):
    """All varints of a packed field as int64 (two's complement, as int64 fields are)."""
    a = np.frombuffer(data, dtype=np.uint8)
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(a < 0x80)
    if ends.size == 0 or ends[-1] != a.size - 1:
        raise ProtobufError("truncated packed varint")
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise ProtobufError("varint longer than 10 bytes")
    shift = (np.arange(a.size) - np.repeat(starts, lengths)) * 7
    parts = (a & 0x7F).astype(np.uint64) << shift.astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts).view(np.int64)


def encode_varints(values):
    """Packed varint bytes of int64 values (negative values take 10 bytes)."""
    u = np.asarray(values, dtype=np.int64).view(np.uint64).reshape(-1)
    nbytes = np.ones(u.size, dtype=np.int64)
    for k in range(1, 10):
        nbytes += (u >> np.uint64(7 * k)) != 0
    offsets = np.concatenate([[0], np.cumsum(nbytes)[:-1]]).astype(np.int64)
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    for k in range(10):
        live = nbytes > k
        byte = (u[live] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = np.where(nbytes[live] > k + 1, 0x80, 0).astype(np.uint64)
        out[offsets[live] + k] = (byte | more).astype(np.uint8)
    return out.tobytes()


def _len_field(field, payload):
    return _varint((field << 3) | _LEN) + _varint(len(payload)) + payload


# ---- Feature -------------------------------------------------------------------------


def _as_value_array(name, value):
    """Classify a Python / numpy value as ('bytes' | 'float' | 'int64', array or list)."""
    if isinstance(value, (bytes, str)):
        value = [value]
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None:
        seq = list(value) if isinstance(value, (list, tuple)) else [value]
        if not seq:
            raise ValueError(
                f"feature {name!r}: an empty list has no type; pass a typed numpy array"
            )
        if all(isinstance(v, (bytes, str)) for v in seq):
            return "bytes", [v.encode("utf-8") if isinstance(v, str) else v for v in seq]
        arr = np.asarray(seq)
    arr = arr.reshape(-1)
    kind = arr.dtype.kind
    if kind in "SUO":
        return "bytes", [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr]
    if kind in "biu":
        return "int64", arr.astype(np.int64)
    if kind == "f":
        return "float", arr.astype(np.float32)
    raise ValueError(f"feature {name!r}: cannot store values of dtype {arr.dtype}")


def encode_feature(name, value):
    """Serialized ``Feature`` for a scalar, list or 1-d array of bytes/str, floats or ints."""
    kind, values = _as_value_array(name, value)
    if kind == "bytes":
        inner = b"".join(_len_field(1, v) for v in values)
        return _len_field(1, inner)
    if kind == "float":
        inner = _len_field(1, values.astype("<f4").tobytes()) if values.size else b""
        return _len_field(2, inner)
    inner = _len_field(1, encode_varints(values)) if values.size else b""
    return _len_field(3, inner)


def decode_feature(buf):
    """A ``Feature`` as a numpy array: object (bytes), float32 or int64."""
    out = None
    for field, _, value in iter_fields(buf):
        if field == 1:
            out = np.array(
                [bytes(v) for f, w, v in iter_fields(value) if f == 1 and w == _LEN],
                dtype=object,
            )
        elif field == 2:
            chunks = []
            for f, _w, v in iter_fields(value):
                if f == 1:
                    chunks.append(np.frombuffer(v, dtype="<f4"))
            out = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        elif field == 3:
            chunks = []
            for f, w, v in iter_fields(value):
                if f == 1 and w == _LEN:
                    chunks.append(decode_varints(v))
                elif f == 1:
                    chunks.append(np.array([v], dtype=np.uint64).view(np.int64))
            out = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    return np.zeros(0, dtype=np.float32) if out is None else out


# ---- maps and messages ----------------------------------------------------------------


def _encode_map(entries, encode_value):
    parts = []
    for key, value in entries.items():
        entry = _len_field(1, str(key).encode("utf-8")) + _len_field(2, encode_value(key, value))
        parts.append(_len_field(1, entry))
    return b"".join(parts)


def _decode_map(buf, decode_value):
    out = {}
    for field, wire, entry in iter_fields(buf):
        if field != 1 or wire != _LEN:
            continue
        key, value = "", b""
        for f, _, v in iter_fields(entry):
            if f == 1:
                key = bytes(v).decode("utf-8")
            elif f == 2:
                value = v
        out[key] = decode_value(value)
    return out


def encode_features(features):
    return _encode_map(features, encode_feature)


def decode_features(buf):
    return _decode_map(buf, decode_feature)


def _encode_feature_list(name, steps):
    return b"".join(_len_field(1, encode_feature(name, step)) for step in steps)


def _decode_feature_list(buf):
    return [decode_feature(v) for f, _, v in iter_fields(buf) if f == 1]


def encode_example(features):
    return _len_field(1, encode_features(features))


def encode_sequence_example(context, feature_lists):
    return _len_field(1, encode_features(context)) + _len_field(
        2, _encode_map(feature_lists, _encode_feature_list)
    )


def decode_example(buf):
    out = {}
    for field, _, value in iter_fields(buf):
        if field == 1:
            out.update(decode_features(value))
    return out


def decode_sequence_example(buf):
    context, lists = {}, {}
    for field, _, value in iter_fields(buf):
        if field == 1:
            context.update(decode_features(value))
        elif field == 2:
            lists.update(_decode_map(value, _decode_feature_list))
    return context, lists
