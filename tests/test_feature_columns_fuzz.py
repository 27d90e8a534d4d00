"""Bad input to feature columns: a correct output or a ValueError / TypeError that names it.

Hypothesis feeds ``DenseFeatures`` values of the wrong shape, kind and nesting (dicts,
nested lists, None, text where numbers belong); each call either returns what the
definition gives (checked by a slow per-row loop for numeric and identity columns) or raises
ValueError / TypeError, never a bare KeyError / IndexError / AttributeError or numpy's own
message. Integer parameters are checked as TensorFlow checks them: ``hash_bucket_size=2.5``
raises (TF: "Expected int for argument 'num_buckets'") instead of being truncated.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skextras import feature_columns as fc

FUZZ = settings(
    max_examples=40, derandomize=True, deadline=5000, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(scope="module", autouse=True)
def _compiled_kernels():
    """Compile the numba kernels once, so the deadline times the calls, not the compiler."""
    columns = [
        fc.indicator_column(fc.categorical_column_with_hash_bucket("h", 7)),
        fc.indicator_column(fc.categorical_column_with_vocabulary_list("v", ["a", "b"])),
        fc.indicator_column(fc.categorical_column_with_identity("i", 10)),
        fc.numeric_column("n", shape=2),
    ]
    X = {"h": [["a", "b"], ["c"]], "v": ["a", "z"], "i": [1, 2], "n": np.ones((2, 2))}
    fc.DenseFeatures(columns).fit_transform(X)
    fc.DenseFeatures(columns).fit_transform({**X, "h": [1, 2], "v": [["a"], []], "i": [[1], []]})


_scalar = st.one_of(
    st.none(),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.booleans(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
_rows = st.lists(st.one_of(_scalar, st.lists(_scalar, max_size=3)), min_size=1, max_size=6)


def transform(columns, value):
    """The dense output, or None after a ValueError / TypeError."""
    try:
        return fc.DenseFeatures(columns).fit_transform({"x": value})
    except (ValueError, TypeError) as exc:
        assert str(exc), "an error without a message"
        return None


@FUZZ
@given(_rows)
def test_numeric_column_random_rows_equal_the_float32_rows_or_raise(rows):
    out = transform([fc.numeric_column("x", shape=2)], rows)
    if out is not None:
        with np.errstate(over="ignore"):
            want = [np.asarray(r, dtype=np.float64).reshape(-1).astype(np.float32) for r in rows]
        np.testing.assert_array_equal(out, np.array(want))


@FUZZ
@given(_rows)
def test_identity_indicator_random_rows_count_the_ids_or_raise(rows):
    out = transform([fc.indicator_column(fc.categorical_column_with_identity("x", 10))], rows)
    if out is not None:
        want = np.zeros((len(rows), 10), dtype=np.float32)
        for i, row in enumerate(rows):
            for v in row if isinstance(row, list) else [row]:
                # Out-of-range ids (and TF's missing marker -1) add nothing to a one-hot.
                if v is not None and 0 <= int(v) < 10:
                    want[i, int(v)] += 1
        np.testing.assert_array_equal(out, want)


@FUZZ
@given(_rows)
def test_hash_and_vocabulary_indicators_random_rows_give_counts_or_raise(rows):
    hashed = fc.indicator_column(fc.categorical_column_with_hash_bucket("x", 7))
    vocab = fc.indicator_column(fc.categorical_column_with_vocabulary_list("x", ["a", "b"]))
    for column, width in [(hashed, 7), (vocab, 2)]:
        out = transform([column], rows)
        if out is not None:
            assert out.shape == (len(rows), width)
            assert (out >= 0).all() and np.isfinite(out).all()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: fc.categorical_column_with_hash_bucket("x", 2.5),
            TypeError,
            "hash_bucket_size must be an int, got float 2.5",
        ),
        (
            lambda: fc.categorical_column_with_hash_bucket("x", 0),
            ValueError,
            "hash_bucket_size must be >= 1, got 0",
        ),
        (lambda: fc.crossed_column(["a", "b"], 2.5), TypeError, "hash_bucket_size must be an int"),
        (
            lambda: fc.indicator_column(fc.crossed_column(["a", "b"], 4, hash_key=1.5)),
            TypeError,
            "hash_key must be",
        ),
        (
            lambda: fc.indicator_column(fc.categorical_column_with_identity("x", 2.5)),
            TypeError,
            "num_buckets must be an int",
        ),
        (
            lambda: fc.indicator_column(
                fc.categorical_column_with_vocabulary_list("x", [1], num_oov_buckets=1.5)
            ),
            TypeError,
            "num_oov_buckets must be an int",
        ),
        (
            lambda: fc.embedding_column(fc.categorical_column_with_identity("x", 3), 2.0),
            TypeError,
            "dimension must be an int, got float 2.0",
        ),
        (lambda: fc.numeric_column("x", shape=2.5), TypeError, "shape must be an int"),
        (lambda: fc.numeric_column("x", shape=(2, 0)), ValueError, "shape must be >= 1"),
    ],  # fmt: skip
)
def test_non_integer_parameter_raises_naming_it(make, error, match):
    with pytest.raises(error, match=match):
        fc.DenseFeatures([make()]).fit_transform({"x": np.array([1]), "a": ["u"], "b": ["v"]})


@pytest.mark.parametrize("shape", [2, (2,), [2]])
def test_numeric_column_wrong_width_names_the_shape_and_the_width(shape):
    layer = fc.DenseFeatures([fc.numeric_column("x", shape=shape)])
    with pytest.raises(ValueError, match=r"'x': shape \(2,\) needs 2 values per row, got 3"):
        layer.fit_transform({"x": np.ones((4, 3))})


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ([{"a": 1}, "b"], TypeError, r"feature 'x': value 0 is a dict"),
        ([["a", {"b"}], ["c"]], TypeError, r"feature 'x': value 1 is a set"),
        ([["a", ["b"]], ["c"]], ValueError, r"feature 'x': each row must be a flat list"),
    ],
)
def test_categorical_input_of_non_scalars_raises_naming_the_feature(value, error, match):
    column = fc.indicator_column(fc.categorical_column_with_hash_bucket("x", 5))
    with pytest.raises(error, match=match):
        fc.DenseFeatures([column]).fit_transform({"x": value})


def test_vocabulary_file_of_non_integers_names_the_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("1\n2\nthree\n")
    column = fc.categorical_column_with_vocabulary_file("x", str(path), dtype="int64")
    with pytest.raises(ValueError, match=r"vocab.txt:3: 'three' is not an integer"):
        fc.DenseFeatures([fc.indicator_column(column)]).fit_transform({"x": np.array([1])})


@FUZZ
@given(st.one_of(_scalar, _rows, st.tuples(_scalar), st.frozensets(st.integers(), max_size=3)))
def test_any_feature_container_gives_rows_or_raises(value):
    numeric = transform([fc.numeric_column("x")], value)
    if numeric is not None:
        rows = value if isinstance(value, (list, tuple)) else list(value)
        with np.errstate(over="ignore"):
            want = np.asarray(rows, dtype=np.float64).astype(np.float32).reshape(-1, 1)
        np.testing.assert_array_equal(numeric, want)
    hashed = fc.indicator_column(fc.categorical_column_with_hash_bucket("x", 3))
    out = transform([hashed], value)
    if out is not None:
        assert out.shape[1] == 3 and (out >= 0).all()


@pytest.mark.parametrize("value", [1.0, np.float64(2.0), "abc", b"ab", {"a": 1}, None])
def test_feature_that_is_no_sequence_of_rows_raises_type_error_naming_it(value):
    layer = fc.DenseFeatures([fc.numeric_column("x")])
    with pytest.raises(TypeError, match=r"feature 'x' must be an array, a list or a pandas"):
        layer.fit_transform({"x": value})


@pytest.mark.parametrize(
    "make",
    [
        lambda: fc.indicator_column(fc.numeric_column("x")),
        lambda: fc.indicator_column("x"),
        lambda: fc.indicator_column(fc.weighted_categorical_column("x", "w")),
        lambda: fc.embedding_column(fc.numeric_column("x"), 2),
    ],
)
def test_categorical_wrapper_of_a_non_categorical_column_raises_value_error(make):
    with pytest.raises(ValueError, match="categorical_column must be a categorical column"):
        fc.DenseFeatures([make()]).fit_transform({"x": np.array([1.0]), "w": np.array([1.0])})


def test_weighted_column_text_weights_raise_naming_float():
    column = fc.weighted_categorical_column(fc.categorical_column_with_identity("x", 3), "w")
    with pytest.raises(ValueError, match=r"'w' needs float values, got dtype <U1"):
        fc.DenseFeatures([fc.indicator_column(column)]).fit_transform({"x": [1], "w": ["a"]})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"normalizer_fn": 3}, TypeError, "normalizer_fn must be a callable, got int 3"),
        ({"dtype": "string"}, ValueError, "dtype must be convertible to float"),
        ({"dtype": "foo"}, ValueError, "dtype must be convertible to float"),
        ({"default_value": "a"}, TypeError, "default_value must be numbers"),
    ],
)
def test_numeric_column_bad_parameter_raises_naming_it(kwargs, error, match):
    with pytest.raises(error, match=match):
        fc.numeric_column("x", **kwargs)


def test_bucketized_column_text_boundaries_raise_naming_them():
    with pytest.raises(ValueError, match=r"boundaries must be a sorted list of numbers"):
        fc.bucketized_column(fc.numeric_column("x"), ["a", "b"])


@FUZZ
@given(st.lists(st.lists(st.integers(0, 4), max_size=3), min_size=1, max_size=4))
def test_sequence_embedding_random_ids_look_up_the_table_or_raise(rows):
    # numba does no bounds checks: an id beyond the table must raise, not read past it.
    column = fc.embedding_column(fc.sequence_categorical_column_with_identity("x", 3), 2)
    layer = fc.SequenceFeatures([column])
    try:
        out, lengths = layer.fit({"x": rows}).transform({"x": rows})
    except ValueError as exc:
        assert max(v for r in rows for v in r) >= 3
        assert "x_embedding: id" in str(exc) and "out of range" in str(exc)
        return
    (table,) = layer.embedding_weights_.values()
    np.testing.assert_array_equal(lengths, [len(r) for r in rows])
    for i, row in enumerate(rows):
        for t, v in enumerate(row):
            np.testing.assert_array_equal(out[i, t], table[v])
