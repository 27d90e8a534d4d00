"""Per-node gradient / hessian / count histograms.

A node's histogram is a float64 array of shape (n_features, n_bins, n_stats): for each feature
and bin, the K gradient sums, the hessian sum and the row count, n_stats = K + 2 columns; with
one output the grower pads them to 4 (``HIST_WIDTH``), which lets a row update a bin with one
vector addition instead of three scalar ones (1.5 times faster at 13 features). A single-output
tree that needs no per-bin counts (see ``grower``) uses ``PAIR_WIDTH`` = 2 columns, gradient
and hessian: half the memory per histogram, 1.2-1.5 times faster to build again.
Rows with hessian 0 are not counted: they are the inert rows of a bootstrap (weight 0), as
scikit-learn's trees ignore them.
Only the features listed in ``features`` are written, and of feature f only its first
``n_bins_non_missing[f]`` bins and the missing-value bin (the last): the others are never read
by the split finder, and skipping them matters for deep trees, whose nodes have few rows.
The larger child of a split gets its histogram as parent minus the smaller child's, which
halves the work per level.

Histograms are built row by row from a row-major (C-ordered) copy of the binned matrix: a row's
bins share a cache line and its gradients and hessian are read once for all features, where a
column-by-column pass reads a line per feature and row. Each bin still adds its rows in row
order, so the sums are the same to the last bit however the work is split across threads.
"""

from functools import partial

import numba
import numpy as np
from numba import prange

from . import _numba
from ._numba import (
    PREFETCH_ROWS,
    add_float2,
    add_float4,
    balanced_groups,
    cumulative_sizes,
    njit,
    prefetch,
    run_in_threads,
)

# Columns of a single-output histogram: gradient, hessian, count and a padding lane.
HIST_WIDTH = 4
# Columns of a single-output histogram without counts: gradient and hessian.
PAIR_WIDTH = 2


@njit
def _zero_bins(hist, features, n_used, f_first, f_last):
    """Zero the bins of ``hist`` (one slot) that a build writes."""
    missing_bin = hist.shape[1] - 1
    for fi in range(f_first, f_last):
        f = features[fi]
        hf = hist[f]
        hf[: n_used[f]] = 0.0
        hf[missing_bin] = 0.0


@njit
def _prefetch_row(x, p, g, h, r):
    prefetch(x, r * np.uint64(p))
    prefetch(g, r * np.uint64(g.shape[1]))
    prefetch(h, r)


@njit
def _add_row_wide(x, row, f_first, f_last, flat, base, stride, gi, hi, ci):
    """One row's (gi, hi, ci) into bins of features ``f_first..f_last``, padded histograms."""
    for f in range(np.uint64(f_first), np.uint64(f_last)):
        o = base + f * stride + np.uint64(x[row + f]) * np.uint64(HIST_WIDTH)
        add_float4(flat, o, gi, hi, ci, 0.0)


@njit
def _add_row_wide_listed(x, row, features, f_first, f_last, flat, base, stride, gi, hi, ci):
    """``_add_row_wide`` for features ``features[f_first:f_last]``."""
    for fi in range(np.uint64(f_first), np.uint64(f_last)):
        f = np.uint64(features[fi])
        o = base + f * stride + np.uint64(x[row + f]) * np.uint64(HIST_WIDTH)
        add_float4(flat, o, gi, hi, ci, 0.0)


@njit
def _add_row_pair(x, row, f_first, f_last, flat, base, stride, gi, hi):
    """``_add_row_wide`` for histograms of ``PAIR_WIDTH`` columns (no counts)."""
    for f in range(np.uint64(f_first), np.uint64(f_last)):
        o = base + f * stride + np.uint64(x[row + f]) * np.uint64(PAIR_WIDTH)
        add_float2(flat, o, gi, hi)


@njit
def _add_row_pair_listed(x, row, features, f_first, f_last, flat, base, stride, gi, hi):
    """``_add_row_pair`` for features ``features[f_first:f_last]``."""
    for fi in range(np.uint64(f_first), np.uint64(f_last)):
        f = np.uint64(features[fi])
        o = base + f * stride + np.uint64(x[row + f]) * np.uint64(PAIR_WIDTH)
        add_float2(flat, o, gi, hi)


@njit
def _add_row_narrow(x, row, features, f_first, f_last, flat, base, stride, gi, hi, ci):
    """``_add_row_wide_listed`` for unpadded histograms (3 floats per bin)."""
    one = np.uint64(1)
    for fi in range(np.uint64(f_first), np.uint64(f_last)):
        f = np.uint64(features[fi])
        o = base + f * stride + np.uint64(x[row + f]) * np.uint64(3)
        flat[o] += gi
        flat[o + one] += hi
        flat[o + one + one] += ci


@njit
def _add_rows_single(
    x,
    p,
    rows,
    start,
    stop,
    identity,
    g,
    h,
    features,
    flat,
    base,
    stride,
    n_stats,
    f_first,
    f_last,
    all_features,
    sums,
):
    """One output (``g`` (n, 1)): add rows ``rows[start:stop]`` (``start..stop`` if
    ``identity``) to the histogram at ``flat[base:]`` (``stride`` floats per feature,
    ``n_stats`` per bin: 3, ``HIST_WIDTH`` with a padding lane, or ``PAIR_WIDTH`` without
    counts),
    features ``features[f_first:f_last]`` (``f_first..f_last`` if ``all_features``); if
    ``sums`` is not empty, write the rows' (gradient, hessian, count) sums there.

    Indices are unsigned so that numba emits no negative-index wrap-around per cell, and the
    feature list is not read per cell when it is ``0..p-1``: both cost as much as the sums.
    """
    wide = n_stats == HIST_WIDTH
    pair = n_stats == PAIR_WIDTH
    with_sums = sums.size > 0
    sum_g = 0.0
    sum_h = 0.0
    count = 0.0
    for i in range(start, stop):
        if not identity and i + PREFETCH_ROWS < stop:
            _prefetch_row(x, p, g, h, np.uint64(rows[i + PREFETCH_ROWS]))
        r = np.uint64(i) if identity else np.uint64(rows[i])
        gi = g[r, 0]
        hi = h[r]
        ci = 1.0 if hi != 0.0 else 0.0
        if with_sums:
            sum_g += gi
            sum_h += hi
            count += ci
        # One branch per row, none per cell: each loop below is a straight run of additions.
        row = r * np.uint64(p)
        if pair and all_features:
            _add_row_pair(x, row, f_first, f_last, flat, base, stride, gi, hi)
        elif pair:
            _add_row_pair_listed(x, row, features, f_first, f_last, flat, base, stride, gi, hi)
        elif wide and all_features:
            _add_row_wide(x, row, f_first, f_last, flat, base, stride, gi, hi, ci)
        elif wide:
            _add_row_wide_listed(x, row, features, f_first, f_last, flat, base, stride, gi, hi, ci)
        else:
            _add_row_narrow(x, row, features, f_first, f_last, flat, base, stride, gi, hi, ci)
    if with_sums:
        sums[0] = sum_g
        sums[1] = sum_h
        sums[2] = count


# With more features than this, a node's rows are added one feature at a time: a feature's
# histograms lie a power of two apart (n_bins * HIST_WIDTH floats), so adding one row to
# every feature touches as many cache lines mapping to the same cache sets, which evict each
# other once there are more of them than the cache's ways (agaricus, 126 features: 2x slower).
WIDE_FEATURES = 32


@njit
def _add_rows_single_by_feature(
    x,
    p,
    rows,
    start,
    stop,
    identity,
    g,
    h,
    features,
    flat,
    base,
    stride,
    n_stats,
    f_first,
    f_last,
    all_features,
    sums,
):
    """``_add_rows_single`` feature after feature: the same additions in the same row order
    per histogram cell, so the sums are bit-identical."""
    one = np.uint64(1)
    counted = n_stats != PAIR_WIDTH
    pp = np.uint64(p)
    for fi in range(np.uint64(f_first), np.uint64(f_last)):
        f = fi if all_features else np.uint64(features[fi])
        feature_base = base + f * stride
        for i in range(start, stop):
            r = np.uint64(i) if identity else np.uint64(rows[i])
            hi = h[r]
            o = feature_base + np.uint64(x[r * pp + f]) * n_stats
            flat[o] += g[r, 0]
            flat[o + one] += hi
            if counted:
                flat[o + one + one] += 1.0 if hi != 0.0 else 0.0
    if sums.size > 0:
        sum_g = 0.0
        sum_h = 0.0
        count = 0.0
        for i in range(start, stop):
            r = np.uint64(i) if identity else np.uint64(rows[i])
            sum_g += g[r, 0]
            sum_h += h[r]
            count += 1.0 if h[r] != 0.0 else 0.0
        sums[0] = sum_g
        sums[1] = sum_h
        sums[2] = count


@njit
def _add_rows_multi(
    x,
    p,
    rows,
    start,
    stop,
    identity,
    g,
    h,
    features,
    flat,
    base,
    stride,
    f_first,
    f_last,
    all_features,
    sums,
):
    """``_add_rows_single`` for K outputs (``g`` (n, K))."""
    n_outputs = g.shape[1]
    n_stats = np.uint64(n_outputs + 2)
    with_sums = sums.size > 0
    sums[:] = 0.0
    for i in range(start, stop):
        if not identity and i + PREFETCH_ROWS < stop:
            _prefetch_row(x, p, g, h, np.uint64(rows[i + PREFETCH_ROWS]))
        r = np.uint64(i) if identity else np.uint64(rows[i])
        hi = h[r]
        ci = 1.0 if hi != 0.0 else 0.0
        if with_sums:
            for k in range(n_outputs):
                sums[k] += g[r, k]
            sums[n_outputs] += hi
            sums[n_outputs + 1] += ci
        row = r * np.uint64(p)
        for fi in range(np.uint64(f_first), np.uint64(f_last)):
            f = fi if all_features else np.uint64(features[fi])
            o = base + f * stride + np.uint64(x[row + f]) * n_stats
            for k in range(n_outputs):
                flat[o + np.uint64(k)] += g[r, k]
            flat[o + np.uint64(n_outputs)] += hi
            flat[o + np.uint64(n_outputs + 1)] += ci


@njit
def _build_features(
    X_rows,
    rows,
    starts,
    stops,
    identity,
    g,
    h,
    features,
    all_features,
    n_used,
    hists,
    scratch,
    targets,
    chunk_sums,
    n_first,
    n_last,
    f_first,
    f_last,
):
    """Histograms of features ``features[f_first:f_last]`` of row ranges ``n_first..n_last-1``
    (one thread's share): range j into ``hists[targets[j]]``, or ``scratch[-1 - targets[j]]``
    if negative; its (gradient, hessian, count) sums into ``chunk_sums[j]`` for
    ``j < len(chunk_sums)`` when ``f_first == 0``."""
    p = X_rows.shape[1]
    x = X_rows.reshape(-1)
    n_stats = np.uint64(hists.shape[3])
    stride = np.uint64(hists.shape[2]) * n_stats
    slot_size = np.uint64(hists.shape[1]) * stride
    no_sums = chunk_sums[0, :0] if chunk_sums.shape[0] > 0 else np.empty(0)
    for j in range(n_first, n_last):
        t = targets[j]
        own = t >= 0
        slot = t if own else -1 - t
        _zero_bins(hists[slot] if own else scratch[slot], features, n_used, f_first, f_last)
        flat = hists.reshape(-1) if own else scratch.reshape(-1)
        base = np.uint64(slot) * slot_size
        first_sums = chunk_sums[j] if j < chunk_sums.shape[0] and f_first == 0 else no_sums
        if g.shape[1] == 1 and p > WIDE_FEATURES:
            _add_rows_single_by_feature(
                x,
                p,
                rows,
                starts[j],
                stops[j],
                identity,
                g,
                h,
                features,
                flat,
                base,
                stride,
                n_stats,
                f_first,
                f_last,
                all_features,
                first_sums,
            )
        elif g.shape[1] == 1:
            _add_rows_single(
                x,
                p,
                rows,
                starts[j],
                stops[j],
                identity,
                g,
                h,
                features,
                flat,
                base,
                stride,
                n_stats,
                f_first,
                f_last,
                all_features,
                first_sums,
            )
        else:
            _add_rows_multi(
                x,
                p,
                rows,
                starts[j],
                stops[j],
                identity,
                g,
                h,
                features,
                flat,
                base,
                stride,
                f_first,
                f_last,
                all_features,
                first_sums,
            )


@njit(parallel=True)
def _build_features_parallel(bounds, by_feature, n_tasks, n_features, *args):
    """``_build_features`` over the ranges of ``bounds``, one a thread: ranges of features of
    every task if ``by_feature``, else ranges of tasks with every feature."""
    for t in prange(bounds.size - 1):
        if by_feature:
            _build_features(*args, 0, n_tasks, bounds[t], bounds[t + 1])
        else:
            _build_features(*args, bounds[t], bounds[t + 1], 0, n_features)


# Below this many (row, feature) cells the histograms are built on one thread: handing work
# to other threads costs more than it saves.
_PARALLEL_MIN_CELLS = 200_000

# A node of many rows is built in chunks of about CHUNK_ROWS rows (an even number of them, at
# most MAX_CHUNKS), each into its own histogram, added up in chunk order afterwards. Threads
# share the chunks, so each reads its rows once (split by feature, every thread would read
# every row), and the sums depend on the chunks alone, not on the number of threads.
CHUNK_ROWS = 16_384
MAX_CHUNKS = 16


@njit
def n_row_chunks(n_rows, chunk_rows):
    """How many chunks a node of ``n_rows`` rows is built in (``CHUNK_ROWS``: ``chunk_rows``,
    an argument so that tests can set it)."""
    k = min(MAX_CHUNKS, n_rows // chunk_rows)
    return max(1, k - k % 2)


def row_chunks(n_rows):
    """Bounds ``[0, ..., n_rows]`` of the row chunks a node of ``n_rows`` rows is built in."""
    k = n_row_chunks(n_rows, CHUNK_ROWS)
    return [n_rows * c // k for c in range(k + 1)]


@njit
def chunk_tasks(starts, stops, slots, chunk_rows):
    """The row chunks of nodes j (rows ``starts[j]:stops[j]``, histogram ``slots[j]``) as
    tasks: their row ranges, their targets (``slots[j]`` for a node's first chunk, ``-1 - c``
    for the c-th chunk histogram of the scratch store otherwise) and ``first_chunk``
    (n_nodes + 1): node j's scratch chunks are ``first_chunk[j]..first_chunk[j + 1] - 1``;
    ``chunk_rows``: see ``n_row_chunks``."""
    n_tasks = 0
    for j in range(starts.size):
        n_tasks += n_row_chunks(stops[j] - starts[j], chunk_rows)
    task_starts = np.empty(n_tasks, dtype=np.int64)
    task_stops = np.empty(n_tasks, dtype=np.int64)
    targets = np.empty(n_tasks, dtype=np.int64)
    first_chunk = np.zeros(starts.size + 1, dtype=np.int64)
    t = 0
    for j in range(starts.size):
        n_rows = stops[j] - starts[j]
        k = n_row_chunks(n_rows, chunk_rows)
        for c in range(k):
            task_starts[t] = starts[j] + n_rows * c // k
            task_stops[t] = starts[j] + n_rows * (c + 1) // k
            targets[t] = slots[j] if c == 0 else -1 - (first_chunk[j] + c - 1)
            t += 1
        first_chunk[j + 1] = first_chunk[j] + k - 1
    return task_starts, task_stops, targets, first_chunk


@njit
def thread_split(task_starts, task_stops, n_features, n_threads, min_cells):
    """How a batch of tasks is shared between at most ``n_threads`` threads: ``(bounds,
    by_feature)``, runs of whole tasks of about equal rows (each row read by one thread),
    or, with fewer tasks than threads, runs of features; one thread below ``min_cells``
    (row, feature) cells (``_PARALLEL_MIN_CELLS``)."""
    cumulative = cumulative_sizes(task_starts, task_stops)
    if cumulative[-1] * n_features < min_cells:
        n_threads = 1
    if task_starts.size >= n_threads:
        return balanced_groups(cumulative, n_threads), False
    n_threads = max(1, min(n_threads, n_features))
    return np.array([n_features * t // n_threads for t in range(n_threads + 1)]), True


@njit
def build_tasks(bounds, by_feature, threaded, n_tasks, n_features, *args):
    """``_build_features(*args, ...)`` over the runs of ``thread_split``: on numba's threads
    if ``threaded`` is true, else one after the other; ``threaded=None`` compiles the serial
    loop only (see ``_numba.threaded``)."""
    if threaded is not None:
        if threaded and bounds.size > 2:
            _build_features_parallel(bounds, by_feature, n_tasks, n_features, *args)
            return
    for t in range(bounds.size - 1):
        if by_feature:
            _build_features(*args, 0, n_tasks, bounds[t], bounds[t + 1])
        else:
            _build_features(*args, bounds[t], bounds[t + 1], 0, n_features)


@njit
def _add_chunks(hists, slots, scratch, first_chunk, features, n_used):
    """``hists[slots[j]] += scratch[first_chunk[j]:first_chunk[j + 1]]``, one chunk after the
    other, over the bins that are read."""
    missing_bin, n_stats = hists.shape[2] - 1, hists.shape[3]
    for j in range(slots.size):
        out = hists[slots[j]]
        for s in range(first_chunk[j], first_chunk[j + 1]):
            chunk = scratch[s]
            for fi in range(features.size):
                f = features[fi]
                for b in range(n_used[f]):
                    for c in range(n_stats):
                        out[f, b, c] += chunk[f, b, c]
                for c in range(n_stats):
                    out[f, missing_bin, c] += chunk[f, missing_bin, c]


@njit
def build_in_tasks(
    X_rows, rows, identity, g, h, features, all_features, n_used, hists, scratch, starts, stops,
    slots, chunk_sums, n_threads, threaded, chunk_rows, min_cells,
):  # fmt: skip
    """``build_histograms`` from numba code, on numba's threads if ``threaded`` (one thread
    otherwise; None: see ``_numba.threaded``); ``scratch`` holds at least
    ``sum(stops - starts) // chunk_rows`` chunk histograms, ``chunk_sums`` (``n_row_chunks``
    of node 0, K + 2) receives node 0's per-chunk sums, or has no rows; ``chunk_rows``,
    ``min_cells``: ``CHUNK_ROWS`` and ``_PARALLEL_MIN_CELLS``."""
    task_starts, task_stops, targets, first_chunk = chunk_tasks(starts, stops, slots, chunk_rows)
    bounds, by_feature = thread_split(task_starts, task_stops, features.size, n_threads, min_cells)
    args = (X_rows, rows, task_starts, task_stops, identity, g, h, features, all_features)
    args2 = (n_used, hists, scratch, targets, chunk_sums)
    build_tasks(bounds, by_feature, threaded, task_starts.size, features.size, *args, *args2)
    if first_chunk[-1] > 0:
        _add_chunks(hists, slots, scratch, first_chunk, features, n_used)


def build_histograms(
    X_binned,
    rows,
    starts,
    stops,
    gradients,
    hessians,
    features,
    n_bins_non_missing,
    hists,
    slots,
    X_rows=None,
    sums=None,
    scratch=None,
):
    """Fill ``hists[slots[j], f]`` for every node j (rows ``rows[starts[j]:stops[j]]``) and f in
    ``features``.

    X_binned: uint8 (n, p); rows: int32 row indices, or None for rows ``starts[j]..stops[j]``
    themselves (the root of a tree on all rows); gradients: (n, K); hessians: (n,);
    features: int32, ascending; n_bins_non_missing: int64 (p,); hists: C-contiguous float64
    (n_slots, p, n_bins, n_stats), n_stats = K + 2 (``HIST_WIDTH`` or ``PAIR_WIDTH`` for
    K = 1), the missing values' bin last; slots: int64 (n_nodes,);
    X_rows: ``X_binned`` in C order, if the caller keeps one (made here otherwise); sums:
    float64 (K + 2,) or None: receives the first node's (gradient sums, hessian sum, count of
    rows with a non-zero hessian), added chunk by chunk
    (see ``row_chunks``), which saves a pass over the rows at the root; scratch: None or a
    dict in which the histograms of chunks are kept from call to call.

    Each bin adds its rows in row order within a chunk of ``row_chunks``, and the chunks in
    order. Chunks are shared between ``numba.get_num_threads()`` threads (set by
    ``_numba.threads``) in groups of about equal rows; a batch of fewer chunks than threads
    is split by feature.
    """
    X_rows = np.ascontiguousarray(X_binned if X_rows is None else X_rows)
    identity = rows is None
    if identity:
        rows = np.empty(0, dtype=np.int32)
    features = np.ascontiguousarray(features, dtype=np.int32)
    p = X_rows.shape[1]
    all_features = features.size == p and bool(np.all(features == np.arange(p)))
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    slots = np.asarray(slots, dtype=np.int64)
    n_rows = int(stops.sum() - starts.sum())
    store = chunk_scratch(scratch, n_rows, hists.shape[1:])
    n_stats = gradients.shape[1] + 2
    n_sums = 0 if sums is None else n_row_chunks(stops[0] - starts[0], CHUNK_ROWS)
    chunk_sums = np.zeros((n_sums, n_stats))
    args = (X_rows, rows, identity, gradients, hessians, features, all_features)
    args += (n_bins_non_missing, hists, store, starts, stops, slots, chunk_sums)
    n_threads = numba.get_num_threads()
    threaded = _numba.threaded(n_rows * features.size, _PARALLEL_MIN_CELLS)
    if threaded is None or _numba.native_threads():
        build_in_tasks(*args, n_threads, threaded, CHUNK_ROWS, _PARALLEL_MIN_CELLS)
    else:
        _build_in_python_threads(*args, n_threads)
    if sums is not None:
        sums[:] = chunk_sums[0]
        for c in range(1, chunk_sums.shape[0]):
            sums += chunk_sums[c]


def _build_in_python_threads(
    X_rows, rows, identity, g, h, features, all_features, n_used, hists, scratch, starts, stops,
    slots, chunk_sums, n_threads,
):  # fmt: skip
    """``build_in_tasks`` with the runs on ``run_in_threads`` (no native threads)."""
    task_starts, task_stops, targets, first_chunk = chunk_tasks(starts, stops, slots, CHUNK_ROWS)
    bounds, by_feature = thread_split(
        task_starts, task_stops, features.size, n_threads, _PARALLEL_MIN_CELLS
    )
    n_tasks, n_features = task_starts.size, features.size
    args = (X_rows, rows, task_starts, task_stops, identity, g, h, features, all_features)
    args += (n_used, hists, scratch, targets, chunk_sums)
    runs = zip(bounds.tolist(), bounds[1:].tolist())
    if by_feature:
        run_in_threads([partial(_build_features, *args, 0, n_tasks, a, b) for a, b in runs])
    else:
        run_in_threads([partial(_build_features, *args, a, b, 0, n_features) for a, b in runs])
    if first_chunk[-1] > 0:
        _add_chunks(hists, slots, scratch, first_chunk, features, n_used)


def chunk_scratch(scratch, n_rows, shape):
    """A store of chunk histograms of ``shape`` large enough for a batch of nodes of
    ``n_rows`` rows in all (``n_rows // CHUNK_ROWS``), kept in the ``scratch`` dict."""
    n_chunks = max(1, n_rows // CHUNK_ROWS)
    store = None if scratch is None else scratch.get("chunks")
    if store is None or store.shape[0] < n_chunks or store.shape[1:] != shape:
        store = np.empty((n_chunks, *shape))
        if scratch is not None:
            scratch["chunks"] = store
    return store


@njit
def subtract_histograms(hists, parent_slots, child_slots, features, n_bins_non_missing):
    """``hists[parent_slots[j]] -= hists[child_slots[j]]`` for every j: in place, the parent's
    histogram becomes the sibling's. Only features in ``features`` and the bins that are
    read (the first ``n_bins_non_missing[f]`` and the missing one, last) are updated."""
    missing_bin, n_stats = hists.shape[2] - 1, hists.shape[3]
    for j in range(parent_slots.size):
        out = hists[parent_slots[j]]
        child = hists[child_slots[j]]
        for fi in range(features.size):
            f = features[fi]
            for b in range(n_bins_non_missing[f]):
                for c in range(n_stats):
                    out[f, b, c] = out[f, b, c] - child[f, b, c]
            for c in range(n_stats):
                out[f, missing_bin, c] = out[f, missing_bin, c] - child[f, missing_bin, c]
