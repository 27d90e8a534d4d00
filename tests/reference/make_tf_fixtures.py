"""Generate the TensorFlow reference fixtures for the feature-column and TFRecord tests.

Run once in a throw-away environment (TensorFlow is never a dependency of skextras)::

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras numpy
    python tests/reference/write_skextras_tfrecords.py          # our files, for TF to read
    /tmp/tfvenv/bin/python tests/reference/make_tf_fixtures.py

Writes ``tests/data/feature_columns/tf_fixtures.json`` (every case of ``_spec.CASES`` with
TF's output), TFRecord files written by TF (``tf_*.tfrecord*``) and ``tf_read_ours.json``
(what TF parsed from the files ``write_skextras_tfrecords.py`` wrote).
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow.python.feature_column import feature_column_v2 as fc2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _spec  # noqa: E402

OUT = HERE.parent / "data" / "feature_columns"
DTYPES = {"string": tf.string, "int64": tf.int64, "float32": tf.float32, "float64": tf.float64}


class _TFApi:
    """tf.feature_column with string dtypes translated to tf dtypes."""

    def __getattr__(self, name):
        fn = getattr(tf.feature_column, name)

        def call(*args, **kwargs):
            if isinstance(kwargs.get("dtype"), str):
                kwargs["dtype"] = DTYPES[kwargs["dtype"]]
            return fn(*args, **kwargs)

        return call


def _tensor(spec):
    dtype = DTYPES[spec["dtype"]]
    values = spec["values"]
    if spec["ragged"]:
        flat = [v for row in values for v in row]
        rt = tf.RaggedTensor.from_row_lengths(
            tf.constant(flat, dtype=dtype, shape=[len(flat)]), [len(r) for r in values]
        )
        return rt.to_sparse()
    if dtype == tf.string:
        return tf.constant(values, dtype=dtype)
    return tf.constant(np.array(values, dtype=dtype.as_numpy_dtype))


def _floats(arr):
    return np.asarray(arr, dtype=np.float32).astype(float).tolist()


def _sparse_floats(arr):
    """Non-zero entries (NaN included) of a float32 array: compact for wide one-hots."""
    flat = np.asarray(arr, dtype=np.float32).reshape(-1)
    nz = np.flatnonzero(flat.view(np.uint32) != 0)
    return {"shape": list(arr.shape), "nonzero": nz.tolist(), "values": _floats(flat[nz])}


def _columns(case):
    built = _spec.build(case["columns"], _TFApi(), tf.constant_initializer, OUT)
    flat = []
    for c in built:
        flat.extend(c if isinstance(c, list) else [c])
    return flat


def _run_in_graph(case):
    """Shared embeddings only build in graph mode (TF raises under eager execution)."""
    with tf.Graph().as_default():
        feats = {k: _tensor(v) for k, v in case["features"].items()}
        out = tf_keras.layers.DenseFeatures(_columns(case))(feats)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(tf.compat.v1.tables_initializer())
            return {"output": _sparse_floats(sess.run(out))}


def run_case(case):
    if case["name"].startswith("shared"):
        return _run_in_graph(case)
    feats = {k: _tensor(v) for k, v in case["features"].items()}
    columns = _columns(case)
    if case["layer"] == "dense":
        out = tf_keras.layers.DenseFeatures(columns)(feats).numpy()
        return {"output": _sparse_floats(out)}
    if case["layer"] == "sequence":
        padded, lengths = tf_keras.experimental.SequenceFeatures(columns)(feats)
        return {"output": _sparse_floats(padded.numpy()), "lengths": lengths.numpy().tolist()}
    cache = fc2.FeatureTransformationCache(feats)
    pair = columns[0].get_sparse_tensors(cache, None)
    ids = pair.id_tensor
    out = {
        "indices": ids.indices.numpy().tolist(),
        "values": ids.values.numpy().tolist(),
        "dense_shape": ids.dense_shape.numpy().tolist(),
    }
    if pair.weight_tensor is not None:
        out["weights"] = _floats(pair.weight_tensor.values.numpy())
    return out


def _feature(value):
    ((kind, values),) = value.items()
    if kind == "bytes":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))
    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _example(ex):
    return tf.train.Example(
        features=tf.train.Features(feature={k: _feature(v) for k, v in ex.items()})
    ).SerializeToString()


def _sequence_example(ex):
    lists = {
        k: tf.train.FeatureList(feature=[_feature(s) for s in steps])
        for k, steps in ex["feature_lists"].items()
    }
    return tf.train.SequenceExample(
        context=tf.train.Features(feature={k: _feature(v) for k, v in ex["context"].items()}),
        feature_lists=tf.train.FeatureLists(feature_list=lists),
    ).SerializeToString()


def write_tf_records():
    records = [_example(e) for e in _spec.EXAMPLES]
    seq = [_sequence_example(e) for e in _spec.SEQUENCE_EXAMPLES]
    for comp, suffix in [(None, ""), ("GZIP", ".gz"), ("ZLIB", ".zlib")]:
        opts = tf.io.TFRecordOptions(compression_type=comp or "")
        with tf.io.TFRecordWriter(str(OUT / f"tf_examples.tfrecord{suffix}"), opts) as w:
            for r in records:
                w.write(r)
    with tf.io.TFRecordWriter(str(OUT / "tf_sequence_examples.tfrecord")) as w:
        for r in seq:
            w.write(r)


def _as_json(msg):
    from google.protobuf import json_format

    return json_format.MessageToDict(msg)


def read_ours():
    """What TF parses from the files our writer produced."""
    out = {}
    for path in sorted(OUT.glob("ours_*.tfrecord*")):
        comp = {".gz": "GZIP", ".zlib": "ZLIB"}.get(path.suffix, "")
        records = [r.numpy() for r in tf.data.TFRecordDataset(str(path), compression_type=comp)]
        parsed = []
        for r in records:
            if "sequence" in path.name:
                msg = tf.train.SequenceExample.FromString(r)
            else:
                msg = tf.train.Example.FromString(r)
            parsed.append(_as_json(msg))
        out[path.name] = parsed
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vocab.txt").write_text("\n".join(_spec.VOCAB_FILE_LINES) + "\n", encoding="utf-8")
    results = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__, "cases": {}}
    for case in _spec.CASES:
        try:
            results["cases"][case["name"]] = run_case(case)
        except Exception as exc:  # the error itself is the reference behaviour
            results["cases"][case["name"]] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    (OUT / "tf_fixtures.json").write_text(json.dumps(results, indent=0, ensure_ascii=False))
    write_tf_records()
    (OUT / "tf_read_ours.json").write_text(json.dumps(read_ours(), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
