"""Pascal VOC mAP over record tables (VOC2007 11-point and VOC2010+ all-point)."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit, prange

from skextras.metrics._detection import (
    _METHODS,
    _voc_match,
    average_precision_from_curve,
    check_iou_threshold,
)
from skextras.metrics._readers import BOX_LAYOUT_HINT, crowd_flags, dict_entries, numeric_columns

_CORNERS = ["xmin", "ymin", "xmax", "ymax"]


def _records(data, what, need_score):
    """A DataFrame with image_id, category_id, xmin..ymax (+ score / difficult)."""
    if not isinstance(data, (pd.DataFrame, list, tuple)):
        raise TypeError(f"{what} must be a list of dicts or a DataFrame, got {type(data).__name__}")
    frame = (
        data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(dict_entries(data, what))
    )
    if len(frame) == 0:
        cols = ["image_id", "category_id", *_CORNERS, "score", "difficult"]
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    for col in ("image_id", "category_id"):
        if col not in frame:
            raise ValueError(f"{what}: missing column {col!r}")
    if "bbox" in frame:
        try:
            boxes = np.array(frame["bbox"].tolist(), dtype=float).reshape(len(frame), 4)
        except ValueError as exc:
            raise ValueError(f"{what}: every bbox must be 4 numbers xyxy ({exc})") from None
        frame[_CORNERS] = boxes
    elif not set(_CORNERS) <= set(frame):
        raise ValueError(f"{what}: needs a 'bbox' column or xmin/ymin/xmax/ymax")
    boxes = numeric_columns(frame, _CORNERS, what)
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}: box {boxes[i].tolist()} (row {i}) has xmax < xmin or ymax < ymin "
            f"(boxes here are xyxy corners){BOX_LAYOUT_HINT}"
        )
    if need_score:
        if "score" not in frame:
            raise ValueError(f"{what}: missing column 'score'")
        frame["score"] = numeric_columns(frame, ["score"], what)[:, 0]
    if "difficult" not in frame:
        frame["difficult"] = False
    frame["difficult"] = crowd_flags(frame["difficult"].fillna(False), f"{what}: row", "difficult")
    return frame


@njit(cache=True, parallel=True)
def _match_groups(gt_box, gt_difficult, gt_start, gt_stop, dt_box, dt_start, dt_stop, thr,
                  strict, one):  # fmt: skip
    """Outcome per detection (1 TP, 0 FP, 2 neither) for every (class, image) group."""
    out = np.zeros(dt_box.shape[0], dtype=np.int8)
    for gr in prange(gt_start.shape[0]):
        g0, g1, d0, d1 = gt_start[gr], gt_stop[gr], dt_start[gr], dt_stop[gr]
        ious = np.zeros((d1 - d0, g1 - g0))
        for i in range(d1 - d0):
            d = dt_box[d0 + i]
            area_d = (d[2] - d[0] + one) * (d[3] - d[1] + one)
            for j in range(g1 - g0):
                g = gt_box[g0 + j]
                iw = max(min(d[2], g[2]) - max(d[0], g[0]) + one, 0.0)
                ih = max(min(d[3], g[3]) - max(d[1], g[1]) + one, 0.0)
                inter = iw * ih
                union = area_d + (g[2] - g[0] + one) * (g[3] - g[1] + one) - inter
                ious[i, j] = inter / union if inter > 0 else 0.0
        difficult = gt_difficult[g0:g1]
        match = _voc_match(ious, difficult, thr, strict)
        for i in range(d1 - d0):
            m = match[i]
            out[d0 + i] = 0 if m < 0 else (2 if difficult[m] else 1)
    return out


@dataclass
class VOCEvalResult:
    """Outcome of :func:`voc_evaluate`.

    Attributes
    ----------
    per_class : dict
        ``{class: AP}``, classes in order of first appearance (ground truth, then
        detections); NaN for a class without non-difficult ground truth.
    mAP : float
        Mean of the defined per-class APs (NaN when none is defined).
    precision, recall : dict
        ``{class: ndarray}`` cumulative curves over the score-ranked detections.
    n_positives : dict
        ``{class: number of non-difficult gts}`` (all gts with ``use_difficult``).

    Examples
    --------
    >>> from skextras.metrics import voc_evaluate
    >>> gt = [{"image_id": 0, "category_id": "dog", "bbox": [0, 0, 10, 10]},
    ...       {"image_id": 0, "category_id": "cat", "bbox": [20, 20, 30, 30]}]
    >>> dt = [{"image_id": 0, "category_id": "dog", "bbox": [0, 0, 10, 10], "score": 0.9},
    ...       {"image_id": 0, "category_id": "dog", "bbox": [50, 50, 60, 60], "score": 0.8}]
    >>> result = voc_evaluate(gt, dt)
    >>> result.per_class, result.mAP
    ({'dog': 1.0, 'cat': 0.0}, 0.5)
    >>> result.precision["dog"], result.recall["dog"]
    (array([1. , 0.5]), array([1., 1.]))
    """

    per_class: dict
    precision: dict
    recall: dict
    n_positives: dict
    n_detections: dict = field(default_factory=dict)

    @property
    def mAP(self):  # noqa: N802 (the established name)
        values = np.array(list(self.per_class.values()), dtype=float)
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    def __repr__(self):
        return f"VOCEvalResult(mAP={self.mAP:.4f}, classes={len(self.per_class)})"

    def to_frame(self):
        """One row per class: AP, number of positives and of detections."""
        frame = pd.DataFrame({
            "AP": pd.Series(self.per_class, dtype=float),
            "n_positives": pd.Series(self.n_positives, dtype="int64"),
            "n_detections": pd.Series(self.n_detections, dtype="int64"),
        })  # fmt: skip
        frame.index.name = "category_id"
        return frame


def voc_evaluate(gt, dt, *, method="voc2012", iou_threshold=0.5, use_difficult=False,
                 pixel_plus_one=True, iou_match=">="):  # fmt: skip
    """Pascal VOC mean average precision.

    Parameters
    ----------
    gt : list of dict or DataFrame
        Records with ``image_id``, ``category_id``, ``bbox`` [xmin, ymin, xmax, ymax] (or
        ``xmin``..``ymax`` columns) and optional ``difficult``. Ids may be strings.
    dt : list of dict or DataFrame
        Records with ``image_id``, ``category_id``, ``bbox`` (xyxy) and ``score``.
    method : {"voc2012", "allpoint", "voc2007", "11point", "11point_arange"}
        ``voc2012`` = ``allpoint`` (area under the precision envelope); ``voc2007`` =
        ``11point`` (exact k/10 recall points); ``11point_arange`` uses
        ``np.arange(0, 1.1, 0.1)`` like ``voc_eval.py``.
    iou_threshold : float in [0, 1], default 0.5
        NaN, values outside [0, 1] and non-numbers raise.
    use_difficult : bool, default False
        Count difficult gts as ordinary ones (otherwise hits on them are neither TP nor FP).
    pixel_plus_one : bool, default True
        Inclusive pixel widths (x2 - x1 + 1) as the devkit; many tools use False.
    iou_match : {">=", ">"}, default ">="
        The devkit (MATLAB) accepts IoU equal to the threshold; ``voc_eval.py`` needs ">".

    Returns
    -------
    VOCEvalResult

    Examples
    --------
    >>> from skextras.metrics import voc_evaluate
    >>> gt = [{"image_id": "a", "category_id": "dog", "bbox": [10, 10, 60, 60]}]
    >>> dt = [{"image_id": "a", "category_id": "dog", "bbox": [12, 10, 60, 60], "score": 0.8},
    ...       {"image_id": "a", "category_id": "dog", "bbox": [80, 80, 90, 90], "score": 0.9}]
    >>> voc_evaluate(gt, dt).mAP
    0.5
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    if iou_match not in (">=", ">"):
        raise ValueError(f"iou_match must be '>=' or '>', got {iou_match!r}")
    iou_threshold = check_iou_threshold(iou_threshold)
    for name, value in (("use_difficult", use_difficult), ("pixel_plus_one", pixel_plus_one)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
    g = _records(gt, "gt", need_score=False)
    d = _records(dt, "dt", need_score=True)
    if use_difficult:
        g["difficult"] = False
    classes = pd.unique(pd.concat([g["category_id"], d["category_id"]], ignore_index=True))
    images = pd.unique(pd.concat([g["image_id"], d["image_id"]], ignore_index=True))
    n_img = len(images)
    g_key = _codes(g["category_id"], classes) * n_img + _codes(g["image_id"], images)
    d_cls = _codes(d["category_id"], classes)
    score = d["score"].to_numpy(dtype=float)
    # rank within class by descending score, ties in input order (stable)
    ranked = np.lexsort((-score, d_cls))
    by_group = ranked[np.argsort((d_cls * n_img + _codes(d["image_id"], images))[ranked],
                                 kind="stable")]  # fmt: skip
    g_order = np.argsort(g_key, kind="stable")
    g_key = g_key[g_order]
    d_key = (d_cls * n_img + _codes(d["image_id"], images))[by_group]
    groups = np.unique(d_key)
    g_box = np.ascontiguousarray(g[_CORNERS].to_numpy(dtype=float)[g_order])
    g_diff = g["difficult"].to_numpy(dtype=bool)[g_order]
    d_box = np.ascontiguousarray(d[_CORNERS].to_numpy(dtype=float)[by_group])
    outcome = np.empty(len(d), dtype=np.int8)
    outcome[by_group] = _match_groups(
        g_box, g_diff, np.searchsorted(g_key, groups), np.searchsorted(g_key, groups, "right"),
        d_box, np.searchsorted(d_key, groups), np.searchsorted(d_key, groups, "right"),
        iou_threshold, iou_match == ">", 1.0 if pixel_plus_one else 0.0,
    )  # fmt: skip
    g_cls = _codes(g["category_id"], classes)
    return _summarize(classes, g_cls, g["difficult"].to_numpy(bool), d_cls, ranked, outcome,
                      method)  # fmt: skip


def _codes(values, uniques):
    return pd.Index(uniques).get_indexer(values).astype(np.int64)


def _summarize(classes, g_cls, g_diff, d_cls, ranked, outcome, method):
    n_pos = np.bincount(g_cls[~g_diff], minlength=len(classes))
    bounds = np.searchsorted(d_cls[ranked], np.arange(len(classes) + 1))
    per_class, precision, recall, npos, ndet = {}, {}, {}, {}, {}
    for k, cls in enumerate(classes):
        cls = cls.item() if hasattr(cls, "item") else cls
        out = outcome[ranked[bounds[k] : bounds[k + 1]]]
        tp = np.cumsum(out == 1).astype(float)
        fp = np.cumsum(out == 0).astype(float)
        rec = tp / n_pos[k] if n_pos[k] else np.full(len(tp), np.nan)
        prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        precision[cls], recall[cls] = prec, rec
        npos[cls], ndet[cls] = int(n_pos[k]), len(out)
        per_class[cls] = (
            average_precision_from_curve(rec, prec, method) if n_pos[k] else float("nan")
        )
    return VOCEvalResult(per_class, precision, recall, npos, ndet)
