"""Streaming COCO evaluation: match each batch at ``update``, accumulate at ``compute``.

``COCOEvaluator.update`` takes per-image dicts of arrays (the layout of torchmetrics'
``MeanAveragePrecision``), turns the batch into the same annotation tables
:func:`coco_evaluate` builds, and runs the same grouping and matching kernels at once. What
is kept is the match table: per kept detection its outcome code at every (area range, IoU
threshold) (int8), its score, rank and label, and per (image, category) group the count of
non-ignored ground truths. Boxes, masks and keypoints are dropped after the batch, so
memory grows with the number of detections, not with mask pixels.

Invariant: images are numbered in arrival order, and within a category the stored
detections are in (image, rank) order; ``compute`` sorts them stably by score, which is
exactly the order :func:`coco_evaluate` uses on the concatenated data. The result therefore
equals ``coco_evaluate`` on all images in order (bit for bit), and ``merge`` (another
evaluator's images appended after this one's) equals one evaluator fed both streams.
"""

import numpy as np

from skextras.metrics import _coco
from skextras.metrics import _mask_kernels as mask_kernels
from skextras.metrics.mask import _RLEs


def _to_numpy(x, dtype=None):
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU; torch is not imported
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _xywh(boxes, box_format):
    if box_format == "xywh":
        return boxes
    if box_format == "xyxy":
        return np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
    return np.column_stack([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, 2:]])  # cxcywh


class COCOEvaluator:
    """COCO mAP over a stream of batches, equal to :func:`coco_evaluate` on all of them.

    Parameters
    ----------
    iou_type : {"bbox", "segm", "keypoints"}, default "bbox"
        What each prediction / target carries: ``boxes``, ``masks`` or ``keypoints``.
    box_format : {"xyxy", "xywh", "cxcywh"}, default "xyxy"
        Layout of ``boxes`` (torchmetrics' default is xyxy; COCO json is xywh).
    iou_thresholds, rec_thresholds, max_dets, area_ranges, use_cats, pycocotools_compat, \
kpt_oks_sigmas
        As in :func:`coco_evaluate`.

    Attributes
    ----------
    n_images_ : int
        Images seen since the last ``reset``.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import COCOEvaluator
    >>> ev = COCOEvaluator("bbox")
    >>> _ = ev.update([{"boxes": np.array([[10, 10, 60, 60]]), "scores": np.array([0.9]),
    ...                 "labels": np.array([1])}],
    ...               [{"boxes": np.array([[12, 10, 62, 60]]), "labels": np.array([1])}])
    >>> round(ev.compute().stats_dict["AP50"], 3)
    1.0
    """

    def __init__(self, iou_type="bbox", *, box_format="xyxy", iou_thresholds=None,
                 rec_thresholds=None, max_dets=None, area_ranges=None, use_cats=True,
                 pycocotools_compat=False, kpt_oks_sigmas=None):  # fmt: skip
        self.iou_type = iou_type
        self.box_format = box_format
        self.iou_thresholds = iou_thresholds
        self.rec_thresholds = rec_thresholds
        self.max_dets = max_dets
        self.area_ranges = area_ranges
        self.use_cats = use_cats
        self.pycocotools_compat = pycocotools_compat
        self.kpt_oks_sigmas = kpt_oks_sigmas
        if box_format not in ("xyxy", "xywh", "cxcywh"):
            raise ValueError(f"box_format must be xyxy, xywh or cxcywh, got {box_format!r}")
        self._iou, self._rec, self._md, self._areas = _coco._check_params(
            iou_type, iou_thresholds, rec_thresholds, max_dets, area_ranges, pycocotools_compat
        )
        self._sigmas = _coco._check_sigmas(kpt_oks_sigmas, iou_type)
        self.reset()

    def reset(self):
        """Forget every image seen."""
        self._tables = []
        self.n_images_ = 0
        return self

    def update(self, predictions, targets):
        """Match one batch.

        Parameters
        ----------
        predictions : list of dict
            Per image: ``scores`` (n,), ``labels`` (n,) and ``boxes`` (n, 4) / ``masks``
            (n, H, W) bool / ``keypoints`` (n, K, 3), (n, K, 2) or (n, 3K). numpy arrays
            or torch tensors.
        targets : list of dict
            Per image: ``labels`` and ``boxes`` / ``masks`` / ``keypoints`` (keypoints
            also need ``boxes``, used for people without a visible keypoint), optional
            ``iscrowd`` (default 0), ``area`` (default box w * h, mask area for segm) and
            ``num_keypoints`` (default the count of visibility > 0).
        """
        if len(predictions) != len(targets):
            raise ValueError(f"predictions has {len(predictions)} images but targets has "
                             f"{len(targets)}")  # fmt: skip
        n_img = len(predictions)
        g = self._table([self._image(t, i, "targets") for i, t in enumerate(targets)], True)
        d = self._table([self._image(p, i, "predictions") for i, p in enumerate(predictions)])
        self._check_mask_sizes(g, d)
        labels = np.union1d(g.cat, d.cat)
        g.cat, d.cat = np.searchsorted(labels, g.cat), np.searchsorted(labels, d.cat)
        codes, rank, score, d_cat, group_cat, n_pos = _coco._match_tables(
            g, d, n_img, self._iou, self._md, self._areas, self.use_cats, self._sigmas
        )
        if self.use_cats:
            d_cat, group_cat = labels[d_cat], labels[group_cat]
        self._tables.append((codes, rank, score, d_cat, group_cat, n_pos))
        self.n_images_ += n_img
        return self

    def merge(self, other):
        """Append ``other``'s images after this evaluator's (data-parallel evaluation)."""
        if not isinstance(other, COCOEvaluator):
            raise TypeError(f"other must be a COCOEvaluator, got {type(other).__name__}")
        mine = (self.iou_type, self._md, self._areas, self.use_cats)
        theirs = (other.iou_type, other._md, other._areas, other.use_cats)
        same_thr = np.array_equal(self._iou, other._iou) and np.array_equal(self._rec, other._rec)
        if mine != theirs or not same_thr:
            raise ValueError("other was built with different parameters; cannot merge")
        self._tables.extend(other._tables)
        self.n_images_ += other.n_images_
        return self

    def compute(self):
        """:class:`COCOEvalResult` of every image seen (labels are the category ids)."""
        n_areas, n_thr = len(self._areas), len(self._iou)
        parts = list(zip(*self._tables)) if self._tables else None
        if parts is None:
            codes = np.zeros((n_areas, n_thr, 0), dtype=np.int8)
            rank = score = d_cat = group_cat = np.zeros(0)
            n_pos = np.zeros((0, n_areas), dtype=np.int64)
        else:
            codes = np.concatenate(parts[0], axis=2)
            rank, score, d_cat, group_cat = (np.concatenate(p) for p in parts[1:5])
            n_pos = np.concatenate(parts[5])
        labels = np.union1d(d_cat, group_cat).astype(np.int64) if self.use_cats else [-1]
        n_k = len(labels)
        if self.use_cats:
            d_cat, group_cat = np.searchsorted(labels, d_cat), np.searchsorted(labels, group_cat)
        precision, recall, scores = _coco._accumulate_matches(
            codes, rank.astype(np.int64), score.astype(float), d_cat.astype(np.int64),
            group_cat.astype(np.int64), n_pos, n_k, self._md, self._rec,
        )  # fmt: skip
        return _coco.COCOEvalResult(
            precision, recall, scores, self._iou, self._rec, self._md, self._areas,
            np.asarray(labels), {}, self.pycocotools_compat, self.iou_type,
        )  # fmt: skip

    def _image(self, item, i, what):
        """The arrays of one image's dict, checked; ``what`` is 'predictions' / 'targets'."""
        if not isinstance(item, dict):
            raise TypeError(f"{what}[{i}] must be a dict of arrays, got {type(item).__name__}")
        is_gt = what == "targets"
        field = {"bbox": "boxes", "segm": "masks", "keypoints": "keypoints"}[self.iou_type]
        need = ["labels", field] + ([] if is_gt else ["scores"])
        if is_gt and self.iou_type == "keypoints":
            need.append("boxes")
        for key in need:
            if key not in item:
                raise ValueError(f"{what}[{i}] has no {key!r}")
        out = {"labels": _to_numpy(item["labels"]).reshape(-1).astype(np.int64)}
        n = len(out["labels"])
        if not is_gt:
            out["scores"] = _to_numpy(item["scores"], float).reshape(-1)
        if "boxes" in need or (self.iou_type == "bbox"):
            boxes = _to_numpy(item["boxes"], float).reshape(-1, 4)
            out["boxes"] = _xywh(boxes, self.box_format)
        if self.iou_type == "segm":
            masks = _to_numpy(item["masks"])
            if masks.ndim == 2 and n == 0:
                masks = masks.reshape(0, *masks.shape)
            if masks.ndim != 3:
                raise ValueError(f"{what}[{i}]['masks'] must be (n, H, W), got {masks.shape}")
            out["masks"] = masks
        if self.iou_type == "keypoints":
            kpt = _to_numpy(item["keypoints"], float)
            if n == 0:
                kpt = np.zeros((0, len(self._sigmas), 3))
            if kpt.ndim == 2 and kpt.shape[0] == n:
                if kpt.shape[1] % 3:
                    raise ValueError(f"{what}[{i}]['keypoints'] has {kpt.shape[1]} numbers per "
                                     "instance, not a multiple of 3")  # fmt: skip
                kpt = kpt.reshape(n, kpt.shape[1] // 3, 3)
            if kpt.ndim != 3 or kpt.shape[2] not in (2, 3) or kpt.shape[0] != n:
                raise ValueError(f"{what}[{i}]['keypoints'] must be (n, K, 3), got {kpt.shape}")
            if kpt.shape[2] == 2:
                kpt = np.concatenate([kpt, np.ones((n, kpt.shape[1], 1))], axis=2)
            if kpt.shape[1] != len(self._sigmas):
                raise ValueError(f"{what}[{i}]['keypoints'] has {kpt.shape[1]} keypoints but "
                                 f"kpt_oks_sigmas has {len(self._sigmas)}")  # fmt: skip
            out["keypoints"] = kpt
        optional = ("iscrowd", "area", "num_keypoints") if is_gt else ()
        for key in ("scores", "boxes", "masks", "keypoints", *optional):
            if key in out or (key in optional and key in item):
                value = out[key] if key in out else _to_numpy(item[key]).reshape(-1)
                out[key] = value
                if len(value) != n:
                    raise ValueError(f"{what}[{i}]['{key}'] has {len(value)} entries but "
                                     f"'labels' has {n}")  # fmt: skip
        out["image"] = i
        return out

    def _table(self, images, is_gt=False):
        """One _Table for the batch: image index = position in the batch."""
        n = np.array([len(im["labels"]) for im in images], dtype=np.int64)
        img = np.repeat(np.arange(len(images)), n)
        cat = np.concatenate([im["labels"] for im in images]) if images else np.zeros(0, int)
        box = np.concatenate([im.get("boxes", np.zeros((len(im["labels"]), 4)))
                              for im in images]) if images else np.zeros((0, 4))  # fmt: skip
        t = _coco._Table(img, cat.astype(np.int64), box.reshape(-1, 4), box[:, 2] * box[:, 3])
        if self.iou_type == "segm":
            t.rle, t.hw = self._encode_masks(images)
            area = mask_kernels.area(t.rle.counts, t.rle.offsets).astype(float)
            t.area = area
        if self.iou_type == "keypoints":
            t.kpt = np.concatenate([im["keypoints"] for im in images]).reshape(
                len(cat), len(self._sigmas), 3
            )
            if not is_gt:
                lo, hi = t.kpt[:, :, :2].min(axis=1), t.kpt[:, :, :2].max(axis=1)
                t.area = (hi[:, 0] - lo[:, 0]) * (hi[:, 1] - lo[:, 1])
        if not is_gt:
            t.score = np.concatenate([im["scores"] for im in images])
            return t
        t.crowd = np.concatenate([im.get("iscrowd", np.zeros(len(im["labels"])))
                                  for im in images]).astype(bool)  # fmt: skip
        t.id_zero = np.zeros(len(cat), dtype=bool)
        if any("area" in im for im in images):
            given = np.concatenate([im.get("area", np.full(len(im["labels"]), np.nan))
                                    for im in images]).astype(float)  # fmt: skip
            t.area = np.where(np.isnan(given), t.area, given)
        if self.iou_type == "keypoints":
            n_vis = np.concatenate([
                _to_numpy(im["num_keypoints"]).reshape(-1) if "num_keypoints" in im
                else (im["keypoints"][:, :, 2] > 0).sum(axis=1) for im in images
            ])  # fmt: skip
            t.ignore = t.crowd | (n_vis == 0)
        return t

    def _encode_masks(self, images):
        """RLEs of every mask of the batch (column-major, as COCO) and each image's size."""
        counts, offsets, hs, ws, hw = [], [np.zeros(1, dtype=np.int64)], [], [], []
        total = 0
        for im in images:
            m = im["masks"]
            k, h, w = m.shape
            hw.append((h, w) if k else (-1, -1))
            flat = np.ascontiguousarray(m.astype(np.uint8, copy=False).transpose(0, 2, 1))
            c, o = mask_kernels.encode(flat.reshape(k, h * w))
            counts.append(c)
            offsets.append(o[1:] + total)
            total += len(c)
            hs.append(np.full(k, h, dtype=np.int64))
            ws.append(np.full(k, w, dtype=np.int64))
        rles = _RLEs(np.concatenate(counts) if counts else np.zeros(0, np.int64),
                     np.concatenate(offsets), np.concatenate(hs) if hs else np.zeros(0, np.int64),
                     np.concatenate(ws) if ws else np.zeros(0, np.int64))  # fmt: skip
        return rles, np.array(hw, dtype=np.int64).reshape(-1, 2)

    def _check_mask_sizes(self, g, d):
        if self.iou_type != "segm":
            return
        for i, ((gh, gw), (dh, dw)) in enumerate(zip(g.hw, d.hw)):
            if gh >= 0 and dh >= 0 and (gh, gw) != (dh, dw):
                raise ValueError(
                    f"predictions[{i}]['masks'] are {dh} x {dw} but targets[{i}]['masks'] "
                    f"are {gh} x {gw}: masks must have the image's size"
                )
