"""TensorFlow's ``example.proto`` / ``feature.proto`` built with the real protobuf library.

The messages are declared from a ``FileDescriptorProto`` written here field for field (the
field numbers and types of TensorFlow's ``core/example/*.proto``), so tests can compare our
hand-written codec with protobuf's own parser and its deterministic serialisation without
TensorFlow. ``messages()`` skips the calling test when protobuf is not installed. The
pure-Python backend is chosen: its deterministic order is C++ protobuf's (TensorFlow's).
"""

import functools
import os

import numpy as np
import pytest


@functools.cache
def messages():
    """``{"Example": cls, "SequenceExample": cls, "Feature": cls, ...}`` of protobuf classes."""
    # the pure-Python backend sorts map keys as C++ protobuf does (upb differs for prefixes)
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(
        name="skextras_test/example.proto", package="tensorflow", syntax="proto3"
    )
    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED

    def message(name, *fields, map_entry=False):
        msg = fdp.message_type.add(name=name)
        if map_entry:
            msg.options.map_entry = True
        for number, fname, ftype, label, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".tensorflow.{type_name}"
        return msg

    def map_entry(name, value_type):
        """The nested ``map<string, value_type>`` entry message (key = 1, value = 2)."""
        return descriptor_pb2.DescriptorProto(
            name=name,
            field=[
                f(name="key", number=1, type=f.TYPE_STRING, label=opt),
                f(name="value", number=2, type=f.TYPE_MESSAGE, label=opt,
                  type_name=f".tensorflow.{value_type}"),
            ],
            options=descriptor_pb2.MessageOptions(map_entry=True),
        )  # fmt: skip

    message("BytesList", (1, "value", f.TYPE_BYTES, rep, None))
    floats = message("FloatList", (1, "value", f.TYPE_FLOAT, rep, None))
    floats.field[0].options.packed = True
    ints = message("Int64List", (1, "value", f.TYPE_INT64, rep, None))
    ints.field[0].options.packed = True
    feature = message(
        "Feature",
        (1, "bytes_list", f.TYPE_MESSAGE, opt, "BytesList"),
        (2, "float_list", f.TYPE_MESSAGE, opt, "FloatList"),
        (3, "int64_list", f.TYPE_MESSAGE, opt, "Int64List"),
    )
    feature.oneof_decl.add(name="kind")
    for field in feature.field:
        field.oneof_index = 0
    features = message("Features", (1, "feature", f.TYPE_MESSAGE, rep, "Features.FeatureEntry"))
    features.nested_type.append(map_entry("FeatureEntry", "Feature"))
    message("FeatureList", (1, "feature", f.TYPE_MESSAGE, rep, "Feature"))
    lists = message(
        "FeatureLists", (1, "feature_list", f.TYPE_MESSAGE, rep, "FeatureLists.FeatureListEntry")
    )
    lists.nested_type.append(map_entry("FeatureListEntry", "FeatureList"))
    message("Example", (1, "features", f.TYPE_MESSAGE, opt, "Features"))
    message(
        "SequenceExample",
        (1, "context", f.TYPE_MESSAGE, opt, "Features"),
        (2, "feature_lists", f.TYPE_MESSAGE, opt, "FeatureLists"),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    names = ["BytesList", "FloatList", "Int64List", "Feature", "Features", "FeatureList",
             "FeatureLists", "Example", "SequenceExample"]  # fmt: skip
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{name}"))
        for name in names
    }


def deterministic_bytes(message):
    """protobuf's deterministic serialisation in C++ / Java / pure-Python key order."""
    from google.protobuf.internal import api_implementation

    if api_implementation.Type() != "python":
        pytest.skip("protobuf was imported with the upb backend, whose map order differs")
    return message.SerializeToString(deterministic=True)


def feature_pb(value):
    """A protobuf ``Feature`` for a typed numpy array (object = bytes, float32, int64)."""
    feature = messages()["Feature"]()
    if value.dtype == object:
        feature.bytes_list.value.extend(list(value))
    elif value.dtype.kind == "f":
        feature.float_list.value.extend(value.tolist())
    else:
        feature.int64_list.value.extend(value.tolist())
    return feature


def feature_array(feature):
    """What our decoder returns for a protobuf ``Feature`` (an empty float32 when unset)."""
    kind = feature.WhichOneof("kind")
    if kind == "bytes_list":
        return np.array(list(feature.bytes_list.value), dtype=object)
    if kind == "int64_list":
        return np.array(feature.int64_list.value, dtype=np.int64)
    if kind == "float_list":
        return np.array(feature.float_list.value, dtype=np.float32)
    return np.zeros(0, dtype=np.float32)


def features_dict(features):
    """A parsed protobuf ``Features`` as ``{name: ndarray}``."""
    return {k: feature_array(v) for k, v in features.feature.items()}
