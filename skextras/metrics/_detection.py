"""Box IoU, detection matching and Pascal VOC average precision (VOC2007 11-point, VOC2010+)."""

import numpy as np
from numba import njit

from skextras.metrics import _coco_kernels

_METHODS = {
    "voc2007": "11point",
    "11point": "11point",
    "11point_arange": "11point_arange",
    "voc2012": "allpoint",
    "allpoint": "allpoint",
}
_TP, _FP, _NEUTRAL = 1, 0, 2


def _as_boxes(boxes, name):
    boxes = np.asarray(boxes, dtype=float)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return boxes


def box_iou(boxes1, boxes2, *, box_format="xyxy", pixel_plus_one=False, iscrowd=None):
    """Intersection over union of every pair of boxes.

    Parameters
    ----------
    boxes1 : array-like of shape (n, 4)
        Usually the detections.
    boxes2 : array-like of shape (m, 4)
        Usually the ground truth.
    box_format : {"xyxy", "xywh"}, default "xyxy"
        Corners, or top-left corner with width and height (COCO). With "xywh" the result is
        bit-identical to ``pycocotools.mask.iou``.
    pixel_plus_one : bool, default False
        Count pixels inclusively (width = x2 - x1 + 1), as the Pascal VOC devkit does.
    iscrowd : array-like of bool of shape (m,), optional
        For crowd boxes of ``boxes2`` the union is replaced by the area of ``boxes1``
        (COCO's convention).

    Returns
    -------
    ndarray of shape (n, m)

    Examples
    --------
    >>> from skextras.metrics import box_iou
    >>> box_iou([[0, 0, 10, 10]], [[0, 0, 10, 5], [20, 20, 30, 30]])
    array([[0.5, 0. ]])
    """
    b1, b2 = _as_boxes(boxes1, "boxes1"), _as_boxes(boxes2, "boxes2")
    crowd = np.zeros(len(b2), bool) if iscrowd is None else np.asarray(iscrowd, bool)
    if box_format == "xywh":
        return _iou_xywh(b1, b2, crowd)
    if box_format != "xyxy":
        raise ValueError(f"box_format must be 'xyxy' or 'xywh', got {box_format!r}")
    one = 1.0 if pixel_plus_one else 0.0
    d, g = b1[:, None, :], b2[None, :, :]
    iw = np.maximum(np.minimum(d[..., 2], g[..., 2]) - np.maximum(d[..., 0], g[..., 0]) + one, 0)
    ih = np.maximum(np.minimum(d[..., 3], g[..., 3]) - np.maximum(d[..., 1], g[..., 1]) + one, 0)
    inter = iw * ih
    area_d = (d[..., 2] - d[..., 0] + one) * (d[..., 3] - d[..., 1] + one)
    area_g = (g[..., 2] - g[..., 0] + one) * (g[..., 3] - g[..., 1] + one)
    union = np.where(crowd[None, :], area_d, area_d + area_g - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


@njit(cache=True)
def _iou_xywh(b1, b2, crowd):
    out = np.zeros((b1.shape[0], b2.shape[0]))
    for i in range(b1.shape[0]):
        for j in range(b2.shape[0]):
            out[i, j] = _coco_kernels._xywh_iou(b1[i], b2[j], crowd[j])
    return out


@njit(cache=True)
def _voc_match(ious, difficult, thr, strict):
    """Devkit rule: each detection looks only at its best gt (first maximum)."""
    nd, ng = ious.shape
    used = np.zeros(ng, dtype=np.bool_)
    match = np.full(nd, -1, dtype=np.int64)
    for di in range(nd):
        if ng == 0:
            continue
        j = np.argmax(ious[di])
        best = ious[di, j]
        if best > thr or (not strict and best == thr):
            if difficult[j]:
                match[di] = j
            elif not used[j]:
                used[j] = True
                match[di] = j
    return match


def check_iou_threshold(iou_threshold):
    """A float in [0, 1]; NaN would silently match nothing (mAP 0)."""
    if isinstance(iou_threshold, (bool, np.bool_)) or not isinstance(
        iou_threshold, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"iou_threshold must be a number in [0, 1], got {iou_threshold!r}")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    return float(iou_threshold)


def match_detections(
    ious, *, iou_threshold=0.5, rule="coco", gt_ignore=None, gt_crowd=None, iou_match=">="
):
    """Greedily match score-ordered detections to ground-truth boxes.

    Parameters
    ----------
    ious : array-like of shape (n_det, n_gt)
        IoU of each detection (rows sorted by descending score) with each gt.
    iou_threshold : float, default 0.5
    rule : {"coco", "voc"}, default "coco"
        ``"coco"``: each detection takes the still-free gt of highest IoU >= threshold,
        preferring non-ignored gts; crowd gts can take many detections (pycocotools).
        ``"voc"``: each detection looks at its single best gt (first maximum); if that gt is
        already taken the detection is unmatched (Pascal VOC devkit).
    gt_ignore : array-like of bool of shape (n_gt,), optional
        COCO: ignored gts (crowd or outside the area range). VOC: ``difficult`` gts; a
        detection whose best gt is difficult is returned matched to it but takes nothing.
    gt_crowd : array-like of bool of shape (n_gt,), optional
        COCO rule only.
    iou_match : {">=", ">"}, default ">="
        VOC rule only; COCO always uses ">=".

    Returns
    -------
    ndarray of int of shape (n_det,)
        Index of the matched gt, -1 for none.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import match_detections
    >>> ious = np.array([[0.9, 0.1], [0.6, 0.0], [0.2, 0.7]])  # 3 detections, 2 gts
    >>> match_detections(ious)
    array([ 0, -1,  1])
    """
    ious = np.ascontiguousarray(ious, dtype=float)
    if ious.ndim != 2:
        raise ValueError(f"ious must have shape (n_det, n_gt), got {ious.shape}")
    n_gt = ious.shape[1]
    iou_threshold = check_iou_threshold(iou_threshold)
    ignore = _gt_flags(gt_ignore, n_gt, "gt_ignore")
    if iou_match not in (">=", ">"):
        raise ValueError(f"iou_match must be '>=' or '>', got {iou_match!r}")
    if rule == "voc":
        return _voc_match(ious, ignore, float(iou_threshold), iou_match == ">")
    if rule != "coco":
        raise ValueError(f"rule must be 'coco' or 'voc', got {rule!r}")
    crowd = _gt_flags(gt_crowd, n_gt, "gt_crowd")
    # the kernel's scratch: ignore flags, gts non-ignored first, taken flags, matches
    n_det = len(ious)
    scratch = np.concatenate([ignore, np.argsort(ignore, kind="mergesort"), np.zeros(n_gt),
                              np.zeros(n_det)]).astype(np.int64)  # fmt: skip
    _coco_kernels._match_group(
        ious.ravel(), 0, n_gt, n_det, scratch, crowd, 0, float(iou_threshold)
    )
    match = scratch[3 * n_gt :].copy()
    return match


def _gt_flags(flags, n_gt, name):
    """One bool per gt (False without ``flags``); the numba matchers index it by gt."""
    if flags is None:
        return np.zeros(n_gt, bool)
    out = np.asarray(flags, dtype=bool)
    if out.shape != (n_gt,):
        raise ValueError(
            f"{name} must have shape ({n_gt},) like the ious' columns, got {out.shape}"
        )
    return out


def average_precision_from_curve(recall, precision, method="allpoint"):
    """Average precision of a precision/recall curve ordered by descending score.

    Parameters
    ----------
    recall, precision : array-like of shape (n,)
        Cumulative recall and precision after each ranked detection.
    method : {"allpoint", "voc2012", "11point", "voc2007", "11point_arange"}
        ``allpoint``: area under the monotone precision envelope (VOC2010+).
        ``11point``: mean over t in {0, 0.1, ..., 1} (exact k/10) of the highest precision
        at recall >= t. ``11point_arange``: the same over ``np.arange(0, 1.1, 0.1)``, whose
        values 0.3, 0.6, 0.7 are one ulp above k/10 (``voc_eval.py``, Detectron2).

    Returns
    -------
    float

    Examples
    --------
    >>> from skextras.metrics import average_precision_from_curve
    >>> recall, precision = [0.5, 0.5, 1.0], [1.0, 0.5, 0.667]
    >>> round(average_precision_from_curve(recall, precision), 4)
    0.8335
    >>> round(average_precision_from_curve(recall, precision, method="voc2007"), 4)
    0.8486
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    rec = np.asarray(recall, dtype=float)
    prec = np.asarray(precision, dtype=float)
    if rec.ndim != 1 or rec.shape != prec.shape:
        raise ValueError(
            f"recall and precision must be 1-d of the same length, got shapes {rec.shape} "
            f"and {prec.shape}"
        )
    method = _METHODS[method]
    if method != "allpoint":
        ts = np.arange(11) / 10 if method == "11point" else np.arange(0.0, 1.1, 0.1)
        # highest precision at recall >= t: suffix maximum read at the first recall >= t
        suffix = np.maximum.accumulate(np.append(prec, 0.0)[::-1])[::-1]
        first = np.searchsorted(np.maximum.accumulate(rec), ts, side="left")
        return float(np.sum(suffix[first] / 11.0))
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))
