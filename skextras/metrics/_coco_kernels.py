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


@njit(cache=True)
def _xywh_iou(d, g, crowd):
    """IoU of two xywh boxes as pycocotools' ``bbIou`` computes it (crowd: over ``d``'s area)."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    inter = w * h
    da = d[2] * d[3]
    if crowd:
        return inter / da
    return inter / (da + g[2] * g[3] - inter)


@njit(cache=True)
def _match_group(ious, gt_order, gt_ignore, gt_crowd, thr, taken, match):
    """Greedy pycocotools matching of score-ordered detections at one IoU threshold.

    ``gt_order`` lists gts non-ignored first. Fills ``match`` with the matched gt (-1 for
    none) per detection, using ``taken`` (n_gt,) as scratch. Ties in IoU go to the later gt
    in ``gt_order``, as in pycocotools.
    """
    nd = ious.shape[0]
    ng = gt_order.shape[0]
    taken[:] = False
    match[:] = -1
    for di in range(nd):
        best = min(thr, 1 - 1e-10)
        m = -1
        for pos in range(ng):
            gi = gt_order[pos]
            if taken[pos] and not gt_crowd[gi]:
                continue
            if m > -1 and not gt_ignore[gt_order[m]] and gt_ignore[gi]:
                break
            if ious[di, gi] < best:
                continue
            best = ious[di, gi]
            m = pos
        if m > -1:
            taken[m] = True
            match[di] = gt_order[m]


_CHUNK = 256  # groups per parallel task: scratch buffers are allocated once per chunk
# Below this many detections + gts the serial kernels win: waking the thread pool costs more.
PARALLEL_MIN_SIZE = 50_000


def evaluate_groups(
    gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop,
    dt_box, dt_area, dt_start, dt_stop, iou_thrs, area_rng,
):  # fmt: skip
    """Match every (image, category) group; return outcome codes and non-ignored gt counts.

    Returns ``codes`` of shape (A, T, n_dt) with values FALSE_POSITIVE / TRUE_POSITIVE /
    IGNORED and ``n_pos`` of shape (n_groups, A). Runs in parallel over chunks of groups
    when the input is large.
    """
    codes = np.full((area_rng.shape[0], iou_thrs.shape[0], dt_box.shape[0]), IGNORED, np.int8)
    n_pos = np.zeros((gt_start.shape[0], area_rng.shape[0]), dtype=np.int64)
    args = (
        gt_box,
        gt_area,
        gt_crowd,
        gt_id_zero,
        gt_start,
        gt_stop,
        dt_box,
        dt_area,
        dt_start,
        dt_stop,
        iou_thrs,
        area_rng,
        codes,
        n_pos,
    )
    if gt_box.shape[0] + dt_box.shape[0] >= PARALLEL_MIN_SIZE:
        _evaluate_parallel(*args)
    else:
        _evaluate_serial(*args)
    return codes, n_pos


@njit(cache=True, parallel=True)
def _evaluate_parallel(gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                       dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos):  # fmt: skip
    for chunk in prange((gt_start.shape[0] + _CHUNK - 1) // _CHUNK):
        _evaluate_chunk(
            chunk,
            gt_box,
            gt_area,
            gt_crowd,
            gt_id_zero,
            gt_start,
            gt_stop,
            dt_box,
            dt_area,
            dt_start,
            dt_stop,
            iou_thrs,
            area_rng,
            codes,
            n_pos,
        )


@njit(cache=True)
def _evaluate_serial(gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                     dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos):  # fmt: skip
    for chunk in range((gt_start.shape[0] + _CHUNK - 1) // _CHUNK):
        _evaluate_chunk(
            chunk,
            gt_box,
            gt_area,
            gt_crowd,
            gt_id_zero,
            gt_start,
            gt_stop,
            dt_box,
            dt_area,
            dt_start,
            dt_stop,
            iou_thrs,
            area_rng,
            codes,
            n_pos,
        )


@njit(cache=True)
def _evaluate_chunk(chunk, gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                    dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos):  # fmt: skip
    """IoUs and matching for one chunk of groups, with scratch buffers shared by the chunk."""
    first, last = chunk * _CHUNK, min((chunk + 1) * _CHUNK, gt_start.shape[0])
    max_ng = max(1, (gt_stop[first:last] - gt_start[first:last]).max())
    max_nd = max(1, (dt_stop[first:last] - dt_start[first:last]).max())
    ious_buf = np.empty(max_ng * max_nd)
    scratch_g = np.empty((3, max_ng), dtype=np.int64)
    match = np.empty(max_nd, dtype=np.int64)
    for gr in range(first, last):
        g0, g1, d0, d1 = gt_start[gr], gt_stop[gr], dt_start[gr], dt_stop[gr]
        ious = ious_buf[: (d1 - d0) * (g1 - g0)].reshape((d1 - d0, g1 - g0))
        for di in range(d1 - d0):
            for gi in range(g1 - g0):
                ious[di, gi] = _xywh_iou(dt_box[d0 + di], gt_box[g0 + gi], gt_crowd[g0 + gi])
        _evaluate_group(
            ious, gt_area[g0:g1], gt_crowd[g0:g1], gt_id_zero[g0:g1], dt_area[d0:d1],
            iou_thrs, area_rng, scratch_g, match[: d1 - d0], codes[:, :, d0:d1], n_pos[gr],
        )  # fmt: skip


@njit(cache=True)
def _evaluate_group(ious, gt_area, crowd, id_zero, dt_area, iou_thrs, area_rng, scratch, match,
                    codes, n_pos):  # fmt: skip
    """Outcome codes of one group's detections for every area range and IoU threshold."""
    ng, nd = ious.shape[1], ious.shape[0]
    ignore = scratch[0, :ng]
    order = scratch[1, :ng]
    taken = scratch[2, :ng]
    for a in range(area_rng.shape[0]):
        lo, hi = area_rng[a, 0], area_rng[a, 1]
        for gi in range(ng):
            ignore[gi] = crowd[gi] or gt_area[gi] < lo or gt_area[gi] > hi
        # stable partition: non-ignored gts first, as pycocotools' mergesort on the flag
        pos = 0
        for flag in range(2):
            for gi in range(ng):
                if ignore[gi] == flag:
                    order[pos] = gi
                    pos += 1
        n_pos[a] = ng - ignore.sum()
        for t in range(iou_thrs.shape[0]):
            _match_group(ious, order, ignore, crowd, iou_thrs[t], taken, match)
            for di in range(nd):
                m = match[di]
                # pycocotools stores the matched gt's id and tests it for truth, so a match
                # to a gt whose id is 0 counts as no match.
                matched = m > -1 and not id_zero[m]
                out_of_range = dt_area[di] < lo or dt_area[di] > hi
                if (m > -1 and ignore[m]) or (not matched and out_of_range):
                    codes[a, t, di] = IGNORED
                elif matched:
                    codes[a, t, di] = TRUE_POSITIVE
                else:
                    codes[a, t, di] = FALSE_POSITIVE


@njit(cache=True)
def _precision_at(codes_t, keep, n_pos, rec_thrs, score, out_precision, out_score, rc, pr):
    """Precision (and the score there) at the recall thresholds, and the final recall, of
    one ranked detection list. ``rc`` and ``pr`` are scratch buffers as long as ``keep``.
    """
    n = keep.shape[0]
    eps = np.spacing(1.0)
    tp = 0.0
    fp = 0.0
    for i in range(n):
        c = codes_t[keep[i]]
        if c == TRUE_POSITIVE:
            tp += 1.0
        elif c == FALSE_POSITIVE:
            fp += 1.0
        # the same expressions as pycocotools: tp / npig and tp / (fp + tp + eps)
        rc[i] = tp / n_pos
        pr[i] = tp / (fp + tp + eps)
    for i in range(n - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    out_precision[:] = 0.0
    out_score[:] = 0.0
    for r in range(rec_thrs.shape[0]):
        pi = np.searchsorted(rc[:n], rec_thrs[r])
        # pycocotools stops filling at the first threshold beyond the last recall.
        if pi >= n:
            break
        out_precision[r] = pr[pi]
        out_score[r] = score[keep[pi]]
    return rc[n - 1] if n > 0 else 0.0


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
        _accumulate_serial(*args)
    return precision, recall, scores


@njit(cache=True, parallel=True)
def _accumulate_parallel(codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                         precision, recall, scores):  # fmt: skip
    for k in prange(cat_start.shape[0]):
        _accumulate_category(k, codes, rank, score, cat_start, cat_stop, n_pos, max_dets,
                             rec_thrs, precision, recall, scores)  # fmt: skip


@njit(cache=True)
def _accumulate_serial(codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                       precision, recall, scores):  # fmt: skip
    for k in range(cat_start.shape[0]):
        _accumulate_category(k, codes, rank, score, cat_start, cat_stop, n_pos, max_dets,
                             rec_thrs, precision, recall, scores)  # fmt: skip


@njit(cache=True)
def _accumulate_category(k, codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                         precision, recall, scores):  # fmt: skip
    """Fill category ``k``'s entries of ``precision``, ``recall`` and ``scores``."""
    s0, s1 = cat_start[k], cat_stop[k]
    q = np.empty(rec_thrs.shape[0])
    ss = np.empty(rec_thrs.shape[0])
    rc = np.empty(s1 - s0)
    pr = np.empty(s1 - s0)
    for m in range(max_dets.shape[0]):
        keep = np.flatnonzero(rank[s0:s1] < max_dets[m]) + s0
        for a in range(codes.shape[0]):
            if n_pos[k, a] == 0:
                continue
            for t in range(codes.shape[1]):
                recall[t, k, a, m] = _precision_at(
                    codes[a, t], keep, n_pos[k, a], rec_thrs, score, q, ss, rc, pr
                )
                precision[t, :, k, a, m] = q
                scores[t, :, k, a, m] = ss
