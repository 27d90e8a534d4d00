"""Numba kernels: hashed crosses and embedding combiners, in TensorFlow's float32 order.

Outputs and scratch buffers are allocated by the Python wrappers and the kernels index
scalars only: on a cold numba cache each array allocation or slice assignment inside a
kernel is one more function to compile (see ``_farmhash``).
"""

import numpy as np

from ._farmhash import fingerprint_cat64, njit

_INT64_MAX = np.uint64(2**63 - 1)
COMBINERS = {"sum": 0, "mean": 1, "sqrtn": 2}


def cross_hashed(values, splits, hash_key, num_buckets):
    """Hashed Cartesian product of m ragged components, row by row.

    ``values`` holds every component's uint64 values back to back and ``splits[c]`` the row
    splits of component ``c`` into it. The first component varies slowest (TF's order).
    Returns (ids int64, row_splits int64).
    """
    out_splits = np.zeros(splits.shape[1], dtype=np.int64)
    np.cumsum(np.prod(np.diff(splits, axis=1), axis=0), out=out_splits[1:])
    out = np.empty(out_splits[-1], dtype=np.int64)
    buckets = np.uint64(num_buckets) if num_buckets > 0 else _INT64_MAX
    _cross_hashed(values, splits, np.uint64(hash_key), buckets, out_splits, out,
                  np.zeros(splits.shape[0], dtype=np.int64))  # fmt: skip
    return out, out_splits


@njit
def _cross_hashed(values, splits, hash_key, buckets, out_splits, out, pos):
    m = splits.shape[0]
    for i in range(out_splits.shape[0] - 1):
        for c in range(m):
            pos[c] = 0
        for k in range(out_splits[i + 1] - out_splits[i]):
            h = hash_key
            for c in range(m):
                h = fingerprint_cat64(h, values[splits[c, i] + pos[c]])
            out[out_splits[i] + k] = np.int64(h % buckets)
            for c in range(m - 1, -1, -1):
                pos[c] += 1
                if pos[c] < splits[c, i + 1] - splits[c, i]:
                    break
                pos[c] = 0


@njit
def multi_hot(out, rows, ids, weights, has_weights):
    """Add to ``out`` [n_rows, depth] (float32, zeros on entry) 1 (or the weight) at each
    (row, id), summed in input order as TF's one_hot + reduce_sum / scatter_nd; ids
    outside [0, depth) are ignored like TF's one_hot."""
    depth = out.shape[1]
    for k in range(ids.shape[0]):
        j = ids[k]
        if 0 <= j < depth:
            out[rows[k], j] += weights[k] if has_weights else np.float32(1.0)


@njit
def _clipped(row, max_norm, buf):
    """tf.clip_by_norm of one row into ``buf``: t * clip / max(||t||, clip), in float32."""
    l2sum = np.float32(0.0)
    for j in range(row.shape[0]):
        l2sum += row[j] * row[j]
    norm = np.float32(np.sqrt(l2sum)) if l2sum > 0 else l2sum
    denom = norm if norm > max_norm else max_norm
    for j in range(row.shape[0]):
        buf[j] = (row[j] * max_norm) / denom
    return buf


def embed_combine(out, table, ids, row_splits, weights, has_weights, combiner, max_norm):
    """Fill ``out`` [n, d] with the combined embedding rows of each example's ids
    (safe_embedding_lookup_sparse), in TF's float32 operation order.

    ``ids`` must already be pruned of invalid ids (and of weights <= 0). Empty rows give
    zeros. ``max_norm`` <= 0 means no clipping (and no clipping code is compiled).
    """
    scratch = np.empty((2, table.shape[1]), dtype=np.float32)
    clip = np.float32(max_norm) if max_norm > 0 else None
    _embed_combine(out, table, ids, row_splits, weights, has_weights, combiner, clip, scratch)


@njit
def _embed_combine(out, table, ids, row_splits, weights, has_weights, combiner, clip, scratch):
    d = table.shape[1]
    acc, buf = scratch[0], scratch[1]
    for i in range(row_splits.shape[0] - 1):
        start, stop = row_splits[i], row_splits[i + 1]
        for j in range(d):
            acc[j] = 0
        wsum = np.float32(0.0)
        for k in range(start, stop):
            if clip is None:
                row = table[ids[k]]
            else:
                row = _clipped(table[ids[k]], clip, buf)
            if has_weights:
                w = weights[k]
                for j in range(d):
                    acc[j] += row[j] * w
                wsum += w * w if combiner == 2 else w
            else:
                for j in range(d):
                    acc[j] += row[j]
        if not has_weights:
            wsum = np.float32(stop - start)
        if combiner == 0 or stop == start:
            for j in range(d):
                out[i, j] = acc[j]
        elif combiner == 1:
            for j in range(d):
                out[i, j] = acc[j] / wsum if wsum != 0 else np.float32(0.0)
        elif not has_weights:
            # TF's SparseSegmentSqrtN scales by a float32 reciprocal square root.
            scale = np.float32(1.0) / np.float32(np.sqrt(wsum))
            for j in range(d):
                out[i, j] = acc[j] * scale
        else:
            root = np.float32(np.sqrt(wsum))
            for j in range(d):
                out[i, j] = acc[j] / root if root != 0 else np.float32(0.0)
