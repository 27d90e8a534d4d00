"""DenseFeatures throughput: skextras vs TensorFlow (if installed) vs scikit-learn encoders.

Ten mixed columns (numeric, bucketized, hashed, vocabulary, identity, cross, embeddings,
multivalent tags) on synthetic rows, transformed in batches. Prints rows/second and ratios.

A second table serialises the same rows (plus a 20-id int64 list and a 16-float list) as
``tf.train.Example``: ``make_example`` per row and ``write_examples`` on the DataFrame
against TensorFlow's ``SerializeToString`` when installed and the protobuf library's
(its default backend, upb in protobuf >= 4.21) with TensorFlow's message declared from
``tests/_example_proto.py``. Every peer's bytes are parsed back and compared first.

    python benchmarks/feature_columns.py            # 1M rows
    python benchmarks/feature_columns.py --quick    # 200k rows
    python benchmarks/feature_columns.py --quick --smoke
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COUNTRIES = [f"c{i}" for i in range(20)]
TAGS = ["sports", "news", "music", "", "tech", "food", "travel"]


def make_data(n, seed=0):
    """Synthetic features: dict of numpy arrays (strings as object arrays)."""
    rng = np.random.default_rng(seed)
    cities = np.array([f"city_{i}" for i in range(1000)], dtype=object)
    users = np.array([f"user_{i}" for i in range(100_000)], dtype=object)
    return {
        "age": rng.uniform(15, 90, n),
        "income": rng.lognormal(10, 1, n),
        "city": cities[rng.integers(0, cities.size, n)],
        "country": np.array(COUNTRIES + ["zz"], dtype=object)[rng.integers(0, 21, n)],
        "dow": rng.integers(0, 7, n),
        "user": users[rng.integers(0, users.size, n)],
        "tags": np.array(TAGS, dtype=object)[rng.integers(0, len(TAGS), (n, 3))],
    }


def columns(api):
    """The ten benchmark columns, built with ``api`` (skextras or tf.feature_column)."""
    age = api.numeric_column("age")
    city = api.categorical_column_with_hash_bucket("city", 64)
    country = api.categorical_column_with_vocabulary_list("country", COUNTRIES, num_oov_buckets=1)
    dow = api.categorical_column_with_identity("dow", 7)
    user = api.categorical_column_with_hash_bucket("user", 10_000)
    tags = api.categorical_column_with_vocabulary_list("tags", [t for t in TAGS if t])
    cross = api.crossed_column(["city", country], 1000)
    return [
        age,
        api.bucketized_column(age, [18.0, 25.0, 35.0, 50.0, 65.0]),
        api.numeric_column("income"),
        api.indicator_column(city),
        api.indicator_column(country),
        api.indicator_column(dow),
        api.indicator_column(tags),
        api.embedding_column(cross, 8, combiner="sum"),
        api.embedding_column(user, 8, combiner="mean"),
        api.embedding_column(tags, 4, combiner="sqrtn"),
    ]


def batches(data, batch):
    n = len(next(iter(data.values())))
    for start in range(0, n, batch):
        yield {k: v[start : start + batch] for k, v in data.items()}


def time_it(fn, data, batch, repeat=1):
    """Best (wall seconds, process CPU seconds, output width) over ``repeat`` runs.

    CPU seconds count every thread of the process: on a shared machine they show the work
    done, which wall time hides behind other jobs' load.
    """
    best = (np.inf, np.inf, 0)
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        width = 0
        for part in batches(data, batch):
            width = fn(part).shape[1]
        run = (time.perf_counter() - t0, time.process_time() - c0, width)
        best = min(best, run)
    return best


def bench_skextras(data, batch, repeat):
    from skextras import feature_columns as fc

    layer = fc.DenseFeatures(columns(fc), random_state=0).fit({k: v[:100] for k, v in data.items()})
    return time_it(layer.transform, data, batch, repeat)


def bench_skextras_comparable(data, batch, repeat):
    """Only the parts sklearn has: one-hots of city/country/dow and hashed user ids."""
    from skextras import feature_columns as fc

    cols = [
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("city", CITIES)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("country", COUNTRIES)),
        fc.indicator_column(fc.categorical_column_with_identity("dow", 7)),
        fc.indicator_column(fc.categorical_column_with_hash_bucket("user", 2**10)),
    ]
    warm = {k: v[:100] for k, v in data.items()}
    layer = fc.DenseFeatures(cols, sparse_output=True).fit(warm)
    layer.transform(warm)
    return time_it(layer.transform, data, batch, repeat)


CITIES = [f"city_{i}" for i in range(1000)]


def bench_sklearn(data, batch, repeat):
    import scipy.sparse as sp
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.preprocessing import OneHotEncoder

    enc = OneHotEncoder(categories=[CITIES, COUNTRIES, list(range(7))], handle_unknown="ignore")
    hasher = FeatureHasher(n_features=2**10, input_type="string", alternate_sign=False)

    def run(part):
        frame = np.empty((len(part["city"]), 3), dtype=object)
        frame[:, 0], frame[:, 1], frame[:, 2] = part["city"], part["country"], part["dow"]
        onehot = (
            enc.fit_transform(frame) if not hasattr(enc, "categories_") else enc.transform(frame)
        )
        hashed = hasher.transform(part["user"].reshape(-1, 1))
        return sp.hstack([onehot, hashed], format="csr")

    return time_it(run, data, batch, repeat)


def bench_tensorflow(data, batch, repeat):
    try:
        import tensorflow as tf
        import tf_keras
    except ImportError:
        return None
    layer = tf_keras.layers.DenseFeatures(columns(tf.feature_column))
    call = tf.function(layer)

    def run(part):
        feats = {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in part.items()}
        return call(feats).numpy()

    run({k: v[:batch] for k, v in data.items()})
    return time_it(run, data, batch, repeat)


def example_rows(n, seed=0):
    """``n`` feature dicts of Python scalars and numpy lists, as a user's loop builds them."""
    data = {k: v.tolist() for k, v in make_data(n, seed).items()}
    rng = np.random.default_rng(seed + 1)
    ids = rng.integers(0, 2**40, (n, 20))
    emb = rng.standard_normal((n, 16)).astype(np.float32)
    return [{**{k: v[i] for k, v in data.items()}, "ids": ids[i], "emb": emb[i]} for i in range(n)]


def time_examples(fn, repeat):
    """Best (wall seconds, process CPU seconds) of ``fn()`` over ``repeat`` runs."""
    best = (np.inf, np.inf)
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def protobuf_classes():
    """TensorFlow's messages built by the protobuf library on its default backend, or None."""
    try:
        # imported first, this fixes protobuf's default (fast) backend before the test helper
        # asks for the pure-Python one
        from google.protobuf.internal import api_implementation
    except ImportError:
        return None
    print(f"protobuf backend: {api_implementation.Type()}")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _example_proto import messages

    return messages()


def fill_example(example, row):
    """A protobuf / TF Example from a row dict, as the usual ``_int64_feature`` helpers do."""
    for key, value in row.items():
        feature = example.features.feature[key]
        values = value.tolist() if isinstance(value, np.ndarray) else value
        values = values if isinstance(values, list) else [values]
        if isinstance(values[0], str):
            feature.bytes_list.value.extend([v.encode("utf-8") for v in values])
        elif isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example


def check_same_examples(parse, ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        if parse(a) != parse(b):
            raise AssertionError("a peer's Example differs from make_example's")


def bench_serialize(n, repeat):
    """Rows of the Example table: (tool, wall, cpu) or (tool, None, None) if not installed."""
    from skextras.io import make_example, write_examples

    rows = example_rows(n)
    frame = __import__("pandas").DataFrame(rows)
    ours = [make_example(r) for r in rows[:50]]
    path = os.path.join(tempfile.mkdtemp(), "x.tfrecord")
    write_examples(path, frame.head(2))  # loads the CRC kernel before the clock starts
    out = [
        ("skextras make_example", *time_examples(lambda: [make_example(r) for r in rows], repeat)),
        (
            "skextras write_examples +file",
            *time_examples(lambda: write_examples(path, frame), repeat),
        ),
    ]
    classes = protobuf_classes()
    if classes is None:
        out.append(("protobuf SerializeToString", None, None))
    else:
        example = classes["Example"]

        def serialize():
            return [fill_example(example(), r).SerializeToString(deterministic=True) for r in rows]

        check_same_examples(example.FromString, ours, serialize()[:50])
        out.append(("protobuf SerializeToString", *time_examples(serialize, repeat)))
    try:
        import tensorflow as tf
    except ImportError:
        out.append(("tensorflow SerializeToString", None, None))
    else:

        def serialize_tf():
            return [fill_example(tf.train.Example(), r).SerializeToString() for r in rows]

        check_same_examples(tf.train.Example.FromString, ours, serialize_tf()[:50])
        out.append(("tensorflow SerializeToString", *time_examples(serialize_tf, repeat)))
    return out


def print_serialize_table(n, rows):
    print(f"\ntf.train.Example serialisation, {n} rows, 9 features (7 scalar/tags + 2 lists)")
    print("(write_examples also frames, CRCs and writes the TFRecord file; the others: bytes)")
    header = ["tool".ljust(29), "wall s".rjust(7), "us/example".rjust(10), "cpu s".rjust(7)]
    print(" ".join(header + ["cpu/ours".rjust(8)]))
    ours = rows[0][2]
    for tool, wall, cpu in rows:
        if wall is None:
            print(f"{tool:29s} {'-':>7s} {'not installed':>10s}")
            continue
        cells = [f"{tool:29s}", f"{wall:7.3f}", f"{wall / n * 1e6:10.1f}", f"{cpu:7.3f}"]
        print(" ".join(cells + [f"{cpu / ours:7.1f}x"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k rows")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args(argv)
    n = args.rows or (2_000 if args.smoke else 200_000 if args.quick else 1_000_000)
    batch = min(args.batch, n)
    repeat = 1 if args.smoke else 2
    data = make_data(n)
    print(f"DenseFeatures, {n} rows, batch {batch}, 10 mixed columns")
    rows = [
        ("skextras DenseFeatures", "all 10 columns", bench_skextras(data, batch, repeat)),
        ("tensorflow DenseFeatures", "all 10 columns", bench_tensorflow(data, batch, repeat)),
        ("skextras (sparse)", "one-hot + hashed", bench_skextras_comparable(data, batch, repeat)),
        ("sklearn OneHot+Hasher", "one-hot + hashed", bench_sklearn(data, batch, repeat)),
    ]
    header = ["tool".ljust(26), "part".ljust(17), "width".rjust(5), "wall s".rjust(7)]
    header += ["rows/s".rjust(10), "cpu s".rjust(7), "rows/cpu-s".rjust(10), "wall/ours".rjust(9)]
    print(" ".join(header))
    ours = {}
    for tool, part, result in rows:
        if result is None:
            print(f"{tool:26s} {part:17s} {'-':>5s} {'-':>7s} {'not installed':>10s}")
            continue
        wall, cpu, width = result
        ours.setdefault(part, wall)
        cells = [f"{tool:26s}", f"{part:17s}", f"{width:5d}", f"{wall:7.3f}"]
        cells += [f"{n / wall:10,.0f}", f"{cpu:7.3f}", f"{n / cpu:10,.0f}"]
        print(" ".join(cells + [f"{wall / ours[part]:8.1f}x"]))
    n_examples = 200 if args.smoke else 5_000 if args.quick else 50_000
    print_serialize_table(n_examples, bench_serialize(n_examples, repeat))


if __name__ == "__main__":
    main()
