"""COCO evaluation identical to pycocotools' ``COCOeval``: iouType bbox, segm and keypoints.

All three tasks share one pipeline: annotations become arrays (``_Table``), detections are
grouped by (category, image) and cut to ``max_dets[-1]`` per group by score, every group is
matched greedily at every (area range, IoU threshold) into outcome codes, and the codes are
accumulated per category into precision / recall / scores. Only the similarity differs:
box IoU (computed inside the matching kernel), mask IoU of RLEs (``metrics.mask``) or
keypoint OKS, both computed for all groups first and handed to the same matching kernel.
The invariants that make the numbers bit-identical to pycocotools are stated in
``_coco_kernels`` and ``_mask_kernels``; the ones about inputs are kept here: a result's
``area`` is its box's w * h whenever the first result carries a non-empty ``bbox`` (the
branch order of ``COCO.loadRes``), else the mask area (segm) or the keypoints' extent
(keypoints); a keypoint gt is ignored when it is a crowd or has ``num_keypoints == 0``.
"""

import functools
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skextras.metrics import _coco_kernels as kernels
from skextras.metrics import _mask_kernels as mask_kernels
from skextras.metrics._readers import (
    BOX_LAYOUT_HINT,
    crowd_flags,
    dict_entries,
    entries_with_id,
    load_json_file,
    missing_bbox_hint,
)

IOU_TYPES = ("bbox", "segm", "keypoints")
# pycocotools' Params.setKpParams: no "small" range, people are at least 32 x 32
KEYPOINT_AREA_RANGES = {"all": (0, 1e5**2), "medium": (32**2, 96**2), "large": (96**2, 1e5**2)}
# COCO's 17 person keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles)
COCO_KPT_OKS_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07,
                                1.07, .87, .87, .89, .89]) / 10.0  # fmt: skip
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
            f"{what}: bbox {boxes[i].tolist()} (row {i}) has a negative width or height "
            f"(COCO boxes are [x, y, width, height]){BOX_LAYOUT_HINT}"
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
        hint = missing_bbox_hint(records[i])
        raise ValueError(f"{what}: entry {i} has no 'bbox'{hint}: {records[i]!r:.200}") from None


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
    rows: np.ndarray = None  # row of each kept annotation in the input
    rle: object = None  # segm: metrics.mask._RLEs, one per row
    kpt: np.ndarray = None  # keypoints: (n, K, 3)
    ignore: np.ndarray = None  # ignored in every area range (crowd, no visible keypoint)


def _index_of(values, known, what, strict):
    """Position of each value in the sorted ``known`` ids, -1 where absent."""
    try:
        pos = np.searchsorted(known, values).clip(0, max(len(known) - 1, 0))
        found = (known[pos] == values) if len(known) else np.zeros(len(values), dtype=bool)
    except (TypeError, np.exceptions.DTypePromotionError):
        # ids of another kind than the gt's (strings against numbers): none is known
        pos, found = np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=bool)
    if strict and not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise ValueError(
            f"{what}: image_id {values[row].item()!r} (row {row}) is not an image of the "
            "ground truth"
        )
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
    return _Table(img[keep], cat[keep], box[keep], area[keep], None, crowd[keep], ids[keep] == 0,
                  np.flatnonzero(keep))  # fmt: skip


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

    Examples
    --------
    >>> from skextras.metrics import coco_evaluate
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1}, {"id": 2}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
    ...                       {"id": 2, "image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10]}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]
    >>> result = coco_evaluate(gt, dt)
    >>> result.precision.shape  # (IoU thresholds, recall thresholds, classes, areas, max_dets)
    (10, 101, 2, 4, 3)
    >>> aps = result.stats[0], result.per_class[1][0], result.per_class[2][0]
    >>> [round(float(v), 3) for v in aps]
    [0.5, 1.0, 0.0]
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
    iou_type: str = "bbox"

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
        if self.iou_type == "keypoints":
            return ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
        return [*_AP_NAMES, *(f"AR{m}" for m in self.max_dets), "ARs", "ARm", "ARl"]

    @property
    def stats_dict(self):
        return dict(zip(self.stat_names, self.stats.tolist(), strict=True))

    def _lines(self):
        """(is_ap, iou_thr, area_label, max_det) for each stat, in pycocotools' order."""
        md = self.max_dets
        if self.iou_type == "keypoints":
            # pycocotools' _summarizeKps reads every line at a hard-coded maxDets=20
            kp_md = 20 if self.pycocotools_compat else md[-1]
            lines = [(True, thr, "all", kp_md) for thr in (None, 0.5, 0.75)]
            lines += [(True, None, lab, kp_md) for lab in ("medium", "large")]
            return lines + [(False, *line[1:]) for line in lines]
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
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
    if max_dets is None:
        max_dets = (20,) if iou_type == "keypoints" else (1, 10, 100)
    if area_ranges is None and iou_type == "keypoints":
        area_ranges = KEYPOINT_AREA_RANGES
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
    if compat and len(md) < 3 and iou_type != "keypoints":
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
    max_dets=None,
    area_ranges=None,
    use_cats=True,
    pycocotools_compat=False,
    kpt_oks_sigmas=None,
):
    """COCO mAP of boxes, masks or keypoints, equal to pycocotools' ``COCOeval``.

    Parameters
    ----------
    gt : dict or path
        COCO ground truth (``images``, ``annotations``, ``categories``) or its json file.
        ``annotations`` may be a list of dicts or a DataFrame; ``iscrowd`` defaults to 0 and
        ``area`` to w * h when absent (pycocotools requires both). segm needs each
        annotation's ``segmentation`` (polygons, uncompressed or compressed RLE) and the
        images' ``height`` / ``width``; keypoints needs ``keypoints`` [x1, y1, v1, ...]
        (``num_keypoints`` defaults to the count of v > 0).
    dt : list of dict, path or DataFrame
        Results: ``image_id``, ``category_id``, ``score`` and ``bbox`` [x, y, w, h]
        (bbox), ``segmentation`` (segm, an RLE or polygons) or ``keypoints`` (keypoints).
        A DataFrame may give the box as ``bbox`` or as ``x, y, w, h`` columns. Results of
        categories absent from the ground truth are dropped (as pycocotools does).
    iou_type : {"bbox", "segm", "keypoints"}
        Similarity of a result and a ground truth: box IoU, mask IoU or keypoint OKS.
    iou_thresholds, rec_thresholds : array-like, optional
        Default ``np.linspace(.5, .95, 10)`` and ``np.linspace(0, 1, 101)``.
    max_dets : sequence of int, optional
        Detections kept per image and category (sorted ascending, as pycocotools does);
        default (1, 10, 100), and (20,) for keypoints.
    area_ranges : dict, optional
        ``{label: (low, high)}`` in pixels² on the ground truth's ``area``; default all /
        small / medium / large (all / medium / large for keypoints). The summary looks up
        those labels.
    use_cats : bool, default True
        When False, categories are pooled (pycocotools ``useCats=0``).
    pycocotools_compat : bool, default False
        The first stat (AP) is read at ``max_dets[-1]``; pycocotools reads it at a
        hard-coded 100 and returns -1 when 100 is not among ``max_dets``. Set True to get
        that behaviour (and AP50..ARl at ``max_dets[2]``; every keypoint line at 20).
    kpt_oks_sigmas : array-like of shape (K,), optional
        Per-keypoint OKS sigmas; default COCO's 17 person sigmas. Every keypoint list must
        have 3 * K numbers.

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
    sigmas = _check_sigmas(kpt_oks_sigmas, iou_type)
    if iou_type == "bbox":
        d = _dt_table(dt, img_ids, cat_ids)
    else:
        img_hw = _image_sizes(gt["images"], img_ids, iou_type)
        _add_task_columns(g, gt["annotations"], "gt annotations", iou_type, img_hw, sigmas)
        d = _task_dt_table(dt, img_ids, cat_ids, iou_type, img_hw, sigmas)
    precision, recall, scores = _evaluate_tables(
        g, d, len(img_ids), len(cat_ids), iou, rec, md, areas, use_cats, sigmas
    )
    return COCOEvalResult(
        precision, recall, scores, iou, rec, md, areas,
        cat_ids if use_cats else np.array([-1]),
        {c["id"]: c.get("name", str(c["id"])) for c in cats},
        pycocotools_compat, iou_type,
    )  # fmt: skip


def _evaluate_tables(g, d, n_img, n_cat, iou, rec, md, areas, use_cats, sigmas=None):
    """Sort into (category, image) groups, match in parallel, then accumulate."""
    matches = _match_tables(g, d, n_img, iou, md, areas, use_cats, sigmas)
    return _accumulate_matches(*matches, n_cat if use_cats else 1, md, rec)


def _match_tables(g, d, n_img, iou, md, areas, use_cats, sigmas=None):
    """Per-detection outcome codes (A, T, n) with rank, score and category index of each
    kept detection (in (category, image, rank) order), and the category and non-ignored
    gt count (n_groups, A) of each group: all that accumulation needs, whatever the
    similarity was."""
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
    if g.rle is None and g.kpt is None:
        codes, n_pos_group = kernels.evaluate_groups(
            np.ascontiguousarray(g.box[g_order]), g.area[g_order], g.crowd[g_order],
            g.id_zero[g_order], gs, ge, np.ascontiguousarray(d.box[d_order]), d.area[d_order],
            ds, de, iou, area_rng,
        )  # fmt: skip
    else:
        ious, iou_start = _group_similarities(g, d, g_order, d_order, gs, ge, ds, de, sigmas)
        ignore = g.crowd if g.ignore is None else g.ignore
        codes, n_pos_group = kernels.evaluate_groups_from_ious(
            ious, iou_start, g.area[g_order], g.crowd[g_order], ignore[g_order],
            g.id_zero[g_order], gs, ge, d.area[d_order], ds, de, iou, area_rng,
        )  # fmt: skip
    group_cat = groups // n_img if use_cats else np.zeros(len(groups), dtype=np.int64)
    d_cat = d_key // n_img if use_cats else np.zeros(len(d_key), dtype=np.int64)
    return codes, d_rank, d.score[d_order], d_cat, group_cat, n_pos_group


def _accumulate_matches(codes, rank, score, cat, group_cat, n_pos_group, n_k, md, rec):
    """Precision, recall and scores of match tables whose detections are, per category,
    in (image, rank) order (concatenating tables of consecutive images keeps this)."""
    # A stable sort by score reproduces pycocotools' concatenate-then-mergesort order, and
    # truncation to a smaller max_dets keeps that relative order.
    ranked = np.lexsort((-score, cat))
    cs, ce = _group_bounds(cat[ranked], np.arange(n_k))
    n_pos = np.column_stack([np.bincount(group_cat, weights=col, minlength=n_k)
                             for col in n_pos_group.T]).astype(np.int64)  # fmt: skip
    return kernels.accumulate(
        np.ascontiguousarray(codes[:, :, ranked]), rank[ranked], score[ranked], cs, ce, n_pos,
        np.array(md, dtype=np.int64), rec,
    )  # fmt: skip


def _check_sigmas(kpt_oks_sigmas, iou_type):
    if kpt_oks_sigmas is None:
        return COCO_KPT_OKS_SIGMAS if iou_type == "keypoints" else None
    sigmas = np.asarray(kpt_oks_sigmas, dtype=float)
    if sigmas.ndim != 1 or sigmas.size == 0 or not (sigmas > 0).all():
        raise ValueError(f"kpt_oks_sigmas must be positive numbers, got {kpt_oks_sigmas!r}")
    return sigmas


def _image_sizes(images, img_ids, iou_type):
    """(n_img, 2) heights and widths in ``img_ids`` order (-1 where an image has none)."""
    hw = np.full((len(img_ids), 2), -1, dtype=np.int64)
    if iou_type != "segm":
        return hw
    ids = np.array([im["id"] for im in images])
    pos = _index_of(ids, img_ids, "gt images", False)
    hw[pos, 0] = [int(im.get("height", -1)) for im in images]
    hw[pos, 1] = [int(im.get("width", -1)) for im in images]
    return hw


def _field(records, key, rows, what):
    """Values of one field at the given rows (list of dicts or DataFrame)."""
    if isinstance(records, pd.DataFrame):
        if key not in records:
            raise ValueError(f"{what}: missing column {key!r}")
        return records[key].to_numpy()[rows].tolist()
    out = []
    for r in rows:
        if key not in records[r]:
            raise ValueError(f"{what}: entry {int(r)} has no {key!r}")
        out.append(records[r][key])
    return out


def _segmentation_rles(segs, img_hw, rows, what):
    """One RLE per segmentation (polygons merged, RLE dicts parsed), sized like its image."""
    from skextras.metrics import mask as mask_api

    is_poly = np.array([isinstance(s, list | tuple) for s in segs], dtype=bool)
    poly_rows = np.flatnonzero(is_poly)
    flat, lengths, n_polys = [], [], np.zeros(len(poly_rows), dtype=np.int64)
    for k, i in enumerate(poly_rows):
        n_polys[k] = len(segs[i])
        if n_polys[k] == 0:
            raise ValueError(f"{what}: entry {int(rows[i])} has an empty segmentation")
        for p in segs[i]:
            flat.extend(p)
            lengths.append(len(p))
    lengths = np.array(lengths, dtype=np.int64)
    bad = (lengths % 2 == 1) | (lengths < 6)
    if bad.any():
        k = int(np.searchsorted(np.cumsum(n_polys), np.flatnonzero(bad)[0], "right"))
        raise ValueError(
            f"{what}: entry {int(rows[poly_rows[k]])} has a segmentation polygon of "
            f"{lengths[bad][0]} coordinates; a polygon needs at least 3 (x, y) points"
        )
    xy = np.array(flat, dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ValueError(f"{what}: a segmentation polygon has a coordinate that is not finite")
    point_off = np.concatenate([[0], np.cumsum(lengths // 2)]).astype(np.int64)
    poly_hw = np.repeat(img_hw[poly_rows], n_polys, axis=0)
    if (poly_hw < 0).any():
        i = poly_rows[int(np.flatnonzero(img_hw[poly_rows, 0] < 0)[0])]
        raise ValueError(
            f"{what}: entry {int(rows[i])} is a polygon but its image has no height / width"
        )
    counts, off = mask_kernels.fr_polygons(xy, point_off, poly_hw[:, 0].copy(),
                                           poly_hw[:, 1].copy())  # fmt: skip
    group_off = np.concatenate([[0], np.cumsum(n_polys)]).astype(np.int64)
    counts, off = mask_kernels.merge_groups(counts, off, group_off, False)
    polys = mask_api._RLEs(counts, off, img_hw[poly_rows, 0].copy(), img_hw[poly_rows, 1].copy())
    dict_rows = np.flatnonzero(~is_poly)
    try:
        dicts = mask_api._RLEs.from_objects([segs[i] for i in dict_rows], "segmentation")
    except ValueError as exc:
        k = int(str(exc).split("[", 1)[1].split("]", 1)[0]) if "[" in str(exc) else 0
        detail = str(exc).split("]: ", 1)[-1]
        raise ValueError(
            f"{what}: entry {int(rows[dict_rows[k]])} segmentation: {detail}"
        ) from None
    rles = _concat_rles(polys, dicts, np.concatenate([poly_rows, dict_rows]))
    wrong = (img_hw[:, 0] >= 0) & ((rles.h != img_hw[:, 0]) | (rles.w != img_hw[:, 1]))
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"{what}: entry {int(rows[i])} has a segmentation of size "
            f"[{rles.h[i]}, {rles.w[i]}] but its image is {img_hw[i, 0]} x {img_hw[i, 1]}"
        )
    return rles


def _concat_rles(a, b, positions):
    """RLEs ``a`` then ``b`` put at ``positions`` (a permutation of their rows)."""
    from skextras.metrics.mask import _RLEs

    if len(a) == 0 or len(b) == 0:  # one kind only: already in row order
        return b if len(a) == 0 else a
    counts = np.concatenate([a.counts, b.counts])
    offsets = np.concatenate([a.offsets[:-1], b.offsets + len(a.counts)])
    h, w = np.concatenate([a.h, b.h]), np.concatenate([a.w, b.w])
    src = np.empty(len(positions), dtype=np.int64)
    src[positions] = np.arange(len(positions))
    lengths = np.diff(offsets)[src]
    new_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    take = np.repeat(offsets[:-1][src] - new_off[:-1], lengths) + np.arange(new_off[-1])
    return _RLEs(counts[take], new_off, h[src], w[src])


def _keypoints(values, n_k, rows, what):
    """(n, K, 3) float keypoints; each entry needs exactly 3 * K numbers."""
    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    bad = lengths != 3 * n_k
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        why = "not a multiple of 3" if lengths[i] % 3 else f"expected {3 * n_k} (3 per sigma)"
        raise ValueError(f"{what}: entry {int(rows[i])} has {lengths[i]} keypoint numbers, {why}")
    kpt = np.array([v for v in values], dtype=float).reshape(len(values), n_k, 3)
    if not np.isfinite(kpt).all():
        i = int(np.flatnonzero(~np.isfinite(kpt).all(axis=(1, 2)))[0])
        raise ValueError(f"{what}: entry {int(rows[i])} has a keypoint that is not finite")
    return kpt


def _add_task_columns(g, anns, what, iou_type, img_hw, sigmas):
    """Masks (segm) or keypoints and the ignore flag of gt table ``g`` (rows ``g.rows``)."""
    if iou_type == "segm":
        segs = _field(anns, "segmentation", g.rows, what)
        g.rle = _segmentation_rles(segs, img_hw[g.img], g.rows, what)
        return
    g.kpt = _keypoints(_field(anns, "keypoints", g.rows, what), len(sigmas), g.rows, what)
    if isinstance(anns, pd.DataFrame) and "num_keypoints" in anns:
        n_vis = anns["num_keypoints"].to_numpy()[g.rows]
    elif not isinstance(anns, pd.DataFrame) and all("num_keypoints" in anns[r] for r in g.rows):
        n_vis = np.array([anns[r]["num_keypoints"] for r in g.rows])
    else:
        n_vis = (g.kpt[:, :, 2] > 0).sum(axis=1)
    g.ignore = g.crowd | (np.asarray(n_vis).reshape(-1) == 0)


def _task_dt_table(dt, img_ids, cat_ids, iou_type, img_hw, sigmas):
    """Detections with masks or keypoints; area as ``COCO.loadRes`` sets it."""
    dt = _load_json(dt)
    what = "detections"
    if isinstance(dt, dict) and "annotations" in dt:
        dt = dt["annotations"]
    if not isinstance(dt, (list, tuple, pd.DataFrame)):
        raise ValueError(
            f"dt must be result dicts, a json path or a DataFrame, got {type(dt).__name__}"
        )
    score = _column(dt, "score", what)
    if np.isnan(score).any():
        raise ValueError(f"{what}: score is NaN at row {int(np.flatnonzero(np.isnan(score))[0])}")
    img = _index_of(_column(dt, "image_id", what, dtype=None), img_ids, what, True)
    cat = _index_of(_column(dt, "category_id", what, dtype=None), cat_ids, what, False)
    rows = np.flatnonzero(cat >= 0)
    if isinstance(dt, pd.DataFrame):
        has_box = "bbox" in dt or {"x", "y", "w", "h"} <= set(dt)
    else:
        has_box = len(dt) > 0 and len(dt[0].get("bbox", [])) > 0
    box = _bbox_column(dt, what)[rows] if has_box else np.zeros((len(rows), 4))
    d = _Table(img[rows], cat[rows], box, box[:, 2] * box[:, 3], score[rows], rows=rows)
    if iou_type == "segm":
        segs = _field(dt, "segmentation", rows, what)
        d.rle = _segmentation_rles(segs, img_hw[d.img], rows, what)
        if not has_box:
            d.area = mask_kernels.area(d.rle.counts, d.rle.offsets).astype(float)
    else:
        d.kpt = _keypoints(_field(dt, "keypoints", rows, what), len(sigmas), rows, what)
        if not has_box:
            lo, hi = d.kpt[:, :, :2].min(axis=1), d.kpt[:, :, :2].max(axis=1)
            d.area = (hi[:, 0] - lo[:, 0]) * (hi[:, 1] - lo[:, 1])
    return d


def _pair_rows(gs, ge, ds, de, start):
    """(dt row, gt row) of every pair of every group, dt-major within a group: group ``k``'s
    pairs are ``start[k]:start[k + 1]``, ``(ds[k] + i, gs[k] + j)`` at ``i * ng + j``."""
    group = np.repeat(np.arange(len(gs)), np.diff(start))
    local = np.arange(start[-1]) - start[group]
    ng = (ge - gs)[group]  # >= 1: a group without gts has no pairs
    return ds[group] + local // ng, gs[group] + local % ng


def _oks(gt_kpt, gt_box, gt_area, dt_kpt, variances, gs, ge, ds, de, start):
    """pycocotools' ``computeOks`` for every pair of every group (flat, see ``_pair_rows``),
    vectorised over the pairs with its operation order, so the values are its own to the
    last bit: ``e = (dx**2 + dy**2) / var / (area + eps) / 2`` with, for a gt without a
    visible keypoint, the distance to its box enlarged by its size on each side; the OKS is
    ``np.sum(np.exp(-e[visible])) / n_visible`` (all keypoints when none is visible), and
    numpy's pairwise summation is reproduced by summing the pairs of one count as the rows
    of a C-contiguous array along its last axis (``np.add.reduceat`` would not do it)."""
    d_row, g_row = _pair_rows(gs, ge, ds, de, start)
    # per gt first (fewer rows than pairs), then gathered per pair
    g_visible = gt_kpt[:, :, 2] > 0
    g_outside = ~g_visible.any(axis=1)
    g_visible[g_outside] = True  # no visible keypoint: every keypoint counts
    g_count = g_visible.sum(axis=1)
    visible, outside, count = g_visible[g_row], g_outside[g_row], g_count[g_row]
    gx, gy = (np.ascontiguousarray(gt_kpt[:, :, c])[g_row] for c in range(2))
    xd, yd = (np.ascontiguousarray(dt_kpt[:, :, c])[d_row] for c in range(2))
    dx, dy = xd - gx, yd - gy
    if outside.any():
        bb, xd, yd = gt_box[g_row[outside]], xd[outside], yd[outside]
        x0, x1 = bb[:, 0] - bb[:, 2], bb[:, 0] + bb[:, 2] * 2
        y0, y1 = bb[:, 1] - bb[:, 3], bb[:, 1] + bb[:, 3] * 2
        dx[outside] = np.maximum(0, x0[:, None] - xd) + np.maximum(0, xd - x1[:, None])
        dy[outside] = np.maximum(0, y0[:, None] - yd) + np.maximum(0, yd - y1[:, None])
    dx *= dx
    dy *= dy
    dx += dy
    dx /= variances
    dx /= (gt_area[g_row] + np.spacing(1))[:, None]
    dx /= 2
    kept = -dx[visible]  # each pair's kept exponents, back to back
    np.exp(kept, out=kept)
    first = np.zeros(len(count), dtype=np.int64)
    np.cumsum(count[:-1], out=first[1:])
    out = np.empty(len(count))
    order = np.argsort(count, kind="stable")
    ends = np.flatnonzero(np.diff(count[order])) + 1
    for rows in np.split(order, ends) if len(order) else ():
        n = count[rows[0]]
        out[rows] = kept[first[rows][:, None] + np.arange(n)].sum(axis=1) / n
    return out


def _group_similarities(g, d, g_order, d_order, gs, ge, ds, de, sigmas):
    """Flat mask IoUs or OKS of every group (group k: (nd, ng) at ``start[k]``)."""
    start = np.concatenate([[0], np.cumsum((de - ds) * (ge - gs))]).astype(np.int64)
    if g.rle is not None:
        gr, dr = g.rle, d.rle
        ious = mask_kernels.group_ious(
            dr.counts, dr.offsets, dr.boxes(), dr.h, dr.w, d_order,
            gr.counts, gr.offsets, gr.boxes(), gr.h, gr.w, g_order, g.crowd[g_order],
            gs, ge, ds, de, start,
        )  # fmt: skip
        return ious, start
    ious = _oks(g.kpt[g_order], g.box[g_order], g.area[g_order], d.kpt[d_order], (sigmas * 2) ** 2,
                gs, ge, ds, de, start)  # fmt: skip
    return ious, start
