"""Feature columns as scikit-learn citizens, hashing vectors, and input validation."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import NotFittedError

from skextras import feature_columns as fc
from skextras.feature_columns._kernels import cross_hashed


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 200
    age = rng.uniform(10, 80, n)
    city = rng.choice(["paris", "rome", "oslo", "lima"], n)
    y = ((age > 40) | (city == "rome")).astype(int)
    tags = [list(rng.choice(["a", "b", "c"], rng.integers(0, 3))) for _ in range(n)]
    return pd.DataFrame({"age": age, "city": city, "tags": tags}), y


def _columns(boundaries=(40.0,), buckets=8):
    age = fc.numeric_column("age")
    city = fc.categorical_column_with_hash_bucket("city", buckets)
    tags = fc.categorical_column_with_vocabulary_list("tags", ["a", "b", "c"])
    return [
        fc.bucketized_column(age, list(boundaries)),
        fc.indicator_column(city),
        fc.indicator_column(tags),
        age,
    ]


def test_fingerprint64_matches_tensorflow_vectors(shared_data):
    ref = json.loads((shared_data / "tf_feature_columns" / "hash_vectors.json").read_text())
    got = fc.fingerprint64(np.array(ref["strings"], dtype=object))
    np.testing.assert_array_equal(got, np.array([int(v) for v in ref["fingerprint64"]], np.uint64))
    for buckets, want in ref["to_hash_bucket_fast"].items():
        np.testing.assert_array_equal(got % np.uint64(int(buckets)), np.array(want, np.uint64))


def test_fingerprint64_bytes_and_str_agree():
    text = np.array(["", "é", "中文", "x" * 100], dtype=object)
    as_bytes = np.array([s.encode() for s in text], dtype="S")
    np.testing.assert_array_equal(fc.fingerprint64(text), fc.fingerprint64(as_bytes))


@pytest.mark.parametrize("short", ["", "a", "paris", "x" * 16, "é", "中文", "ééé", "\U0001f600"])
def test_fingerprint64_short_text_path_equals_the_general_one(short, shared_data):
    # a column of strings of at most 16 UTF-8 bytes runs a kernel compiled without the
    # longer cases; beside one long string the same values take the general kernel
    ref = json.loads((shared_data / "tf_feature_columns" / "hash_vectors.json").read_text())
    alone = fc.fingerprint64(np.array([short], dtype=object))
    mixed = fc.fingerprint64(np.array([short, "y" * 70], dtype=object))
    assert alone[0] == mixed[0]
    # just over the bounds: 17 ASCII bytes, 17-18 bytes of 2-4 byte code points, and 5
    # code points of 2 bytes (10 bytes, but over 4 non-ASCII code points: the general path)
    for text in ("x" * 17, "é" * 9, "中文中文中文", "\U0001f600" * 4 + "a", "ééééé"):
        assert (
            fc.fingerprint64(np.array([text], dtype=object))[0]
            == fc.fingerprint64(np.array([text, "y"], dtype=object))[0]
        )
        as_bytes = np.array([text.encode()], dtype="S")
        assert fc.fingerprint64(as_bytes)[0] == fc.fingerprint64(np.array([text], dtype=object))[0]
    strings = [s for s in ref["strings"] if len(s.encode()) <= 16]
    got = fc.fingerprint64(np.array(strings, dtype=object))
    want = [int(v) for s, v in zip(ref["strings"], ref["fingerprint64"]) if len(s.encode()) <= 16]
    np.testing.assert_array_equal(got, np.array(want, np.uint64))


def test_crossed_ids_match_tensorflow_cross_hashed(shared_data):
    ref = json.loads((shared_data / "tf_feature_columns" / "hash_vectors.json").read_text())
    inputs = {
        k: np.array(v, dtype=object if isinstance(v[0][0], str) else np.int64)
        for k, v in ref["cross_inputs"].items()
    }
    for name, want in ref["cross_hashed"].items():
        parts = name.split("_")
        keys = [p for p in parts if len(p) == 1]
        buckets = int(parts[len(keys)][2:])
        hash_key = 12345 if "hashkey" in name else 0xDECAFCAFFE
        comps = []
        for k in keys:
            v = inputs[k].reshape(-1)
            comps.append(fc.fingerprint64(v) if v.dtype == object else v.view(np.uint64))
        n = len(comps[0])
        splits = np.stack([np.arange(n + 1) + i * n for i in range(len(comps))])
        got, _ = cross_hashed(np.concatenate(comps), splits, np.uint64(hash_key), buckets)
        np.testing.assert_array_equal(got, np.array(want, dtype=np.int64), err_msg=name)
        if buckets:
            col = fc.crossed_column(keys, buckets, None if hash_key == 0xDECAFCAFFE else hash_key)
            np.testing.assert_array_equal(col.ids(inputs).values, want, err_msg=name)


def test_dense_features_on_dataframe_with_list_column(frame):
    X, _ = frame
    out = fc.DenseFeatures(_columns()).fit_transform(X)
    assert out.shape == (200, 2 + 8 + 3 + 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0], X["age"].astype(np.float32))
    np.testing.assert_array_equal(out[:, 1:3].sum(axis=1), 1)
    counts = np.array([len(t) for t in X["tags"]])
    np.testing.assert_array_equal(out[:, 11:14].sum(axis=1), counts)


def test_feature_names_and_pandas_output(frame):
    X, _ = frame
    layer = fc.DenseFeatures(_columns()).set_output(transform="pandas")
    out = layer.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    names = list(layer.get_feature_names_out())
    assert names[:3] == ["age", "age_bucketized_0", "age_bucketized_1"]
    assert names[-1] == "tags_indicator_2" and list(out.columns) == names


def test_columns_concatenated_in_name_order():
    X = {"b": np.array([1.0, 2.0]), "a": np.array([3.0, 4.0])}
    layer = fc.DenseFeatures([fc.numeric_column("b"), fc.numeric_column("a")])
    np.testing.assert_array_equal(layer.fit_transform(X), [[3, 1], [4, 2]])


def test_pipeline_and_grid_search_over_column_params(frame):
    X, y = frame
    one_hot_only = _columns()[:3]
    pipe = make_pipeline(fc.DenseFeatures(one_hot_only), LogisticRegression())
    grid = GridSearchCV(
        pipe,
        {
            "densefeatures__age_bucketized__boundaries": [[20.0], [40.0]],
            "densefeatures__city_indicator__categorical_column__hash_bucket_size": [2, 16],
        },
        cv=3,
    )
    grid.fit(X, y)
    best = grid.best_params_
    assert best["densefeatures__age_bucketized__boundaries"] == [40.0]
    assert grid.best_score_ > 0.9
    layer = grid.best_estimator_[0]
    assert layer.columns[1].categorical_column.hash_bucket_size in (2, 16)


def test_column_transformer_routes_dataframe_columns(frame):
    X, _ = frame
    ct = ColumnTransformer(
        [("fc", fc.DenseFeatures(_columns()[:2]), ["age", "city"])], remainder="drop"
    )
    assert ct.fit_transform(X).shape == (200, 2 + 8)


def test_clone_keeps_column_params():
    layer = fc.DenseFeatures(_columns(boundaries=(1.0, 2.0)))
    copy = clone(layer)
    assert copy.get_params()["age_bucketized__boundaries"] == [1.0, 2.0]
    assert copy.columns[0] is not layer.columns[0]


def test_embedding_weights_read_set_save_load(tmp_path):
    ids = fc.categorical_column_with_identity("i", 4)
    emb = fc.embedding_column(ids, 2, combiner="sum")
    X = {"i": np.array([[0, 1], [3, -1]])}
    layer = fc.DenseFeatures([emb], random_state=0).fit(X)
    table = layer.embedding_weights_["i_embedding"]
    assert table.shape == (4, 2) and np.abs(table).max() <= 2 / np.sqrt(2)
    layer.embedding_weights_["i_embedding"] = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(layer.transform(X), [[2, 4], [6, 7]])
    layer.save_weights(tmp_path / "w.npz")
    other = fc.DenseFeatures([emb], random_state=1).fit(X).load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.transform(X), [[2, 4], [6, 7]])
    again = fc.DenseFeatures([emb], random_state=0).fit(X)
    np.testing.assert_array_equal(again.embedding_weights_["i_embedding"], table)


def test_embedding_callable_initializer():
    emb = fc.embedding_column(
        fc.categorical_column_with_identity("i", 3),
        2,
        initializer=lambda shape, dtype: np.ones(shape, dtype),
    )
    out = fc.DenseFeatures([emb]).fit_transform({"i": np.array([[0, 2], [-1, -1]])})
    np.testing.assert_array_equal(out, [[1, 1], [0, 0]])


def test_shared_embeddings_share_one_table():
    a = fc.categorical_column_with_identity("a", 3)
    b = fc.categorical_column_with_identity("b", 3)
    cols = fc.shared_embeddings([a, b], 2, initializer=np.eye(3, 2, dtype=np.float32))
    layer = fc.DenseFeatures(cols).fit({"a": np.array([0]), "b": np.array([1])})
    assert list(layer.embedding_weights_) == ["a_b_shared_embedding"]
    layer.embedding_weights_["a_b_shared_embedding"][:] = 5
    np.testing.assert_array_equal(
        layer.transform({"a": np.array([0]), "b": np.array([1])}), [[5] * 4]
    )


def test_wide_cross_sparse_output_stays_sparse():
    rng = np.random.default_rng(0)
    X = {
        "u": rng.integers(0, 10**6, 5000).astype(str).astype(object),
        "v": rng.integers(0, 1000, 5000),
    }
    cross = fc.indicator_column(fc.crossed_column(["u", "v"], 10**6))
    out = fc.DenseFeatures([cross], sparse_output=True).fit_transform(X)
    assert sp.issparse(out) and out.shape == (5000, 10**6) and out.nnz == 5000


def test_ids_csr_output_keeps_id_zero():
    col = fc.categorical_column_with_vocabulary_list("s", ["a", "b"])
    ids = col.ids({"s": np.array([["a", ""], ["b", "a"]], dtype=object)}, output="csr")
    assert ids.shape == (2, 2) and ids.nnz == 3
    np.testing.assert_array_equal(ids.toarray(), [[0, 0], [1, 0]])
    np.testing.assert_array_equal(ids.indices, [0, 0, 1])


def test_weighted_ids_return_weights():
    col = fc.weighted_categorical_column(fc.categorical_column_with_identity("i", 5), "w")
    X = {"i": np.array([[1, -1], [2, 3]]), "w": np.array([[0.5, 9.0], [1.0, 2.0]], np.float32)}
    ids, weights = col.ids(X, output="csr")
    np.testing.assert_array_equal(weights.data, [0.5, 1.0, 2.0])
    out = fc.DenseFeatures([fc.indicator_column(col)]).fit_transform(X)
    np.testing.assert_array_equal(out, [[0, 0.5, 0, 0, 0], [0, 0, 1, 2, 0]])


@pytest.mark.parametrize(
    ("columns", "X", "match"),
    [
        ([fc.numeric_column("x")], {"y": np.ones(2)}, "needs feature 'x'"),
        ([fc.numeric_column("x")], {"x": np.array(["a", "b"])}, "numeric_column 'x'"),
        (
            [fc.indicator_column(fc.categorical_column_with_identity("x", 3))],
            {"x": np.array(["a", "b"])},
            "needs integer values",
        ),
        ([fc.categorical_column_with_identity("x", 3)], {"x": np.array([1])}, "dense columns"),
        (
            [fc.bucketized_column(fc.numeric_column("x"), [0.0]).set_params(boundaries=[2, 1])],
            {"x": np.ones(2)},
            "boundaries must be a sorted list",
        ),
        (
            [
                fc.indicator_column(
                    fc.categorical_column_with_hash_bucket("x", 2).set_params(hash_bucket_size=0)
                )
            ],
            {"x": np.array(["a"])},
            "hash_bucket_size must be >= 1",
        ),
        (
            [fc.numeric_column("x"), fc.numeric_column("x")],
            {"x": np.ones(2)},
            "Duplicate column names",
        ),
        (
            [fc.bucketized_column(fc.numeric_column("x"), [0.0]).set_params(boundaries=[])],
            {"x": np.ones(2)},
            "boundaries must not be empty",
        ),
        (
            [fc.indicator_column(fc.categorical_column_with_identity("x", 3, default_value=5))],
            {"x": np.array([1])},
            "default_value 5 not in range",
        ),
        (
            [
                fc.indicator_column(
                    fc.weighted_categorical_column(fc.categorical_column_with_identity("x", 3), "w")
                )
            ],
            {"x": np.array([[1, 2]]), "w": np.array([[0.5]])},
            "weights 'w' have 1 columns",
        ),
        (fc.numeric_column("x"), {"x": np.ones(2)}, "'columns' parameter"),
    ],
)
def test_bad_input_raises_clear_error(columns, X, match):
    with pytest.raises(ValueError, match=match):
        fc.DenseFeatures(columns).fit_transform(X)


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        fc.DenseFeatures([fc.numeric_column("x")]).transform({"x": np.ones(2)})


def test_embedding_id_out_of_range_raises():
    emb = fc.embedding_column(fc.categorical_column_with_identity("i", 3), 2)
    layer = fc.DenseFeatures([emb]).fit({"i": np.array([0])})
    with pytest.raises(ValueError, match="out of range"):
        layer.transform({"i": np.array([7])})


def test_factories_validate_eagerly_like_tensorflow():
    with pytest.raises(ValueError, match="does not support HashedCategoricalColumn"):
        fc.crossed_column([fc.categorical_column_with_hash_bucket("s", 5), "i"], 7)
    with pytest.raises(ValueError, match="keys must have at least 2"):
        fc.crossed_column(["s"], 7)
    with pytest.raises(ValueError, match="boundaries must be a sorted list"):
        fc.bucketized_column(fc.numeric_column("x"), [1.0, 1.0])
    with pytest.raises(ValueError, match="hash_bucket_size must be >= 1"):
        fc.categorical_column_with_hash_bucket("s", 0)


def test_vocabulary_default_and_oov_together_raises():
    col = fc.categorical_column_with_vocabulary_list("s", ["a"], default_value=0, num_oov_buckets=2)
    with pytest.raises(ValueError, match="both default_value and num_oov_buckets"):
        col.ids({"s": np.array(["a"])})


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=20))
def test_fingerprint64_text_equals_utf8_bytes(strings):
    text = np.array(strings + ["x\x00", "\x00"], dtype=object)
    raw = np.array([s.encode("utf-8") for s in text], dtype=object)
    from skextras.feature_columns._farmhash import fingerprint64_buffer

    offsets = np.concatenate([[0], np.cumsum([len(b) for b in raw])]).astype(np.int64)
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8)
    np.testing.assert_array_equal(fc.fingerprint64(text), fingerprint64_buffer(buf, offsets))


@pytest.mark.parametrize(
    "module",
    ["skextras.feature_columns._layers", "skextras.feature_columns._api", "skextras.io.tfrecord"],
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_config_json_and_weights_restore_layer_without_data(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_feature_columns import FIXTURES, _spec, columns, features, tf_dense

    case = next(c for c in _spec.CASES if c["name"] == "several_columns")
    layer = fc.DenseFeatures(columns(case)).fit(features(case))
    layer.save_weights(tmp_path / "w.npz")
    text = json.dumps(layer.get_config())
    restored = fc.DenseFeatures.from_config(json.loads(text)).load_weights(tmp_path / "w.npz")
    out = restored.transform(features(case))
    np.testing.assert_array_equal(out, tf_dense(FIXTURES["several_columns"]["output"]))
    assert list(restored.get_feature_names_out()) == list(layer.get_feature_names_out())


def test_config_rejects_callables():
    layer = fc.DenseFeatures([fc.numeric_column("x", normalizer_fn=np.log1p)])
    with pytest.raises(ValueError, match="normalizer_fn"):
        layer.get_config()


def test_pandas_missing_values_become_tf_missing_markers():
    X = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "s": pd.Series(["a", None, "b"], dtype="string"),
            "c": pd.Categorical(["b", "a", None]),
        }
    )
    cols = [
        fc.indicator_column(fc.categorical_column_with_identity("i", 4)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("s", ["a", "b"])),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("c", ["a", "b"])),
    ]
    out = fc.DenseFeatures(cols).fit_transform(X)
    expected = [[0, 1, 0, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 0, 1]]
    np.testing.assert_array_equal(out, expected)


def test_vocabulary_lookup_survives_fingerprint_collision():
    from skextras.feature_columns._columns import _verified_index

    vocab = np.array(["a", "b"], dtype=object)
    values = np.array(["b", "impostor"], dtype=object)
    fake = fc.fingerprint64(np.array(["b", "a"], dtype=object))
    np.testing.assert_array_equal(_verified_index(vocab, values, fake), [1, -1])


@pytest.mark.parametrize("n_distinct", [3, 20_000])
def test_factorised_and_direct_text_paths_agree(n_distinct):
    rng = np.random.default_rng(1)
    pool = np.array([f"v{i}é" for i in range(n_distinct)] + [""], dtype=object)
    big = pool[rng.integers(0, pool.size, 20_000)]
    vocab = list(pool[:50:2])
    cols = [
        fc.categorical_column_with_vocabulary_list("s", vocab, num_oov_buckets=3),
        fc.categorical_column_with_hash_bucket("s", 1000),
    ]
    for col in cols:
        whole = col.ids({"s": big}).values
        pieces = np.concatenate(
            [col.ids({"s": big[i : i + 500]}).values for i in range(0, 20_000, 500)]
        )
        np.testing.assert_array_equal(whole, pieces)


def _cat64_reference(a, b):
    """FingerprintCat64 in plain Python integers (the formula of the spec)."""
    mask, k = 2**64 - 1, 0xC6A4A7935BD1E995

    def mix(v):
        return v ^ (v >> 47)

    r = a ^ k
    r ^= (mix((b * k) & mask) * k) & mask
    r = (r * k) & mask
    r = (mix(r) * k) & mask
    return mix(r)


_rows = st.lists(st.lists(st.sampled_from(["a", "", "é", "zz", "中"]), max_size=3), min_size=1)


@settings(max_examples=40, deadline=None)
@given(_rows, st.lists(st.lists(st.integers(-3, 2**40), max_size=3), min_size=1))
def test_crossed_ids_match_python_reference(left, right):
    import itertools

    n = min(len(left), len(right))
    left, right = left[:n], right[:n]
    col = fc.crossed_column(["s", "n"], 1000, hash_key=99)
    ids = col.ids({"s": left, "n": right})
    fp = {s: int(fc.fingerprint64(np.array([s], dtype=object))[0]) for s in "a é zz 中".split()}
    fp[""] = int(fc.fingerprint64(np.array([""], dtype=object))[0])
    expected = []
    for row_s, row_n in zip(left, right, strict=True):
        for s, v in itertools.product(row_s, row_n):
            h = _cat64_reference(_cat64_reference(99, fp[s]), v & (2**64 - 1))
            expected.append(h % 1000)
    np.testing.assert_array_equal(ids.values, expected)


def test_sequence_features_lengths_must_agree():
    cols = [fc.sequence_numeric_column("a"), fc.sequence_numeric_column("b")]
    layer = fc.SequenceFeatures(cols)
    X = {"a": [[1.0, 2.0], [3.0]], "b": [[1.0], [3.0]]}
    with pytest.raises(ValueError, match="sequence lengths of column 'b'"):
        layer.fit(X).transform(X)


def test_assigned_embedding_weights_are_checked_and_cast():
    emb = fc.embedding_column(fc.categorical_column_with_identity("i", 3), 2, combiner="sum")
    X = {"i": np.array([[0, 2]])}
    layer = fc.DenseFeatures([emb]).fit(X)
    layer.embedding_weights_["i_embedding"] = [[0.1, 0.2], [0.0, 0.0], [0.3, 0.4]]
    out = layer.transform(X)
    expected = np.float32(0.1) + np.float32(0.3), np.float32(0.2) + np.float32(0.4)
    np.testing.assert_array_equal(out, [expected])
    layer.embedding_weights_["i_embedding"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"embedding_weights_\['i_embedding'\] must have shape"):
        layer.transform(X)


def test_list_column_with_missing_rows():
    X = pd.DataFrame({"t": [np.nan, ["a", "b"], None, []]})
    col = fc.indicator_column(fc.categorical_column_with_vocabulary_list("t", ["a", "b"]))
    out = fc.DenseFeatures([col]).fit_transform(X)
    np.testing.assert_array_equal(out, [[0, 0], [1, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("n_rows", [0, 1])
@pytest.mark.parametrize("sparse_output", [False, True])
def test_zero_and_one_row_batches(n_rows, sparse_output):
    X = {
        "x": np.arange(3.0),
        "s": np.array(["a", "b", ""], dtype=object),
        "t": [["a"], [], ["b", "c"]],
        "i": np.array([[1, -1], [0, 2], [-1, -1]]),
    }
    s = fc.categorical_column_with_hash_bucket("s", 5)
    cols = [
        fc.numeric_column("x"),
        fc.indicator_column(s),
        fc.embedding_column(fc.categorical_column_with_vocabulary_list("t", ["a", "b"]), 2),
        fc.indicator_column(fc.crossed_column(["s", "i"], 7)),
    ]
    layer = fc.DenseFeatures(cols, sparse_output=sparse_output, random_state=0).fit(X)
    full = layer.transform(X)
    part = layer.transform({k: v[:n_rows] for k, v in X.items()})
    if sparse_output:
        full, part = full.toarray(), part.toarray()
    assert part.shape == (n_rows, full.shape[1])
    np.testing.assert_array_equal(part, full[:n_rows])


def test_transform_missing_feature_names_it():
    layer = fc.DenseFeatures([fc.numeric_column("x")]).fit({"x": np.ones(2)})
    with pytest.raises(ValueError, match="feature 'x' is missing from X"):
        layer.transform({"y": np.ones(2)})
