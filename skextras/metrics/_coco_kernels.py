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


@njit(cache=True)
def _xywh_iou(d, g, crowd):
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


@njit(cache=True)
def _match_group(ious, ng, gt_order, gt_ignore, gt_crowd, thr, taken, match):
    """Greedy pycocotools matching of score-ordered detections at one IoU threshold.

    ``ious`` is the (nd, ng) matrix flat, row-major. ``gt_order`` lists gts non-ignored
    first. Fills ``match`` (nd,) with the matched gt (-1 for none) per detection, using
    ``taken`` (n_gt,) as scratch. Ties in IoU go to the later gt in ``gt_order``, as in
    pycocotools.
    """
    for pos in range(ng):
        taken[pos] = False
    for di in range(match.shape[0]):
        best = thr if thr < 1 - 1e-10 else 1 - 1e-10
        m = -1
        for pos in range(ng):
            gi = gt_order[pos]
            if taken[pos] and not gt_crowd[gi]:
                continue
            if m > -1 and not gt_ignore[gt_order[m]] and gt_ignore[gi]:
                break
            if ious[di * ng + gi] < best:
                continue
            best = ious[di * ng + gi]
            m = pos
        match[di] = -1
        if m > -1:
            taken[m] = True
            match[di] = gt_order[m]


_CHUNK = 256  # groups per kernel call / parallel task: scratch buffers are allocated per chunk
# Below this many detections + gts the serial loop wins: waking the thread pool costs more,
# and the parallel drivers (slow to compile) are compiled only when an input reaches it.
PARALLEL_MIN_SIZE = 50_000


def _chunk_max(start, stop):
    """The largest group (at least 1) of each chunk of groups: its scratch buffer sizes."""
    if start.shape[0] == 0:
        return np.ones(0, dtype=np.int64)
    sizes = (stop - start).astype(np.int64)
    return np.maximum(np.maximum.reduceat(sizes, np.arange(0, sizes.shape[0], _CHUNK)), 1)


def evaluate_groups(
    gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop,
    dt_box, dt_area, dt_start, dt_stop, iou_thrs, area_rng,
):  # fmt: skip
    """Match every (image, category) group; return outcome codes and non-ignored gt counts.

    Returns ``codes`` of shape (A, T, n_dt) with values FALSE_POSITIVE / TRUE_POSITIVE /
    IGNORED and ``n_pos`` of shape (n_groups, A). Runs in parallel over chunks of groups
    when the input is large, chunk by chunk from Python otherwise.
    """
    codes = np.full((area_rng.shape[0], iou_thrs.shape[0], dt_box.shape[0]), IGNORED, np.int8)
    n_pos = np.zeros((gt_start.shape[0], area_rng.shape[0]), dtype=np.int64)
    args = (gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box, dt_area,
            dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos,
            _chunk_max(gt_start, gt_stop), _chunk_max(dt_start, dt_stop))  # fmt: skip
    if gt_box.shape[0] + dt_box.shape[0] >= PARALLEL_MIN_SIZE:
        _evaluate_parallel(*args)
    else:
        for chunk in range(args[-1].shape[0]):
            _evaluate_chunk(chunk, *args)
    return codes, n_pos


@njit(cache=True, parallel=True)
def _evaluate_parallel(gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                       dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos, chunk_ng,
                    chunk_nd):  # fmt: skip
    for chunk in prange((gt_start.shape[0] + _CHUNK - 1) // _CHUNK):
        _evaluate_chunk(chunk, gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                        dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos, chunk_ng,
                        chunk_nd)  # fmt: skip


@njit(cache=True)
def _evaluate_chunk(chunk, gt_box, gt_area, gt_crowd, gt_id_zero, gt_start, gt_stop, dt_box,
                    dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos, chunk_ng,
                    chunk_nd):  # fmt: skip
    """IoUs and matching for one chunk of groups, with scratch buffers shared by the chunk
    (``chunk_ng`` / ``chunk_nd``: the chunk's largest group, see ``_chunk_max``)."""
    first = chunk * _CHUNK
    last = first + _CHUNK if first + _CHUNK < gt_start.shape[0] else gt_start.shape[0]
    max_ng, max_nd = chunk_ng[chunk], chunk_nd[chunk]
    ious = np.empty(max_ng * max_nd)
    scratch_g = np.empty((3, max_ng), dtype=np.int64)
    match = np.empty(max_nd, dtype=np.int64)
    for gr in range(first, last):
        g0, g1, d0, d1 = gt_start[gr], gt_stop[gr], dt_start[gr], dt_stop[gr]
        for di in range(d1 - d0):
            for gi in range(g1 - g0):
                iou = _xywh_iou(dt_box[d0 + di], gt_box[g0 + gi], gt_crowd[g0 + gi])
                ious[di * (g1 - g0) + gi] = iou
        _evaluate_group(
            ious, gt_area[g0:g1], gt_crowd[g0:g1], gt_crowd[g0:g1], gt_id_zero[g0:g1],
            dt_area[d0:d1], iou_thrs, area_rng, scratch_g, match[: d1 - d0], codes[:, :, d0:d1],
            n_pos[gr],
        )  # fmt: skip


def evaluate_groups_from_ious(ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero,
                              gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs,
                              area_rng):  # fmt: skip
    """:func:`evaluate_groups` for IoUs computed beforehand (masks, keypoint OKS).

    ``ious`` is flat: group ``k`` is a (nd, ng) block starting at ``iou_start[k]``.
    ``gt_ignore`` marks gts ignored in every area range (crowd; no visible keypoint).
    """
    codes = np.full((area_rng.shape[0], iou_thrs.shape[0], dt_area.shape[0]), IGNORED, np.int8)
    n_pos = np.zeros((gt_start.shape[0], area_rng.shape[0]), dtype=np.int64)
    args = (ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero, gt_start, gt_stop,
            dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes, n_pos,
            _chunk_max(gt_start, gt_stop), _chunk_max(dt_start, dt_stop))  # fmt: skip
    if ious.shape[0] >= PARALLEL_MIN_SIZE:
        _from_ious_parallel(*args)
    else:
        for chunk in range(args[-1].shape[0]):
            _from_ious_chunk(chunk, *args)
    return codes, n_pos


@njit(cache=True, parallel=True)
def _from_ious_parallel(ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero, gt_start,
                        gt_stop, dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes,
                        n_pos, chunk_ng, chunk_nd):  # fmt: skip
    for chunk in prange((gt_start.shape[0] + _CHUNK - 1) // _CHUNK):
        _from_ious_chunk(chunk, ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero,
                         gt_start, gt_stop, dt_area, dt_start, dt_stop, iou_thrs, area_rng,
                         codes, n_pos, chunk_ng, chunk_nd)  # fmt: skip


@njit(cache=True)
def _from_ious_chunk(chunk, ious, iou_start, gt_area, gt_crowd, gt_ignore, gt_id_zero, gt_start,
                     gt_stop, dt_area, dt_start, dt_stop, iou_thrs, area_rng, codes,
                     n_pos, chunk_ng, chunk_nd):  # fmt: skip
    first = chunk * _CHUNK
    last = first + _CHUNK if first + _CHUNK < gt_start.shape[0] else gt_start.shape[0]
    max_ng, max_nd = chunk_ng[chunk], chunk_nd[chunk]
    scratch_g = np.empty((3, max_ng), dtype=np.int64)
    match = np.empty(max_nd, dtype=np.int64)
    for gr in range(first, last):
        g0, g1, d0, d1 = gt_start[gr], gt_stop[gr], dt_start[gr], dt_stop[gr]
        _evaluate_group(
            ious[iou_start[gr] : iou_start[gr] + (d1 - d0) * (g1 - g0)], gt_area[g0:g1],
            gt_crowd[g0:g1], gt_ignore[g0:g1], gt_id_zero[g0:g1], dt_area[d0:d1], iou_thrs,
            area_rng, scratch_g, match[: d1 - d0], codes[:, :, d0:d1], n_pos[gr],
        )  # fmt: skip


@njit(cache=True)
def _evaluate_group(ious, gt_area, crowd, base_ignore, id_zero, dt_area, iou_thrs, area_rng,
                    scratch, match, codes, n_pos):  # fmt: skip
    """Outcome codes of one group's detections for every area range and IoU threshold;
    ``ious`` is the group's (nd, ng) matrix flat."""
    ng, nd = gt_area.shape[0], dt_area.shape[0]
    ignore = scratch[0, :ng]
    order = scratch[1, :ng]
    taken = scratch[2, :ng]
    for a in range(area_rng.shape[0]):
        lo, hi = area_rng[a, 0], area_rng[a, 1]
        n_ignored = 0
        for gi in range(ng):
            ignore[gi] = base_ignore[gi] or gt_area[gi] < lo or gt_area[gi] > hi
            n_ignored += ignore[gi]
        # stable partition: non-ignored gts first, as pycocotools' mergesort on the flag
        pos = 0
        for flag in range(2):
            for gi in range(ng):
                if ignore[gi] == flag:
                    order[pos] = gi
                    pos += 1
        n_pos[a] = ng - n_ignored
        for t in range(iou_thrs.shape[0]):
            _match_group(ious, ng, order, ignore, crowd, iou_thrs[t], taken, match)
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
def _precision_at(codes_t, keep, n, n_pos, rec_thrs, score, out_precision, out_score, rc, pr):
    """Precision (and the score there) at the recall thresholds, and the final recall, of
    the ranked detections ``keep[:n]``. ``rc`` and ``pr`` are scratch buffers of ``n`` or
    more.
    """
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
        pr[i] = tp / (fp + tp + _EPS)
    for i in range(n - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    for r in range(rec_thrs.shape[0]):
        out_precision[r] = 0.0
        out_score[r] = 0.0
    for r in range(rec_thrs.shape[0]):
        # np.searchsorted(rc[:n], rec_thrs[r]) (side "left"; rc ascends), as a loop: numba's
        # searchsorted is one more function to compile
        pi, hi = 0, n
        while pi < hi:
            mid = (pi + hi) >> 1
            if rc[mid] < rec_thrs[r]:
                pi = mid + 1
            else:
                hi = mid
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
        for k in range(cat_start.shape[0]):
            _accumulate_category(k, *args)
    return precision, recall, scores


@njit(cache=True, parallel=True)
def _accumulate_parallel(codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                         precision, recall, scores):  # fmt: skip
    for k in prange(cat_start.shape[0]):
        _accumulate_category(k, codes, rank, score, cat_start, cat_stop, n_pos, max_dets,
                             rec_thrs, precision, recall, scores)  # fmt: skip


@njit(cache=True)
def _accumulate_category(k, codes, rank, score, cat_start, cat_stop, n_pos, max_dets, rec_thrs,
                         precision, recall, scores):  # fmt: skip
    """Fill category ``k``'s entries of ``precision``, ``recall`` and ``scores``."""
    s0, s1 = cat_start[k], cat_stop[k]
    n_rec = rec_thrs.shape[0]
    q = np.empty(n_rec)
    ss = np.empty(n_rec)
    rc = np.empty(s1 - s0)
    pr = np.empty(s1 - s0)
    keep = np.empty(s1 - s0, dtype=np.int64)
    for m in range(max_dets.shape[0]):
        n = np.int64(0)  # not the literal 0: _precision_at would compile for it as well
        for i in range(s0, s1):
            if rank[i] < max_dets[m]:
                keep[n] = i
                n += 1
        for a in range(codes.shape[0]):
            if n_pos[k, a] == 0:
                continue
            for t in range(codes.shape[1]):
                recall[t, k, a, m] = _precision_at(
                    codes[a, t], keep, n, n_pos[k, a], rec_thrs, score, q, ss, rc, pr
                )
                for r in range(n_rec):
                    precision[t, r, k, a, m] = q[r]
                    scores[t, r, k, a, m] = ss[r]


@njit(cache=True)
def oks_squared_errors(gt_kpt, gt_box, gt_area, g_index, dt_kpt, d_index, variances, gt_start,
                       gt_stop, dt_start, dt_stop, pair_start):  # fmt: skip
    """pycocotools' OKS exponents ``e`` for every (dt, gt) pair of every group, flat.

    Pair p of group k (dt-major) owns ``e[p * K:(p + 1) * K]``; with no visible gt
    keypoint the distance is to the gt box enlarged by its size on each side. The exponent
    is written with pycocotools' operation order, ``(dx**2 + dy**2) / var / (area + eps)
    / 2``; the exponential and the sum are left to :func:`oks_from_exponentials`.

    Serial: 17 products per pair take milliseconds even for 5000 images, less than a
    ``parallel=True`` compile (seconds) ever pays back.
    """
    n_k = variances.shape[0]
    out = np.empty(pair_start[-1] * n_k)
    eps = _EPS
    for k in range(gt_start.shape[0]):
        pos = pair_start[k] * n_k
        for di in range(dt_start[k], dt_stop[k]):
            d = dt_kpt[d_index[di]]
            for gi in range(gt_start[k], gt_stop[k]):
                gr = g_index[gi]
                g, bb = gt_kpt[gr], gt_box[gr]
                visible = 0
                for j in range(n_k):
                    visible += g[j, 2] > 0
                x0, x1 = bb[0] - bb[2], bb[0] + bb[2] * 2
                y0, y1 = bb[1] - bb[3], bb[1] + bb[3] * 2
                for j in range(n_k):
                    if visible > 0:
                        dx = d[j, 0] - g[j, 0]
                        dy = d[j, 1] - g[j, 1]
                    else:
                        dx = max(0.0, x0 - d[j, 0]) + max(0.0, d[j, 0] - x1)
                        dy = max(0.0, y0 - d[j, 1]) + max(0.0, d[j, 1] - y1)
                    out[pos + j] = (dx * dx + dy * dy) / variances[j] / (gt_area[gr] + eps) / 2
                pos += n_k
    return out


@njit(cache=True)
def _numpy_sum(values, mask, buf):
    """``np.sum(values[mask])`` with numpy's exact (pairwise, 8-way unrolled) order."""
    n = 0
    for j in range(values.shape[0]):
        if mask[j]:
            buf[n] = values[j]
            n += 1
    return _pairwise(buf[:n]), n


@njit(cache=True)
def _pairwise(a):
    n = a.shape[0]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        r = a[:8].copy()
        i = 8
        while i < n - (n % 8):
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a[:n2]) + _pairwise(a[n2:])


@njit(cache=True)
def oks_from_exponentials(exp_neg_e, gt_kpt, g_index, gt_start, gt_stop, dt_start, dt_stop,
                          pair_start):  # fmt: skip
    """OKS of each pair: the mean of ``exp(-e)`` over the gt's visible keypoints (all of
    them when none is visible), summed in numpy's order so that values are bit-identical."""
    n_k = gt_kpt.shape[1]
    out = np.empty(pair_start[-1])
    for k in range(gt_start.shape[0]):
        mask = np.empty(n_k, dtype=np.bool_)
        buf = np.empty(n_k)
        p = pair_start[k]
        for _ in range(dt_start[k], dt_stop[k]):
            for gi in range(gt_start[k], gt_stop[k]):
                g = gt_kpt[g_index[gi]]
                any_visible = False
                for j in range(n_k):
                    mask[j] = g[j, 2] > 0
                    any_visible |= mask[j]
                if not any_visible:
                    mask[:] = True
                total, n = _numpy_sum(exp_neg_e[p * n_k : (p + 1) * n_k], mask, buf)
                out[p] = total / n
                p += 1
    return out
