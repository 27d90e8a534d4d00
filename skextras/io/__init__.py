"""Readers and writers for data formats (TFRecord, tf.Example)."""

from ._protobuf import ProtobufError
from .tfrecord import (
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

__all__ = [
    "ProtobufError",
    "TFRecordError",
    "make_example",
    "make_sequence_example",
    "parse_example",
    "parse_sequence_example",
    "read_examples_to_frame",
    "read_tfrecord",
    "write_examples",
    "write_tfrecord",
]
