"""Exclusive feature bundling (LightGBM's EFB) of sparse binned features, exact.

Wide one-hot or hashed data (thousands of columns, a few nonzeros per row) cost a histogram
cell per (row, feature) when every feature is its own binned column. Here sparse features
that are never outside their zero bin in the same row are stored together in one uint8
column, a *bundle*, so that histograms are built over rows x bundles:

* A feature's *zero bin* ``z`` is the bin of the value 0. A feature is *sparse* when at most
  ``SPARSE_FRACTION`` of the rows are outside it. Its *slots* are its other non-missing bins in
  ascending order, then the missing-value bin when the data has missing values in it.
* Sparse features are bundled greedily, most nonzeros first (LightGBM's order), each into the
  first bundle whose rows it does not touch (**no conflicts**: every row holds at most one
  feature of a bundle outside its zero bin) and whose values still fit in a uint8. A bundle
  column holds 0 where all its features are at their zero bins, else ``offset[f] + slot`` of
  the one feature that is not. A feature that finds no partner stays a *raw* column: its own
  bins, unchanged, the missing bin last, as ``BinMapper.transform`` gives them.
* Histograms of the columns are built by ``histogram.build_in_tasks`` as before, then
  *expanded* into the per-feature histograms that the split search, the subtraction of
  siblings and the growers read: a raw column's bins are copied; a bundled feature's slots are
  copied from its bundle's values and its zero bin is the bundle's total minus its slots. The
  expanded histograms hold only ``max(n_bins_non_missing) + 1`` bins per feature, the missing
  bin last (``n_hist_bins``): one-hot features use 3 bins, not 256.
* A node splits by reading the feature's column through a 256-entry table of the values that
  go left (``partition_bundled``), the same ``partition.partition`` kernel as before.

Invariants: bundles are conflict-free on the rows they were found on, so decoding a bundle
value gives every feature's bin exactly; raw columns and their histograms are bit-identical to
the unbundled ones. Only the zero bins of bundled features are sums in a different order
(total minus the other bins, where the unbundled histogram adds the rows one by one), so
their sums may differ in the last bits; the trees' features and thresholds are the same
(``tests/test_engine_bundling.py`` compares them on sparse data, missing values, weights and
row masks) and leaf values agree to rounding. Dense data (no feature with half its rows in
its zero bin, or no two such features exclusive) gets no bundle and takes the unbundled path.
"""

import numpy as np
import scipy.sparse as sp
from numba import prange

from ._numba import njit
from .histogram import build_in_tasks
from .partition import partition

# A feature may join a bundle when at most this fraction of its rows is outside its zero bin.
SPARSE_FRACTION = 0.5
# Values of a bundle column: 0 and the slots of its features.
MAX_BUNDLE_VALUES = 256
# Bundles a feature tries before it opens a new one (LightGBM's max_search_group).
MAX_SEARCH = 100


class FeatureBundles:
    """Which binned column holds each feature, and how its bins are encoded there.

    Attributes
    ----------
    n_features, n_columns : int
    column : int64 (p,)
        The column holding feature f.
    offset : int64 (p,)
        Bundle value of feature f's first slot (>= 1), or -1 for a raw column.
    zero_bin : int64 (p,)
        Bin of the value 0 of feature f.
    has_missing : bool (p,)
        Whether feature f's slots include the missing bin.
    n_used : int64 (p,)
        ``BinMapper.n_bins_non_missing_``.
    column_n_used : int64 (m,)
        Bins of column c that a histogram reads besides the missing bin (raw: the feature's
        ``n_used``; bundle: its number of values).
    decode_feature : int32 (m, 256)
        Feature encoded by value v of bundle column c (-1: none, or a raw column).
    decode_bin : uint8 (m, 256)
        The bin of that feature.
    missing_bin : int
        ``BinMapper.missing_values_bin_idx_``; raw columns hold ``raw_missing`` for it.
    column_bins : int
        Bins of the columns' histograms: ``max(column_n_used) + 1``, at most 256.
    raw_missing : int
        ``column_bins - 1``, the missing values' bin in raw columns and their histograms.
    n_hist_bins : int
        Bins per feature of the expanded histograms, the missing bin last.
    """

    def __init__(self, column, offset, zero_bin, has_missing, n_used, missing_bin):
        self.column = column
        self.offset = offset
        self.zero_bin = zero_bin
        self.has_missing = has_missing
        self.n_used = n_used
        self.missing_bin = int(missing_bin)
        self.n_features = column.size
        self.n_columns = int(column.max()) + 1 if column.size else 0
        m = self.n_columns
        self.column_n_used = np.zeros(m, dtype=np.int64)
        self.decode_feature = np.full((m, MAX_BUNDLE_VALUES), -1, dtype=np.int32)
        self.decode_bin = np.zeros((m, MAX_BUNDLE_VALUES), dtype=np.uint8)
        for f in range(self.n_features):
            c = column[f]
            if offset[f] < 0:
                self.column_n_used[c] = n_used[f]
                continue
            bins = _slot_bins(n_used[f], zero_bin[f], has_missing[f], missing_bin)
            values = offset[f] + np.arange(bins.size)
            self.decode_feature[c, values] = f
            self.decode_bin[c, values] = bins
            self.column_n_used[c] = max(self.column_n_used[c], values[-1] + 1 if bins.size else 1)
        self.n_hist_bins = int(n_used.max()) + 1 if n_used.size else 2
        # small column histograms: one-hot bundles use a few values, not 256
        self.column_bins = min(MAX_BUNDLE_VALUES, int(self.column_n_used.max(initial=1)) + 1)
        self.raw_missing = self.column_bins - 1

    def tables(self):
        """The arrays the numba kernels read, as one tuple."""
        return (self.column, self.offset, self.zero_bin, self.has_missing, self.n_used,
                self.column_n_used, self.decode_feature, self.decode_bin,
                np.int64(self.raw_missing))  # fmt: skip

    def columns_of(self, features):
        """Sorted int32 columns holding ``features``, and whether they are all columns (kept
        for the next tree: the same features every tree unless columns are sampled)."""
        features = np.asarray(features, dtype=np.int64)
        cache = self.__dict__.setdefault("_columns", {})
        key = features.tobytes()
        if key not in cache:
            columns = np.unique(self.column[features]).astype(np.int32)
            cache.clear()
            cache[key] = (columns, columns.size == self.n_columns)
        return cache[key]

    def n_bundled(self):
        """Number of features stored in bundles (not in raw columns)."""
        return int(np.count_nonzero(self.offset >= 0))


def _slot_bins(n_used, zero_bin, has_missing, missing_bin):
    """The bins of one feature's slots, in slot order."""
    bins = [b for b in range(n_used) if b != zero_bin]
    if has_missing:
        bins.append(missing_bin)
    return np.array(bins, dtype=np.int64)


def is_bundled(X_binned, bin_mapper):
    """Whether ``X_binned`` holds ``bin_mapper``'s bundled columns (not one per feature)."""
    bundles = getattr(bin_mapper, "bundles_", None)
    return bundles is not None and X_binned.shape[1] == bundles.n_columns


# -- finding the bundles ----------------------------------------------------------------------
@njit
def _bin_entries(indptr, indices, data, thresholds, n_thresholds, missing_bin, zero_bin, n_rows):
    """Bins of the stored entries of a CSC matrix, only those outside their feature's zero bin:
    ``(indptr, rows, bins)`` per feature, rows ascending."""
    p = indptr.size - 1
    keep_ptr = np.zeros(p + 1, dtype=np.int64)
    rows = np.empty(indices.size, dtype=np.int32)
    bins = np.empty(indices.size, dtype=np.uint8)
    k = 0
    for j in range(p):
        t = thresholds[j, : n_thresholds[j]]
        for e in range(indptr[j], indptr[j + 1]):
            x = data[e]
            b = missing_bin if np.isnan(x) else np.searchsorted(t, x)
            if b != zero_bin[j]:
                rows[k] = indices[e]
                bins[k] = b
                k += 1
        keep_ptr[j + 1] = k
    return keep_ptr, rows[:k], bins[:k]


@njit
def _dense_entries(X_binned, zero_bin, max_nonzero):
    """``_bin_entries`` of a binned (n, p) matrix, for the features with at most
    ``max_nonzero`` rows outside their zero bin (none for the others); returns also the
    nonzero count of every feature."""
    n, p = X_binned.shape
    counts = np.zeros(p, dtype=np.int64)
    for j in range(p):
        z = zero_bin[j]
        c = 0
        for i in range(n):
            c += X_binned[i, j] != z
        counts[j] = c
    keep_ptr = np.zeros(p + 1, dtype=np.int64)
    for j in range(p):
        keep_ptr[j + 1] = keep_ptr[j] + (counts[j] if counts[j] <= max_nonzero else 0)
    rows = np.empty(keep_ptr[p], dtype=np.int32)
    bins = np.empty(keep_ptr[p], dtype=np.uint8)
    for j in range(p):
        if counts[j] > max_nonzero:
            continue
        z = zero_bin[j]
        k = keep_ptr[j]
        for i in range(n):
            b = X_binned[i, j]
            if b != z:
                rows[k] = i
                bins[k] = b
                k += 1
    return keep_ptr, rows, bins, counts


@njit
def _greedy_bundles(keep_ptr, rows, order, n_slots, n_rows, max_values, max_search):
    """Bundle of each feature of ``order`` (most nonzeros first), -1 for the others: the first
    of the last ``max_search`` bundles that holds none of its rows and has room for its
    ``n_slots`` values, else a new one."""
    bundle_of = np.full(keep_ptr.size - 1, -1, dtype=np.int64)
    capacity = 8
    marks = np.zeros((capacity, n_rows), dtype=np.bool_)
    size = np.zeros(capacity, dtype=np.int64)
    n_bundles = 0
    for f in order:
        chosen = -1
        for b in range(max(0, n_bundles - max_search), n_bundles):
            if size[b] + n_slots[f] > max_values:
                continue
            free = True
            for k in range(keep_ptr[f], keep_ptr[f + 1]):
                if marks[b, rows[k]]:
                    free = False
                    break
            if free:
                chosen = b
                break
        if chosen < 0:
            if n_bundles == capacity:
                grown = np.zeros((2 * capacity, n_rows), dtype=np.bool_)
                grown[:capacity] = marks
                grown_size = np.zeros(2 * capacity, dtype=np.int64)
                grown_size[:capacity] = size
                marks, size, capacity = grown, grown_size, 2 * capacity
            chosen = n_bundles
            size[chosen] = 1
            n_bundles += 1
        bundle_of[f] = chosen
        size[chosen] += n_slots[f]
        for k in range(keep_ptr[f], keep_ptr[f + 1]):
            marks[chosen, rows[k]] = True
    return bundle_of


@njit
def _encode(
    keep_ptr, rows, bins, X_binned, column, offset, zero_bin, n_used, missing_bin, raw_missing, out
):
    """Write every feature into its column of ``out`` (n, m): raw columns from ``X_binned``
    (n, p) if it has rows, else from the feature's zero bin and entries, their missing bin
    as ``raw_missing``; bundled features
    as ``offset + slot`` over the zeros of their column. Returns the number of conflicts
    (rows where two features of a bundle are outside their zero bins; 0 on the data the
    bundles were found on)."""
    n = out.shape[0]
    p = column.size
    dense = X_binned.shape[0] > 0
    conflicts = 0
    for f in range(p):
        c = column[f]
        if offset[f] >= 0:
            continue
        if dense:
            for i in range(n):
                b = X_binned[i, f]
                out[i, c] = raw_missing if b == missing_bin else b
        else:
            z = np.uint8(zero_bin[f])
            for i in range(n):
                out[i, c] = z
            for k in range(keep_ptr[f], keep_ptr[f + 1]):
                out[rows[k], c] = raw_missing if bins[k] == missing_bin else bins[k]
    bundled = np.zeros(out.shape[1], dtype=np.bool_)
    for f in range(p):
        if offset[f] >= 0:
            bundled[column[f]] = True
    for c in range(out.shape[1]):
        if bundled[c]:
            out[:, c] = 0
    for f in range(p):
        if offset[f] < 0:
            continue
        c = column[f]
        z = zero_bin[f]
        for k in range(keep_ptr[f], keep_ptr[f + 1]):
            b = np.int64(bins[k])
            slot = n_used[f] - 1 if b == missing_bin else b - (b > z)
            r = rows[k]
            conflicts += out[r, c] != 0
            out[r, c] = offset[f] + slot
    return conflicts


def bin_bundled(bin_mapper, X):
    """Bin ``X`` (ndarray or scipy.sparse) with a fitted ``bin_mapper`` and bundle its sparse
    features (see the module docstring); returns ``(X_binned, bundles)``: a Fortran uint8
    array (n, m) of the columns and their ``FeatureBundles``, or the per-feature bins
    (``bin_mapper.transform(X)``) and None when no two features bundle. A CSR or CSC ``X`` is
    binned from its stored entries: nothing of size (n, p) is made."""
    n, p = X.shape
    thresholds, n_thresholds = bin_mapper._padded_thresholds()
    missing_bin = int(bin_mapper.missing_values_bin_idx_)
    n_used = np.asarray(bin_mapper.n_bins_non_missing_, dtype=np.int64)
    zero_bin = np.array(
        [np.searchsorted(t, 0.0) for t in bin_mapper.bin_thresholds_], dtype=np.int64
    )
    max_nonzero = int(SPARSE_FRACTION * n)
    if sp.issparse(X):
        from .binning import _canonical_csc

        X = _canonical_csc(X)
        data = X.data.astype(np.float64, copy=False)
        keep_ptr, rows, bins = _bin_entries(
            X.indptr.astype(np.int64), X.indices, data, thresholds, n_thresholds,
            missing_bin, zero_bin, n,
        )  # fmt: skip
        counts = np.diff(keep_ptr)
        X_dense = np.empty((0, p), dtype=np.uint8)
    else:
        X_dense = bin_mapper.transform(X)
        keep_ptr, rows, bins, counts = _dense_entries(X_dense, zero_bin, max_nonzero)
    has_missing = np.zeros(p, dtype=bool)
    if bins.size:
        feature_of_entry = np.repeat(np.arange(p), np.diff(keep_ptr))
        has_missing[feature_of_entry[bins == missing_bin]] = True
    n_slots = n_used - 1 + has_missing
    sparse = (counts <= max_nonzero) & ~bin_mapper.is_categorical_
    order = np.flatnonzero(sparse)
    order = order[np.argsort(-counts[order], kind="stable")]
    bundle_of = _greedy_bundles(keep_ptr, rows, order, n_slots, n, MAX_BUNDLE_VALUES, MAX_SEARCH)
    sizes = np.bincount(bundle_of[bundle_of >= 0], minlength=1)
    bundle_of[(bundle_of >= 0) & (sizes[np.maximum(bundle_of, 0)] < 2)] = -1
    if not np.any(bundle_of >= 0):
        if X_dense.shape[0] == n:
            return X_dense, None
        return bin_mapper.transform(X), None
    column = np.empty(p, dtype=np.int64)
    offset = np.full(p, -1, dtype=np.int64)
    column_of_bundle = {}
    next_value = {}
    m = 0
    for f in range(p):
        b = int(bundle_of[f])
        if b < 0:
            column[f] = m
            m += 1
            continue
        if b not in column_of_bundle:
            column_of_bundle[b] = m
            next_value[b] = 1
            m += 1
        column[f] = column_of_bundle[b]
        offset[f] = next_value[b]
        next_value[b] += int(n_slots[f])
    bundles = FeatureBundles(column, offset, zero_bin, has_missing, n_used, missing_bin)
    out = np.empty((n, m), dtype=np.uint8, order="F")
    conflicts = _encode(keep_ptr, rows, bins, X_dense, column, offset, zero_bin, n_used,
                        missing_bin, bundles.raw_missing, out)  # fmt: skip
    if conflicts:  # pragma: no cover - the bundles were found on these rows
        raise RuntimeError(f"feature bundles conflict in {conflicts} rows")
    return out, bundles


# -- histograms ------------------------------------------------------------------------------
@njit
def expand_histograms(col_hists, col_slots, hists, slots, features, tables):
    """Per-feature histograms ``hists[slots[j]]`` of ``features`` from the column histograms
    ``col_hists[col_slots[j]]`` (256 bins, raw missing bin last): raw columns copied, bundled
    features' slots copied and their zero bins the bundle total minus their slots; the missing
    bin of ``hists`` is its last."""
    column, offset, zero_bin, has_missing, n_used, col_n_used, _, _, _ = tables
    n_stats = hists.shape[3]
    miss = hists.shape[2] - 1
    raw_miss = col_hists.shape[2] - 1
    totals = np.zeros((col_hists.shape[1], n_stats))
    done = np.zeros(col_hists.shape[1], dtype=np.bool_)
    own = np.zeros(n_stats)
    for j in range(slots.size):
        ch = col_hists[col_slots[j]]
        out = hists[slots[j]]
        done[:] = False
        for fi in range(features.size):
            f = features[fi]
            c = column[f]
            o = offset[f]
            nu = n_used[f]
            if o < 0:
                for b in range(nu):
                    for s in range(n_stats):
                        out[f, b, s] = ch[c, b, s]
                for s in range(n_stats):
                    out[f, miss, s] = ch[c, raw_miss, s]
                continue
            if not done[c]:
                for s in range(n_stats):
                    totals[c, s] = 0.0
                for v in range(col_n_used[c]):
                    for s in range(n_stats):
                        totals[c, s] += ch[c, v, s]
                done[c] = True
            z = zero_bin[f]
            own[:] = 0.0
            for k in range(nu - 1):
                b = k + (k >= z)
                for s in range(n_stats):
                    x = ch[c, o + k, s]
                    out[f, b, s] = x
                    own[s] += x
            for s in range(n_stats):
                x = ch[c, o + nu - 1, s] if has_missing[f] else 0.0
                out[f, miss, s] = x
                own[s] += x
            for s in range(n_stats):
                out[f, z, s] = totals[c, s] - own[s]


@njit
def build_nodes(
    X_rows, rows, identity, g, h, features, all_features, n_used, hists, scratch, starts, stops,
    slots, chunk_sums, n_threads, threaded, chunk_rows, min_cells, bundles,
):  # fmt: skip
    """``histogram.build_in_tasks`` of per-feature histograms: directly when ``bundles`` is
    None, else from the bundled columns ``X_rows`` (n, m): ``bundles = (tables, columns,
    all_columns)`` (``FeatureBundles.tables``, the columns of ``features``) builds the
    columns' histograms (``scratch`` sized for them) and expands them into ``hists``."""
    if bundles is None:
        build_in_tasks(X_rows, rows, identity, g, h, features, all_features, n_used, hists,
                       scratch, starts, stops, slots, chunk_sums, n_threads, threaded,
                       chunk_rows, min_cells)  # fmt: skip
        return
    tables, columns, all_columns = bundles
    col_n_used = tables[5]
    col_bins = tables[8] + 1
    col_hists = np.empty((slots.size, X_rows.shape[1], col_bins, hists.shape[3]))
    col_slots = np.arange(slots.size)
    build_in_tasks(X_rows, rows, identity, g, h, columns, all_columns, col_n_used, col_hists,
                   scratch, starts, stops, col_slots, chunk_sums, n_threads, threaded,
                   chunk_rows, min_cells)  # fmt: skip
    expand_histograms(col_hists, col_slots, hists, slots, features, tables)


# -- partition -------------------------------------------------------------------------------
@njit
def _left_table(goes_left, f, b, missing_left, tables):
    """``goes_left[v]``: whether a row whose column value is v goes left at the split of
    feature f at bin b."""
    column, offset, zero_bin, has_missing, n_used, _, _, _, missing_bin = tables
    o = offset[f]
    if o < 0:
        goes_left[:] = 0
        goes_left[: b + 1] = 1
        goes_left[missing_bin] = missing_left
        return
    z = zero_bin[f]
    goes_left[:] = np.uint8(1 if z <= b else 0)
    nu = n_used[f]
    for k in range(nu - 1):
        goes_left[o + k] = np.uint8(1 if k + (k >= z) <= b else 0)
    if has_missing[f]:
        goes_left[o + nu - 1] = np.uint8(1 if missing_left else 0)


@njit
def partition_bundled(
    X, rows, starts, stops, features, bins, missing_left, tables, buffer, n_left, first, last
):
    """``partition.partition_nodes`` on the bundled columns ``X`` (n, m), Fortran order."""
    goes_left = np.zeros(MAX_BUNDLE_VALUES, dtype=np.uint8)
    column = tables[0]
    for j in range(first, last):
        f = features[j]
        _left_table(goes_left, f, bins[j], missing_left[j], tables)
        n_left[j] = partition(rows, starts[j], stops[j], X[:, column[f]], goes_left, buffer)


@njit(parallel=True)
def partition_bundled_parallel(
    bounds, X, rows, starts, stops, features, bins, missing_left, tables, buffer, n_left
):
    """``partition_bundled`` over the ranges of ``bounds``, one a thread (``run_ranges``).

    A parfor cannot take a tuple of arrays as an argument, so ``tables`` is unpacked before the
    loop and packed again inside it.
    """
    t0, t1, t2, t3, t4, t5, t6, t7, t8 = tables
    for t in prange(bounds.size - 1):
        partition_bundled(
            X, rows, starts, stops, features, bins, missing_left,
            (t0, t1, t2, t3, t4, t5, t6, t7, t8), buffer, n_left, bounds[t], bounds[t + 1],
        )  # fmt: skip


# -- prediction on the training data ---------------------------------------------------------
@njit
def _apply(X, feature, bin_threshold, missing_go_left, left, right, tables, out):
    goes_left = np.zeros(MAX_BUNDLE_VALUES, dtype=np.uint8)
    n_nodes = feature.size
    tabled = np.zeros((n_nodes, MAX_BUNDLE_VALUES), dtype=np.uint8)
    for node in range(n_nodes):
        if left[node] >= 0:
            _left_table(goes_left, feature[node], bin_threshold[node], missing_go_left[node],
                        tables)  # fmt: skip
            tabled[node] = goes_left
    column = tables[0]
    for i in range(X.shape[0]):
        node = 0
        while left[node] >= 0:
            v = X[i, column[feature[node]]]
            node = left[node] if tabled[node, v] else right[node]
        out[i] = node


def apply_binned(tree, X_binned, bin_mapper, n_threads=None):
    """Leaf id of every row of ``X_binned`` (per-feature bins or ``bin_mapper``'s bundled
    columns), int32 (n,)."""
    if not is_bundled(X_binned, bin_mapper):
        return tree.apply_binned(X_binned, n_threads)
    out = np.empty(X_binned.shape[0], dtype=np.int32)
    _apply(
        X_binned, tree.feature, tree.bin_threshold, tree.missing_go_left, tree.left,
        tree.right, bin_mapper.bundles_.tables(), out,
    )  # fmt: skip
    return out


def predict_binned(tree, X_binned, bin_mapper, n_threads=None):
    """``tree.predict_binned`` on per-feature bins or ``bin_mapper``'s bundled columns."""
    if not is_bundled(X_binned, bin_mapper):
        return tree.predict_binned(X_binned, n_threads)
    return tree.value[apply_binned(tree, X_binned, bin_mapper, n_threads)]
