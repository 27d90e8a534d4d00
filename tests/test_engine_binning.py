"""BinMapper: quantile thresholds, the missing bin, sparse input, categorical codes."""

import numpy as np
import pytest
import scipy.sparse as sp

from skextras._engine.binning import BinMapper


def test_bins_few_distinct_values_each_value_own_bin():
    X = np.array([[3.0], [1.0], [2.0], [1.0], [np.nan]])
    bm = BinMapper(max_bin=16).fit(X)
    np.testing.assert_allclose(bm.bin_thresholds_[0], [1.5, 2.5])
    assert bm.n_bins_non_missing_[0] == 3
    assert bm.missing_values_bin_idx_ == 15
    Xb = bm.transform(X)
    assert Xb.dtype == np.uint8 and Xb.flags.f_contiguous
    np.testing.assert_array_equal(Xb[:, 0], [2, 0, 1, 0, 15])


def test_bins_many_values_quantiles_balanced():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20000, 2))
    bm = BinMapper(max_bin=64, random_state=0)
    Xb = bm.fit_transform(X)
    assert bm.n_bins_non_missing_.max() <= 63
    counts = np.bincount(Xb[:, 0], minlength=63)[:63]
    assert counts.min() > 0.5 * counts.mean()
    # a value goes to the first bin whose threshold is >= the value
    t = bm.bin_thresholds_[0]
    np.testing.assert_array_equal(Xb[:, 0], np.searchsorted(t, X[:, 0], side="left"))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_bins_sparse_equal_dense(fmt):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(500, 6))
    X[rng.rand(500, 6) < 0.7] = 0.0
    X[rng.rand(500, 6) < 0.05] = np.nan
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    dense = BinMapper(max_bin=32).fit(X)
    sparse = BinMapper(max_bin=32).fit(Xs)
    for a, b in zip(dense.bin_thresholds_, sparse.bin_thresholds_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dense.transform(X), sparse.transform(Xs))


def test_bins_categorical_codes_own_bins():
    X = np.array([[0.0, 0.1], [4.0, 0.2], [2.0, 0.3], [np.nan, 0.4]])
    bm = BinMapper(max_bin=8, categorical_features=[0]).fit(X)
    assert bm.is_categorical_.tolist() == [True, False]
    np.testing.assert_array_equal(bm.transform(X)[:, 0], [0, 4, 2, 7])


def test_bins_categorical_bad_codes_raise():
    with pytest.raises(ValueError, match="categorical feature 0"):
        BinMapper(max_bin=8, categorical_features=[0]).fit(np.array([[0.5], [1.0]]))
    with pytest.raises(ValueError, match="max_bin"):
        BinMapper(max_bin=300).fit(np.zeros((3, 1)))


def test_unweighted_thresholds_equal_unit_weight_thresholds():
    # Without weights the distinct values come from a sort and run lengths, with weights from
    # np.unique: both must give the same bins, for any thread count.
    rng = np.random.RandomState(5)
    X = np.column_stack(
        [rng.normal(size=30_000), np.round(rng.normal(size=30_000), 1), rng.randint(0, 4, 30_000)]
    ).astype(float)
    X[rng.rand(*X.shape) < 0.1] = np.nan
    X[:, 2][X[:, 2] == 0] = -0.0
    plain = BinMapper(max_bin=64, subsample=20_000, random_state=0, n_threads=2).fit(X)
    weighted = BinMapper(max_bin=64, subsample=20_000, random_state=0, n_threads=1)
    weighted.fit(X, np.ones(X.shape[0]))
    for a, b in zip(plain.bin_thresholds_, weighted.bin_thresholds_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("max_bin", [8, 256])
def test_sparse_fit_thresholds_equal_dense_with_explicit_zeros_nan_and_weights(weighted, max_bin):
    # fitting a CSR matrix reads its stored entries only; the thresholds must be those of the
    # dense matrix (the same distinct values, counts and row-order weight sums)
    rng = np.random.default_rng(3)
    n, p = 700, 7
    X = rng.normal(size=(n, p)).round(1)
    X[rng.random((n, p)) < 0.6] = 0.0
    X[rng.random((n, p)) < 0.05] = np.nan
    X[:, 3] = np.abs(X[:, 3])  # zero is the smallest value
    X[:, 4] = -np.abs(X[:, 4])  # zero is the largest value
    X[:, 5] = 0.0  # an all-zero column
    Xs = sp.csr_matrix(X)
    Xs.data[rng.random(Xs.data.size) < 0.1] = 0.0  # explicit zeros, stored
    X = Xs.toarray()
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    dense = BinMapper(max_bin=max_bin, random_state=0).fit(X, w)
    sparse = BinMapper(max_bin=max_bin, random_state=0).fit(Xs, w)
    for t_dense, t_sparse in zip(dense.bin_thresholds_, sparse.bin_thresholds_, strict=True):
        np.testing.assert_array_equal(t_sparse, t_dense)
    np.testing.assert_array_equal(sparse.transform(Xs), dense.transform(X))
