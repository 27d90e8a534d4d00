"""Quantile binning of features into uint8 codes, with a dedicated bin for missing values."""

from functools import partial

import numpy as np
import scipy.sparse as sp

from ._numba import effective_n_threads, njit, parallel_rows, run_in_threads, threads


@njit
def _prune_summary(rmin, rmax, wmin, max_size):
    """Indices of the entries kept when a weighted quantile summary is pruned to ``max_size``.

    The summary holds one entry per distinct value with its rank bounds: ``rmin`` (weight
    strictly below), ``rmax`` (weight up to and including) and ``wmin`` (its own weight). Entry
    ``k`` of the pruned summary is the one whose rank is closest to ``k / (max_size - 1)`` of
    the range, the rule of XGBoost's weighted quantile sketch (Chen & Guestrin 2016, appendix),
    so our bins coincide with ``tree_method="hist"``'s on data it summarises exactly.
    """
    size = rmin.size
    if size <= max_size:
        return np.arange(size)
    begin = rmax[0]
    span = rmin[size - 1] - rmax[0]
    n = max_size - 1
    keep = np.empty(max_size, dtype=np.int64)
    keep[0] = 0
    n_kept = 1
    i = 1
    last = 0
    for k in range(1, n):
        dx2 = np.float32(2.0) * ((np.float32(k) * span) / np.float32(n) + begin)
        while i < size - 1 and dx2 >= rmax[i + 1] + rmin[i + 1]:
            i += 1
        if i == size - 1:
            break
        pick = i if dx2 < (rmin[i] + wmin[i]) + (rmax[i + 1] - wmin[i + 1]) else i + 1
        if pick != last:
            keep[n_kept] = pick
            n_kept += 1
            last = pick
    if last != size - 1:
        keep[n_kept] = size - 1
        n_kept += 1
    return keep[:n_kept]


# XGBoost first prunes each feature's summary to max_bin * 8 entries, then to max_bin + 1.
_SKETCH_FACTOR = 8


def _distinct(values, weights):
    """Distinct values (ascending) and the summed weight of each (``weights`` None: counts).

    Without weights a plain sort and run lengths do, several times faster than the argsort
    behind ``np.unique(return_inverse=True)``; counts are exact, so both give the same sums.
    """
    if weights is None:
        ordered = np.sort(values)
        first = np.ones(ordered.size, dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        return ordered[starts], np.diff(starts, append=ordered.size).astype(np.float64)
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.bincount(inverse, weights=weights, minlength=distinct.size)


def _find_thresholds(values, weights, max_bin_non_missing):
    """Bin thresholds of one feature from its non-missing sample values and their weights
    (None: all 1).

    With at most ``max_bin_non_missing`` distinct values every value gets its own bin. Otherwise
    the cut values are weighted quantiles chosen as XGBoost's ``hist`` does; XGBoost sends
    ``x < cut`` left, so each threshold is the midpoint between a cut value and the distinct
    value below it, which splits the training values identically.
    """
    return _thresholds_of_distinct(*_distinct(values, weights), max_bin_non_missing)


def _thresholds_of_distinct(distinct, weights, max_bin_non_missing):
    """``_find_thresholds`` from the distinct values (ascending) and the weight of each."""
    if distinct.size <= max_bin_non_missing:
        return (distinct[:-1] + distinct[1:]) * 0.5
    # float32 rank arithmetic, as in XGBoost's summary, so that rank ties round the same way.
    weights = weights.astype(np.float32)
    rmax = np.cumsum(weights, dtype=np.float32)
    rmin = rmax - weights
    keep = np.arange(distinct.size)
    for max_size in (
        min(distinct.size, max_bin_non_missing * _SKETCH_FACTOR),
        max_bin_non_missing + 1,
    ):
        sub = _prune_summary(rmin[keep], rmax[keep], weights[keep], max_size)
        keep = keep[sub]
    cut_idx = keep[1:max_bin_non_missing]
    return (distinct[cut_idx - 1] + distinct[cut_idx]) * 0.5


@njit
def _csc_distinct(indptr, indices, data, weights, n_rows, columns):
    """Distinct non-missing values (ascending) of each of ``columns`` of a CSC matrix (row
    indices sorted) and their summed weights (counts if ``weights`` is empty): the values of
    column ``columns[i]`` are ``distinct[ptr[i]:ptr[i + 1]]``. The rows a column does not store
    hold 0; each value's weights are added in row order, as ``np.bincount`` adds them."""
    weighted = weights.size > 0
    total = 0
    for j in columns:
        total += indptr[j + 1] - indptr[j] + 1
    distinct = np.empty(total)
    sums = np.empty(total)
    ptr = np.zeros(columns.size + 1, dtype=np.int64)
    k = 0
    for i in range(columns.size):
        j = columns[i]
        start, stop = indptr[j], indptr[j + 1]
        values = data[start:stop]
        rows = indices[start:stop]
        present = ~np.isnan(values)
        vals = values[present]
        order = np.argsort(vals, kind="mergesort")
        n_zero = n_rows - (stop - start)
        for v in vals:
            n_zero += v == 0.0
        zero_sum = 0.0
        if n_zero > 0:
            if not weighted:
                zero_sum = float(n_zero)
            else:
                e = 0
                for r in range(n_rows):
                    if e < rows.size and rows[e] == r:
                        if values[e] == 0.0:
                            zero_sum += weights[r]
                        e += 1
                    else:
                        zero_sum += weights[r]
        present_rows = rows[present]
        zero_done = n_zero == 0
        for o in range(order.size):
            v = vals[order[o]]
            if v == 0.0:
                continue
            if not zero_done and v > 0.0:
                distinct[k] = 0.0
                sums[k] = zero_sum
                k += 1
                zero_done = True
            w = weights[present_rows[order[o]]] if weighted else 1.0
            if k > ptr[i] and distinct[k - 1] == v:
                sums[k - 1] += w
            else:
                distinct[k] = v
                sums[k] = w
                k += 1
        if not zero_done:
            distinct[k] = 0.0
            sums[k] = zero_sum
            k += 1
        ptr[i + 1] = k
    return ptr, distinct[:k], sums[:k]


_ROW_CHUNK = 256


@njit
def _search(thresholds, x):
    """Number of thresholds < x (np.searchsorted, side left) in a row padded with +inf to 256.

    Fixed steps without data-dependent branches: binning is bound by mispredicted branches
    of an ordinary binary search.
    """
    b = 0
    step = 128
    while step > 0:
        b += step * (thresholds[b + step - 1] < x)
        step >>= 1
    return b


@njit
def _bin_dense(X, thresholds, missing_bin, out, first, last):
    # Categorical codes need no branch: their thresholds are code + 0.5, so the search puts
    # each code in its own bin and unseen codes in the nearest one, as raw-value prediction does.
    # Row chunks keep a C-ordered X block in cache while its columns are binned one by one.
    p = X.shape[1]
    for start in range(first, last, _ROW_CHUNK):
        stop = min(start + _ROW_CHUNK, last)
        for j in range(p):
            t = thresholds[j]
            for i in range(start, stop):
                x = X[i, j]
                if np.isnan(x):
                    out[i, j] = missing_bin
                else:
                    out[i, j] = _search(t, x)


@njit
def _bin_sparse_column(indptr, indices, data, j, thresholds, missing_bin, out):
    out[:, j] = np.searchsorted(thresholds, 0.0)
    for k in range(indptr[j], indptr[j + 1]):
        x = data[k]
        if np.isnan(x):
            out[indices[k], j] = missing_bin
        else:
            out[indices[k], j] = np.searchsorted(thresholds, x)


@njit
def _bin_csc(indptr, indices, data, thresholds, n_thresholds, missing_bin, out, first, last):
    for j in range(first, last):
        t = thresholds[j, : n_thresholds[j]]
        _bin_sparse_column(indptr, indices, data, j, t, missing_bin, out)


def _canonical_csc(X):
    """X as CSC with sorted row indices and no duplicate entries."""
    X = X.tocsc()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


class BinMapper:
    """Map each feature to at most ``max_bin`` uint8 bins (the last one is for missing values).

    Parameters
    ----------
    max_bin : int, default=256
        Total number of bins, including the missing-value bin; at most 256.
    categorical_features : array-like of int or bool mask, default=None
        Features whose values are integer category codes in ``[0, max_bin - 2]``; each code is
        its own bin.
    subsample : int, default=200_000
        Number of rows used to compute the quantiles (all rows if fewer).
    random_state : int, RandomState or None
        Seeds the row subsample.
    n_threads : int, default=None
        Threads for ``transform`` (see ``_numba.effective_n_threads``).

    Attributes
    ----------
    bin_thresholds_ : list of float64 arrays
        Value ``x`` of feature ``j`` goes to the first bin ``b`` with
        ``x <= bin_thresholds_[j][b]`` (bin ``len(bin_thresholds_[j])`` if none).
    n_bins_non_missing_ : int32 array (p,)
    missing_values_bin_idx_ : int, equal to ``max_bin - 1``
    is_categorical_ : bool array (p,)
    bundles_ : ``bundling.FeatureBundles`` or None
        The feature bundles of the last ``transform(X, bundle=True)`` (None before, or when
        no two features bundle).
    """

    def __init__(
        self,
        max_bin=256,
        categorical_features=None,
        subsample=200_000,
        random_state=None,
        n_threads=None,
    ):
        self.max_bin = max_bin
        self.categorical_features = categorical_features
        self.subsample = subsample
        self.random_state = random_state
        self.n_threads = n_threads

    def _categorical_mask(self, n_features):
        mask = np.zeros(n_features, dtype=bool)
        if self.categorical_features is not None:
            cats = np.asarray(self.categorical_features)
            if cats.dtype == bool:
                if cats.shape != (n_features,):
                    raise ValueError(
                        f"categorical_features mask has shape {cats.shape}, expected "
                        f"({n_features},)"
                    )
                mask = cats.copy()
            else:
                mask[cats.astype(np.intp)] = True
        return mask

    def fit(self, X, sample_weight=None):
        """Compute the bin thresholds of every feature of X (ndarray or scipy.sparse).

        ``sample_weight`` weights the quantiles (as XGBoost's sketch); rows of weight 0 are
        ignored, so that they cannot move bin edges.
        """
        if not 3 <= self.max_bin <= 256:
            raise ValueError(f"max_bin must be in [3, 256], got {self.max_bin!r}")
        n, p = X.shape
        rng = np.random.RandomState(self.random_state)
        rows = np.arange(n) if sample_weight is None else np.flatnonzero(sample_weight > 0)
        if self.subsample is not None and rows.size > self.subsample:
            rows = np.sort(rng.choice(rows, self.subsample, replace=False))
        if rows.size < n:
            X = X[rows]
        weights = None if sample_weight is None else sample_weight[rows]
        if sp.issparse(X):
            X = _canonical_csc(X)
        self.is_categorical_ = self._categorical_mask(p)
        self.bundles_ = None
        self.missing_values_bin_idx_ = self.max_bin - 1
        self.bin_thresholds_ = [None] * p
        # Sorting dominates and numpy's sort releases the GIL: features go to threads.
        n_threads = min(effective_n_threads(self.n_threads), p)
        run_in_threads(
            [
                partial(self._fit_features, X, weights, features)
                for features in np.array_split(np.arange(p), max(n_threads, 1))
            ]
        )
        self.n_bins_non_missing_ = np.array(
            [t.size + 1 for t in self.bin_thresholds_], dtype=np.int32
        )
        return self

    def _fit_features(self, X, weights, features):
        if sp.issparse(X):
            self._fit_sparse_features(X, weights, features)
            return
        for j in features:
            col = X[:, j]
            present = ~np.isnan(col)
            col = col[present]
            if self.is_categorical_[j]:
                self.bin_thresholds_[j] = self._categorical_thresholds(col, j)
            else:
                w = None if weights is None else weights[present]
                self.bin_thresholds_[j] = _find_thresholds(col, w, self.max_bin - 1)

    def _fit_sparse_features(self, X, weights, features):
        """``_fit_features`` of CSC columns from their stored entries (see ``_csc_distinct``):
        the thresholds are those of the dense columns, without reading their ``n`` values."""
        numeric = features[~self.is_categorical_[features]]
        ptr, distinct, sums = _csc_distinct(
            X.indptr.astype(np.int64),
            X.indices,
            X.data.astype(np.float64, copy=False),
            np.empty(0) if weights is None else np.asarray(weights, dtype=np.float64),
            X.shape[0],
            numeric.astype(np.int64),
        )
        max_bin = self.max_bin - 1
        for i, j in enumerate(numeric.tolist()):
            d = distinct[ptr[i] : ptr[i + 1]]
            if d.size <= max_bin:
                self.bin_thresholds_[j] = (d[:-1] + d[1:]) * 0.5
            else:
                w = sums[ptr[i] : ptr[i + 1]]
                self.bin_thresholds_[j] = _thresholds_of_distinct(d, w, max_bin)
        for j in features[self.is_categorical_[features]].tolist():
            col = X[:, [j]].toarray().ravel()
            self.bin_thresholds_[j] = self._categorical_thresholds(col[~np.isnan(col)], j)

    def _categorical_thresholds(self, col, j):
        codes = col.astype(np.int64)
        if col.size and (np.any(codes != col) or codes.min() < 0 or codes.max() > self.max_bin - 2):
            raise ValueError(
                f"categorical feature {j} must hold integer codes in [0, {self.max_bin - 2}] "
                f"(max_bin - 2); got values in [{col.min()}, {col.max()}]"
            )
        n_codes = int(codes.max()) + 1 if col.size else 1
        return np.arange(n_codes - 1, dtype=np.float64) + 0.5

    def _padded_thresholds(self):
        p = len(self.bin_thresholds_)
        n_thresholds = self.n_bins_non_missing_ - 1
        # 256 columns: room for every threshold plus the +inf sentinels that ``_search`` reads.
        padded = np.full((p, 256), np.inf)
        for j, t in enumerate(self.bin_thresholds_):
            padded[j, : t.size] = t
        return padded, n_thresholds

    def transform(self, X, bundle=False):
        """Bin X into a Fortran-ordered uint8 array of shape (n, p).

        With ``bundle=True``, sparse features that are never outside their zero bin in the
        same row are stored together (``bundling``): the array has one column per bundle or
        remaining feature, ``bundles_`` says how they are encoded (None, and one column per
        feature, when no two features bundle). Sparse ``X`` is then binned from its stored
        entries alone.
        """
        if bundle:
            from .bundling import bin_bundled

            out, self.bundles_ = bin_bundled(self, X)
            return out
        n, p = X.shape
        if p != len(self.bin_thresholds_):
            raise ValueError(
                f"X has {p} features, the BinMapper was fit on {len(self.bin_thresholds_)}"
            )
        thresholds, n_thresholds = self._padded_thresholds()
        out = np.empty((n, p), dtype=np.uint8, order="F")
        missing = np.uint8(self.missing_values_bin_idx_)
        with threads(self.n_threads):
            if sp.issparse(X):
                X = X.tocsc()
                parallel_rows(
                    _bin_csc,
                    p,
                    X.indptr,
                    X.indices,
                    X.data.astype(np.float64, copy=False),
                    thresholds,
                    n_thresholds,
                    missing,
                    out,
                    min_rows=1,
                )
            else:
                X = np.asarray(X, dtype=np.float64)
                parallel_rows(_bin_dense, n, X, thresholds, missing, out)
        return out

    def fit_transform(self, X, sample_weight=None, bundle=False):
        """``fit(X, sample_weight)`` then ``transform(X, bundle)``."""
        return self.fit(X, sample_weight).transform(X, bundle)
