"""COCO bounding-box evaluation, identical to pycocotools' ``COCOeval`` (iouType ``bbox``)."""

import functools
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skextras.metrics import _coco_kernels as kernels
from skextras.metrics._readers import crowd_flags, dict_entries, entries_with_id, load_json_file

DEFAULT_AREA_RANGES = {
    "all": (0, 1e5**2),
    "small": (0, 32**2),
    "medium": (32**2, 96**2),
    "large": (96**2, 1e5**2),
}

_AP_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl")


def _default_iou_thresholds():
    # Built exactly as pycocotools does: several values differ from k/100 by one ulp.
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def _default_rec_thresholds():
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def _load_json(obj):
    if isinstance(obj, (str, os.PathLike)):
        return load_json_file(obj)
    return obj


def _check_boxes(boxes, what):
    """Validate an (n, 4) xywh array: finite, non-negative width and height."""
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what}: every bbox must have 4 numbers, got shape {boxes.shape}")
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what}: bbox {boxes[i].tolist()} (row {i}) is not finite")
    bad = (boxes[:, 2] < 0) | (boxes[:, 3] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}: bbox {boxes[i].tolist()} (row {i}) has a negative width or height"
        )


def _column(records, key, what, default=None, dtype=float):
    """One field of a list of annotation dicts (or DataFrame column) as an array."""
    if isinstance(records, pd.DataFrame):
        if key in records:
            return records[key].to_numpy(dtype=dtype)
    elif default is not None:
        return np.array([r.get(key, default) for r in records], dtype=dtype)
    else:
        try:
            return np.array([r[key] for r in records], dtype=dtype)
        except KeyError:
            i = next(i for i, r in enumerate(records) if key not in r)
            raise ValueError(f"{what}: entry {i} has no {key!r}: {records[i]!r}") from None
    if default is None:
        raise ValueError(f"{what}: missing column {key!r}")
    return np.full(len(records), default, dtype=dtype)


def _bbox_column(records, what):
    """(n, 4) xywh boxes from a ``bbox`` field or from x, y, w, h / xmin..ymax columns."""
    if isinstance(records, pd.DataFrame) and "bbox" not in records:
        if {"x", "y", "w", "h"} <= set(records):
            boxes = records[["x", "y", "w", "h"]].to_numpy(dtype=float)
        elif {"xmin", "ymin", "xmax", "ymax"} <= set(records):
            xyxy = records[["xmin", "ymin", "xmax", "ymax"]].to_numpy(dtype=float)
            boxes = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]])
        else:
            raise ValueError(f"{what}: needs a 'bbox' column, x/y/w/h or xmin/ymin/xmax/ymax")
    elif len(records) == 0:
        boxes = np.zeros((0, 4))
    else:
        raw = records["bbox"] if isinstance(records, pd.DataFrame) else _bbox_list(records, what)
        try:
            boxes = np.array(list(raw), dtype=float).reshape(len(records), -1)
        except ValueError as exc:
            raise ValueError(f"{what}: every bbox must be a list of 4 numbers ({exc})") from None
    _check_boxes(boxes, what)
    return boxes


def _bbox_list(records, what):
    try:
        return [r["bbox"] for r in records]
    except KeyError:
        i = next(i for i, r in enumerate(records) if "bbox" not in r)
        raise ValueError(f"{what}: entry {i} has no 'bbox': {records[i]!r}") from None


@dataclass
class _Table:
    """Annotations as arrays: image / category index, xywh boxes, area, and extras."""

    img: np.ndarray
    cat: np.ndarray
    box: np.ndarray
    area: np.ndarray
    score: np.ndarray = None
    crowd: np.ndarray = None
    id_zero: np.ndarray = None


def _index_of(values, known, what, strict):
    """Position of each value in the sorted ``known`` ids, -1 where absent."""
    try:
        pos = np.searchsorted(known, values).clip(0, max(len(known) - 1, 0))
        found = (known[pos] == values) if len(known) else np.zeros(len(values), dtype=bool)
    except (TypeError, np.exceptions.DTypePromotionError):
        # ids of another kind than the gt's (strings against numbers): none is known
        pos, found = np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=bool)
    if strict and not found.all():
        bad = values[~found][0].item()
        raise ValueError(f"{what}: image_id {bad!r} is not an image of the ground truth")
    return np.where(found, pos, -1)


def _gt_table(gt, img_ids, cat_ids):
    what = "gt annotations"
    anns = dict_entries(gt.get("annotations", []), what)
    box = _bbox_column(anns, what)
    crowd = crowd_flags(_column(anns, "iscrowd", what, default=0, dtype=object), f"{what}: entry")
    area = _column(anns, "area", what, default=np.nan)
    area = np.where(np.isnan(area), box[:, 2] * box[:, 3], area)
    ids = _column(anns, "id", what, default=-1, dtype=np.int64)
    if (ids == -1).all():
        ids = np.arange(1, len(ids) + 1)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        # pycocotools would silently keep only the last annotation of each id
        raise ValueError(f"{what}: duplicate annotation id {uniq[counts > 1][0].item()}")
    if (ids == 0).any():
        warnings.warn(
            "gt annotations: an annotation has id 0; pycocotools (and coco_evaluate, to stay "
            "equal to it) counts a detection matched to it as a false positive. Number "
            "annotation ids from 1.",
            UserWarning,
        )
    img = _index_of(_column(anns, "image_id", what, dtype=None), img_ids, what, False)
    cat = _index_of(_column(anns, "category_id", what, dtype=None), cat_ids, what, False)
    keep = (img >= 0) & (cat >= 0)
    return _Table(img[keep], cat[keep], box[keep], area[keep], None, crowd[keep], ids[keep] == 0)


def _dt_table(dt, img_ids, cat_ids):
    dt = _load_json(dt)
    what = "detections"
    if isinstance(dt, dict) and "annotations" in dt:
        dt = dt["annotations"]  # a COCO-style dict of results, as some tools write
    if not isinstance(dt, (list, tuple, pd.DataFrame)):
        raise ValueError(
            f"dt must be result dicts, a json path or a DataFrame, got {type(dt).__name__}"
        )
    box = _bbox_column(dict_entries(dt, what), what)
    score = _column(dt, "score", what)
    if np.isnan(score).any():
        raise ValueError(f"{what}: score is NaN at row {int(np.flatnonzero(np.isnan(score))[0])}")
    img = _index_of(_column(dt, "image_id", what, dtype=None), img_ids, what, True)
    cat = _index_of(_column(dt, "category_id", what, dtype=None), cat_ids, what, False)
    # pycocotools drops results whose category is not in the ground truth.
    keep = cat >= 0
    return _Table(img[keep], cat[keep], box[keep], box[keep, 2] * box[keep, 3], score[keep])


def _group_bounds(keys, groups):
    return np.searchsorted(keys, groups, "left"), np.searchsorted(keys, groups, "right")


@dataclass
class COCOEvalResult:
    """Outcome of :func:`coco_evaluate`, laid out as pycocotools' ``COCOeval.eval``.

    Attributes
    ----------
    stats : ndarray of shape (6 + M + 3,)
        AP, AP50, AP75, APs, APm, APl, AR at each ``max_dets``, ARs, ARm, ARl (the 12
        pycocotools numbers for the default three ``max_dets``); -1 where undefined.
    precision : ndarray of shape (T, R, K, A, M)
        Interpolated precision, -1 for absent categories (pycocotools ``eval["precision"]``).
    recall : ndarray of shape (T, K, A, M)
        Final recall, -1 for absent categories.
    scores : ndarray of shape (T, R, K, A, M)
        Detection score at which each precision entry is read (pycocotools
        ``eval["scores"]``).
    per_class : dict
        ``{category_id: stats}`` computed on that category's slice.
    """

    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    iou_thresholds: np.ndarray
    rec_thresholds: np.ndarray
    max_dets: tuple
    area_ranges: dict
    cat_ids: np.ndarray
    cat_names: dict = field(default_factory=dict)
    pycocotools_compat: bool = False

    def __post_init__(self):
        self.stats = self._summarize(self.precision, self.recall)

    @functools.cached_property
    def per_class(self):
        return {
            c.item(): self._summarize(self.precision[:, :, [k]], self.recall[:, [k]])
            for k, c in enumerate(self.cat_ids)
        }

    @property
    def stat_names(self):
        return [*_AP_NAMES, *(f"AR{m}" for m in self.max_dets), "ARs", "ARm", "ARl"]

    @property
    def stats_dict(self):
        return dict(zip(self.stat_names, self.stats.tolist(), strict=True))

    def _lines(self):
        """(is_ap, iou_thr, area_label, max_det) for each stat, in pycocotools' order."""
        md = self.max_dets
        ap_md = 100 if self.pycocotools_compat else md[-1]
        last = md[2] if self.pycocotools_compat else md[-1]
        lines = [(True, None, "all", ap_md), (True, 0.5, "all", last), (True, 0.75, "all", last)]
        lines += [(True, None, lab, last) for lab in ("small", "medium", "large")]
        lines += [(False, None, "all", m) for m in md]
        lines += [(False, None, lab, last) for lab in ("small", "medium", "large")]
        return lines

    def _summarize(self, precision, recall):
        labels = list(self.area_ranges)
        out = []
        for is_ap, thr, area, md in self._lines():
            s = precision if is_ap else recall
            if thr is not None:
                s = s[np.where(thr == self.iou_thresholds)[0]]
            a = [i for i, lab in enumerate(labels) if lab == area]
            m = [i for i, v in enumerate(self.max_dets) if v == md]
            s = s[..., a, :][..., m]
            s = s[s > -1]
            out.append(np.mean(s) if s.size else -1.0)
        return np.array(out, dtype=float)

    def summary(self, file=None):
        """Print the lines pycocotools' ``summarize()`` prints (to ``file``, default stdout)."""
        print(self, file=file)

    def __str__(self):
        t = self.iou_thresholds
        text = []
        for value, (is_ap, thr, area, md) in zip(self.stats, self._lines(), strict=True):
            title = "Average Precision" if is_ap else "Average Recall"
            kind = "(AP)" if is_ap else "(AR)"
            iou = f"{t[0]:0.2f}:{t[-1]:0.2f}" if thr is None else f"{thr:0.2f}"
            text.append(
                f" {title:<18} {kind} @[ IoU={iou:<9} | area={area:>6s} | maxDets={md:>3d} ]"
                f" = {value:0.3f}"
            )
        return "\n".join(text)

    def __repr__(self):
        stats = ", ".join(f"{k}={v:.4f}" for k, v in self.stats_dict.items())
        return f"COCOEvalResult({stats})"

    def to_frame(self):
        """Per-category stats as a DataFrame (one row per category id, ``name`` column)."""
        frame = pd.DataFrame.from_dict(self.per_class, orient="index", columns=self.stat_names)
        frame.index.name = "category_id"
        frame.insert(0, "name", [self.cat_names.get(c, str(c)) for c in frame.index])
        return frame


def _check_params(iou_type, iou_thresholds, rec_thresholds, max_dets, area_ranges, compat):
    if iou_type != "bbox":
        raise ValueError(f"iou_type={iou_type!r} is not supported; only 'bbox' is")
    iou = _default_iou_thresholds() if iou_thresholds is None else np.asarray(iou_thresholds, float)
    rec = _default_rec_thresholds() if rec_thresholds is None else np.asarray(rec_thresholds, float)
    if iou.ndim != 1 or iou.size == 0 or not ((iou >= 0) & (iou <= 1)).all():
        raise ValueError(f"iou_thresholds must be values in [0, 1], got {iou_thresholds!r}")
    if rec.ndim != 1 or rec.size == 0 or not ((rec >= 0) & (rec <= 1)).all():
        raise ValueError(f"rec_thresholds must be values in [0, 1], got {rec_thresholds!r}")
    if any(isinstance(m, (bool, np.bool_)) or int(m) != m for m in max_dets):
        raise ValueError(f"max_dets must be positive integers, got {max_dets!r}")
    md = tuple(sorted(int(m) for m in max_dets))
    if not md or md[0] < 1:
        raise ValueError(f"max_dets must be positive integers, got {max_dets!r}")
    if compat and len(md) < 3:
        raise ValueError(f"pycocotools_compat=True needs three max_dets, got {max_dets!r}")
    if area_ranges is not None and not isinstance(area_ranges, Mapping):
        raise ValueError(f"area_ranges must be a dict {{label: (low, high)}}, got {area_ranges!r}")
    areas = DEFAULT_AREA_RANGES if area_ranges is None else dict(area_ranges)
    if not areas or any(len(v) != 2 for v in areas.values()):
        raise ValueError(f"area_ranges must map labels to (low, high), got {area_ranges!r}")
    return iou, rec, md, areas


def coco_evaluate(
    gt,
    dt,
    iou_type="bbox",
    *,
    iou_thresholds=None,
    rec_thresholds=None,
    max_dets=(1, 10, 100),
    area_ranges=None,
    use_cats=True,
    pycocotools_compat=False,
):
    """COCO mAP of bounding-box detections, equal to pycocotools' ``COCOeval``.

    Parameters
    ----------
    gt : dict or path
        COCO ground truth (``images``, ``annotations``, ``categories``) or its json file.
        ``annotations`` may be a list of dicts or a DataFrame; ``iscrowd`` defaults to 0 and
        ``area`` to w * h when absent (pycocotools requires both).
    dt : list of dict, path or DataFrame
        Results: ``image_id``, ``category_id``, ``bbox`` [x, y, w, h], ``score``. A
        DataFrame may give the box as ``bbox`` or as ``x, y, w, h`` columns. Results of
        categories absent from the ground truth are dropped (as pycocotools does).
    iou_type : {"bbox"}
        Only bounding boxes are evaluated.
    iou_thresholds, rec_thresholds : array-like, optional
        Default ``np.linspace(.5, .95, 10)`` and ``np.linspace(0, 1, 101)``.
    max_dets : sequence of int, default (1, 10, 100)
        Detections kept per image and category (sorted ascending, as pycocotools does).
    area_ranges : dict, optional
        ``{label: (low, high)}`` on the ground truth's ``area``; default all / small /
        medium / large. The summary looks up those four labels.
    use_cats : bool, default True
        When False, categories are pooled (pycocotools ``useCats=0``).
    pycocotools_compat : bool, default False
        The first stat (AP) is read at ``max_dets[-1]``; pycocotools reads it at a
        hard-coded 100 and returns -1 when 100 is not among ``max_dets``. Set True to get
        that behaviour (and AP50..ARl at ``max_dets[2]``).

    Returns
    -------
    COCOEvalResult

    Examples
    --------
    >>> from skextras.metrics import coco_evaluate
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "cat"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [12, 10, 50, 50], "score": 0.9}]
    >>> res = coco_evaluate(gt, dt)
    >>> round(res.stats_dict["AP50"], 3)
    1.0
    """
    iou, rec, md, areas = _check_params(
        iou_type, iou_thresholds, rec_thresholds, max_dets, area_ranges, pycocotools_compat
    )
    gt = _load_json(gt)
    if not isinstance(gt, dict) or "images" not in gt:
        raise ValueError("gt must be a COCO dict with 'images' (or a path to one)")
    img_ids = np.unique(np.array([im["id"] for im in entries_with_id(gt, "images", "gt")]))
    cats = entries_with_id(gt, "categories", "gt")
    cat_ids = np.unique(np.array([c["id"] for c in cats]))
    g = _gt_table(gt, img_ids, cat_ids)
    d = _dt_table(dt, img_ids, cat_ids)
    precision, recall, scores = _evaluate_tables(
        g, d, len(img_ids), len(cat_ids), iou, rec, md, areas, use_cats
    )
    return COCOEvalResult(
        precision, recall, scores, iou, rec, md, areas,
        cat_ids if use_cats else np.array([-1]),
        {c["id"]: c.get("name", str(c["id"])) for c in cats},
        pycocotools_compat,
    )  # fmt: skip


def _evaluate_tables(g, d, n_img, n_cat, iou, rec, md, areas, use_cats):
    """Sort into (category, image) groups, match in parallel, then accumulate."""
    if use_cats:
        g_key = g.cat * n_img + g.img
        g_order = np.argsort(g_key, kind="stable")
        d_order = np.lexsort((-d.score, d.img, d.cat))
        d_key = (d.cat * n_img + d.img)[d_order]
    else:
        # Pooled categories: per image, gts in (category, file) order; dts by score then so.
        g_order = np.lexsort((g.cat, g.img))
        g_key = g.img
        d_order = np.lexsort((d.cat, -d.score, d.img))
        d_key = d.img[d_order]
    g_key = g_key[g_order]
    groups, d_first = np.unique(d_key, return_index=True)
    d_rank = np.arange(len(d_key)) - np.repeat(d_first, np.diff(np.append(d_first, len(d_key))))
    top = d_rank < md[-1]
    d_order, d_key, d_rank = d_order[top], d_key[top], d_rank[top]
    groups = np.union1d(groups, g_key)
    gs, ge = _group_bounds(g_key, groups)
    ds, de = _group_bounds(d_key, groups)
    area_rng = np.array(list(areas.values()), dtype=float)
    codes, n_pos_group = kernels.evaluate_groups(
        np.ascontiguousarray(g.box[g_order]), g.area[g_order], g.crowd[g_order],
        g.id_zero[g_order], gs, ge, np.ascontiguousarray(d.box[d_order]), d.area[d_order],
        ds, de, iou, area_rng,
    )  # fmt: skip
    n_k = n_cat if use_cats else 1
    group_cat = groups // n_img if use_cats else np.zeros(len(groups), dtype=np.int64)
    n_pos = np.column_stack([np.bincount(group_cat, weights=col, minlength=n_k)
                             for col in n_pos_group.T]).astype(np.int64)  # fmt: skip
    d_cat = d_key // n_img if use_cats else np.zeros(len(d_key), dtype=np.int64)
    # Within a category dts are in (image, rank) order; a stable sort by score reproduces
    # pycocotools' concatenate-then-mergesort order, and truncation to a smaller max_dets
    # keeps that relative order.
    ranked = np.lexsort((-d.score[d_order], d_cat))
    cs, ce = _group_bounds(d_cat[ranked], np.arange(n_k))
    return kernels.accumulate(
        np.ascontiguousarray(codes[:, :, ranked]), d_rank[ranked], d.score[d_order][ranked],
        cs, ce, n_pos, np.array(md, dtype=np.int64), rec,
    )  # fmt: skip
