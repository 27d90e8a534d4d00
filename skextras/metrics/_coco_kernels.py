"""Numba kernels of the COCO evaluation: per (image, category) matching and accumulation.

The arithmetic mirrors pycocotools operation by operation (same IoU formula, same greedy
matching rule, same cumulative precision / recall expressions) so that the results are
bit-identical; only the loops are compiled and run in parallel.
"""

import numpy as np
from numba import njit, prange

# Outcome codes of one detection at one (area range, IoU threshold).
FALSE_POSITIVE = 0
TRUE_POSITIVE = 1
IGNORED = 2


# pycocotools' ``np.spacing(1)``, the epsilon of its precision and OKS expressions.
_EPS = float(np.spacing(1.0))


def _xywh_iou_py(d, g, crowd):
    """IoU of two xywh boxes as pycocotools' ``bbIou`` computes it (crowd: over ``d``'s area).

    Comparisons instead of ``min`` / ``max``: each builtin would be one more compiled
    function on the cold path."""
    de, ge = d[2] + d[0], g[2] + g[0]
    w = (de if de < ge else ge) - (d[0] if d[0] > g[0] else g[0])
    if w <= 0:
        return 0.0
    de, ge = d[3] + d[1], g[3] + g[1]
    h = (de if de < ge else ge) - (d[1] if d[1] > g[1] else g[1])
    if h <= 0:
        return 0.0
    inter = w * h
    da = d[2] * d[3]
    if crowd:
        return inter / da
    return inter / (da + g[2] * g[3] - inter)


_CHUNK = 256  # groups (or categories) per parallel task: each task allocates its scratch
# Below this many detections + gts the serial loop wins: waking the thread pool costs more,
# and the parallel drivers (slow to compile) are compiled only when an input reaches it.
PARALLEL_MIN_SIZE = 50_000


def _scratch(gt_start, gt_stop, dt_start, dt_stop, with_ious):
    """One group's scratch buffers, sized for the largest group: (IoUs, int64 buffer of
    ``3 * ng + nd``) as ``_evaluate_range`` reads them."""
    max_ng = int((gt_stop - gt_start).max(initial=0))
    max_nd = int((dt_stop - dt_start).max(initial=0))
    ious = np.empty(max_ng * max_nd if with_ious else 0)
    return ious, np.empty(3 * max_ng + max_nd, dtype=np.int64)


def _evaluate(ious, iou_start, gt_box, dt_box, gt_area, gt_crowd, gt_ignore, gt_id_zero,
              gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs, area_rng):  # fmt: skip
    """Outcome codes (A, T, n_dt) and non-ignored gt counts (n_groups, A) of every group;
    IoUs of boxes (``ious`` None) or given (``gt_box`` / ``dt_box`` None)."""
    n_area, n_thr, n_dt = area_rng.shape[0], iou_thrs.shape[0], dt_area.shape[0]
    codes = np.full((n_area, n_thr, n_dt), IGNORED, np.int8)
    n_pos = np.zeros((gt_start.shape[0], n_area), dtype=np.int64)
    args = (ious, iou_start, gt_box, dt_box, gt_area, gt_crowd, gt_ignore, gt_id_zero,
            gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes,
            n_pos)  # fmt: skip
    size = gt_area.shape[0] + n_dt if ious is None else ious.shape[0]
    if size >= PARALLEL_MIN_SIZE:
        _evaluate_parallel(*args)
    else:
        scratch = _scratch(gt_start, gt_stop, dt_start, dt_stop, ious is None)
        _evaluate_range(np.int64(0), np.int64(gt_start.shape[0]), *args, *scratch)
    return codes, n_pos


def evaluate_groups(gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box, dt_area,
                    dt_start, dt_stop, iou_thrs, area_rng):  # fmt: skip
    """Match every (image, category) group of xywh boxes; return outcome codes and
    non-ignored gt counts.

    Returns ``codes`` of shape (A, T, n_dt) with values FALSE_POSITIVE / TRUE_POSITIVE /
    IGNORED and ``n_pos`` of shape (n_groups, A). Runs in parallel over chunks of groups
    when the input is large, in one serial call otherwise.
    """
    return _evaluate(None, None, gt_box, dt_box, gt_area, gt_crowd, gt_crowd, gt_id_zero,
                     gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                     area_rng)  # fmt: skip


def evaluate_groups_from_ious(ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero,
                              gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                              area_rng):  # fmt: skip
    """:func:`evaluate_groups` for IoUs computed beforehand (masks, keypoint OKS).

    ``ious`` is flat: group ``k`` is a (nd, ng) block starting at ``iou_start[k]``.
    ``gt_ignore`` marks gts ignored in every area range (crowd; no visible keypoint).
    """
    return _evaluate(ious, iou_start, None, None, gt_area, gt_crowd, gt_ignore, gt_id_zero,
                     gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                     area_rng)  # fmt: skip


@njit(cache=True, parallel=True, error_model="numpy")
def _evaluate_parallel(ious, iou_start, gt_box, dt_box, gt_area, gt_crowd, gt_ignore,
                       gt_id_zero, gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                       area_rng, codes, n_pos):  # fmt: skip
    n_groups = gt_start.shape[0]
    for chunk in prange((n_groups + _CHUNK - 1) // _CHUNK):
        first = chunk * _CHUNK
        last = first + _CHUNK if first + _CHUNK < n_groups else n_groups
        max_ng, max_nd = 0, 0
        for gr in range(first, last):
            max_ng = max(max_ng, gt_stop[gr] - gt_start[gr])
            max_nd = max(max_nd, dt_stop[gr] - dt_start[gr])
        scratch_f = np.empty(max_ng * max_nd if ious is None else 0)
        scratch_i = np.empty(3 * max_ng + max_nd, dtype=np.int64)
        _evaluate_range(first, last, ious, iou_start, gt_box, dt_box, gt_area, gt_crowd,
                        gt_ignore, gt_id_zero, gt_start, gt_stop, dt_area, dt_start, dt_stop,
                        iou_thrs, area_rng, codes, n_pos, scratch_f, scratch_i)  # fmt: skip


@njit(cache=True, error_model="numpy")
def _evaluate_range(first, last, ious, iou_start, gt_box, dt_box, gt_area, gt_crowd, gt_ignore,
                    gt_id_zero, gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                    area_rng, codes, n_pos, scratch_f, scratch_i):  # fmt: skip
    """Outcome codes of the detections of groups ``first:last`` for every area range and
    IoU threshold, with pycocotools' greedy matching (see ``_match_group``).

    One function, scalar indexing only and scratch from the caller: on the cold path each
    compiled function, array allocation or slice type is one more numba compile. With
    ``ious`` None (a type of its own: the other branch is removed before typing) the box
    IoUs of each group are computed into ``scratch_f``; ``scratch_i`` holds the gts'
    ignore flags, order and taken flags (``ng`` each) and the matches (``nd``).
    """
    for gr in range(first, last):
        g0, d0 = gt_start[gr], dt_start[gr]
        ng, nd = gt_stop[gr] - g0, dt_stop[gr] - d0
        # numba prunes a branch on ``arg is None`` only where ``arg`` is None: one test
        # for each call path
        if ious is None:
            if gt_box is not None:
                for di in range(nd):
                    for gi in range(ng):
                        scratch_f[di * ng + gi] = _xywh_iou_inline(
                            dt_box[d0 + di], gt_box[g0 + gi], gt_crowd[g0 + gi]
                        )
            group_ious, base = scratch_f, np.int64(0)
        else:
            group_ious, base = ious, iou_start[gr]
        for a in range(area_rng.shape[0]):
            lo, hi = area_rng[a, 0], area_rng[a, 1]
            n_ignored = 0
            for gi in range(ng):
                out = gt_ignore[g0 + gi] or gt_area[g0 + gi] < lo or gt_area[g0 + gi] > hi
                scratch_i[gi] = out
                n_ignored += out
            # stable partition: non-ignored gts first, as pycocotools' mergesort on the flag
            pos = ng
            for flag in range(2):
                for gi in range(ng):
                    if scratch_i[gi] == flag:
                        scratch_i[pos] = gi
                        pos += 1
            n_pos[gr, a] = ng - n_ignored
            for t in range(iou_thrs.shape[0]):
                _match_group_inline(group_ious, base, ng, nd, scratch_i, gt_crowd, g0, iou_thrs[t])
                for di in range(nd):
                    m = scratch_i[3 * ng + di]
                    # pycocotools stores the matched gt's id and tests it for truth, so a
                    # match to a gt whose id is 0 counts as no match.
                    matched = m > -1 and not gt_id_zero[g0 + m]
                    out_of_range = dt_area[d0 + di] < lo or dt_area[d0 + di] > hi
                    if (m > -1 and scratch_i[m]) or (not matched and out_of_range):
                        codes[a, t, d0 + di] = IGNORED
                    elif matched:
                        codes[a, t, d0 + di] = TRUE_POSITIVE
                    else:
                        codes[a, t, d0 + di] = FALSE_POSITIVE


def _match_group_py(ious, base, ng, nd, scratch, gt_crowd, g0, thr):
    """Greedy pycocotools matching of score-ordered detections at one IoU threshold.

    ``ious[base:base + nd * ng]`` is the (nd, ng) matrix, row-major. ``scratch`` holds
    each gt's ignore flag (``[0, ng)``), the gts non-ignored first (``[ng, 2 ng)``), taken
    flags (``[2 ng, 3 ng)``) and receives the matched gt of each detection (-1 for none)
    in ``[3 ng, 3 ng + nd)``; ``gt_crowd[g0 + gi]`` is gt ``gi``'s crowd flag. Ties in IoU
    go to the later gt in that order, as in pycocotools.
    """
    for pos in range(ng):
        scratch[2 * ng + pos] = 0
    for di in range(nd):
        best = thr if thr < 1 - 1e-10 else 1 - 1e-10
        m = -1
        for pos in range(ng):
            gi = scratch[ng + pos]
            if scratch[2 * ng + pos] and not gt_crowd[g0 + gi]:
                continue
            if m > -1 and not scratch[scratch[ng + m]] and scratch[gi]:
                break
            if ious[base + di * ng + gi] < best:
                continue
            best = ious[base + di * ng + gi]
            m = pos
        scratch[3 * ng + di] = -1
        if m > -1:
            scratch[2 * ng + m] = 1
            scratch[3 * ng + di] = scratch[ng + m]


# The matching and the box IoU are inlined into ``_evaluate_range`` (numba IR inlining: no
# dispatcher, library or cache entry of their own on the cold path) and compiled on their
# own for ``skextras.metrics._detection``, which calls them from Python.
_xywh_iou = njit(cache=True, error_model="numpy")(_xywh_iou_py)
_match_group = njit(cache=True, error_model="numpy")(_match_group_py)
_xywh_iou_inline = njit(inline="always", error_model="numpy")(_xywh_iou_py)
_match_group_inline = njit(inline="always", error_model="numpy")(_match_group_py)


def accumulate(codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs):
    """Precision and scores [T, R, K, A, M], recall [T, K, A, M] from ranked outcome codes.

    ``codes`` (A, T, n), ``rank`` and ``score`` (n,) are ordered by category, then by
    descending score with ties in (image, rank) order; ``n_pos`` is (K, A). Parallel over
    categories when the input is large.
    """
    n_area, n_thr = codes.shape[0], codes.shape[1]
    shape = (n_thr, rec_thrs.shape[0], cat_start.shape[0], n_area, max_dets.shape[0])
    precision = -np.ones(shape)
    recall = -np.ones((n_thr, cat_start.shape[0], n_area, max_dets.shape[0]))
    scores = -np.ones(shape)
    args = (codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs, precision,
            recall, scores)  # fmt: skip
    if codes.shape[2] >= PARALLEL_MIN_SIZE:
        _accumulate_parallel(*args)
    else:
        size = int((cat_stop - cat_start).max(initial=0))
        scratch = np.empty(2 * size), np.empty(size, dtype=np.int64)
        _accumulate_range(np.int64(0), np.int64(cat_start.shape[0]), *args, *scratch)
    return precision, recall, scores


@njit(cache=True, parallel=True, error_model="numpy")
def _accumulate_parallel(codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                         precision, recall, scores):  # fmt: skip
    for k in prange(cat_start.shape[0]):
        size = cat_stop[k] - cat_start[k]
        _accumulate_range(k, k + 1, codes, rank, score, cat_start, cat_stop, n_pos, max_dets,
                          rec_thrs, precision, recall, scores, np.empty(2 * size),
                          np.empty(size, dtype=np.int64))  # fmt: skip


@njit(cache=True, error_model="numpy")
def _accumulate_range(first, last, codes, rank, score, cat_start, cat_stop, n_pos, max_dets,
                      rec_thrs, precision, recall, scores, scratch_f, keep):  # fmt: skip
    """Fill categories ``first:last`` of ``precision``, ``recall`` and ``scores``.

    Per (max_dets, area, threshold): the cumulative recall and precision of the ranked
    detections ``keep[:n]`` with pycocotools' expressions, precision made monotone from the
    right, then sampled at the recall thresholds (the first recall >= each, side "left";
    pycocotools stops at the first threshold beyond the last recall). ``scratch_f`` holds
    recall then precision (``2 * n`` floats).
    """
    n_rec = rec_thrs.shape[0]
    for k in range(first, last):
        s0, s1 = cat_start[k], cat_stop[k]
        size = s1 - s0
        for m in range(max_dets.shape[0]):
            n = 0
            for i in range(s0, s1):
                if rank[i] < max_dets[m]:
                    keep[n] = i
                    n += 1
            for a in range(codes.shape[0]):
                if n_pos[k, a] == 0:
                    continue
                for t in range(codes.shape[1]):
                    tp = 0.0
                    fp = 0.0
                    for i in range(n):
                        c = codes[a, t, keep[i]]
                        if c == TRUE_POSITIVE:
                            tp += 1.0
                        elif c == FALSE_POSITIVE:
                            fp += 1.0
                        # the same expressions as pycocotools: tp / npig, tp / (fp + tp + eps)
                        scratch_f[i] = tp / n_pos[k, a]
                        scratch_f[size + i] = tp / (fp + tp + _EPS)
                    for i in range(n - 1, 0, -1):
                        if scratch_f[size + i] > scratch_f[size + i - 1]:
                            scratch_f[size + i - 1] = scratch_f[size + i]
                    recall[t, k, a, m] = scratch_f[n - 1] if n > 0 else 0.0
                    for r in range(n_rec):
                        # np.searchsorted(recall[:n], rec_thrs[r]) as a loop (recall ascends)
                        pi, hi = 0, n
                        while pi < hi:
                            mid = (pi + hi) >> 1
                            if scratch_f[mid] < rec_thrs[r]:
                                pi = mid + 1
                            else:
                                hi = mid
                        if pi >= n:
                            precision[t, r, k, a, m] = 0.0
                            scores[t, r, k, a, m] = 0.0
                        else:
                            precision[t, r, k, a, m] = scratch_f[size + pi]
                            scores[t, r, k, a, m] = score[keep[pi]]
