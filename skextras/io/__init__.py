"""Readers and writers for data formats (TFRecord, tf.Example)."""
