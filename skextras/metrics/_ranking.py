"""Multilabel mean average precision and scorers (classification and detection mAP)."""

import numpy as np
from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.metrics import make_scorer
from sklearn.preprocessing import label_binarize
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length, column_or_1d

_AVERAGES = (None, "macro", "micro", "weighted", "samples")


def _column_ap(y, score, weight):
    """Uninterpolated AP of every column at once (scikit-learn's step-function definition).

    AP = sum over positives of weight * precision at the end of the positive's tie run,
    divided by the positive weight; vectorised over columns.
    """
    n = y.shape[0]
    order = np.argsort(-score, axis=0, kind="stable")
    s = np.take_along_axis(score, order, axis=0)
    w = weight[order]
    pos = np.take_along_axis(y, order, axis=0) * w
    tps = np.cumsum(pos, axis=0)
    fps = np.cumsum(w - pos, axis=0)
    is_end = np.ones_like(s, dtype=bool)
    is_end[:-1] = s[1:] != s[:-1]
    idx = np.where(is_end, np.arange(n)[:, None], n - 1)
    run_end = np.minimum.accumulate(idx[::-1], axis=0)[::-1]
    tp_end = np.take_along_axis(tps, run_end, axis=0)
    seen = tp_end + np.take_along_axis(fps, run_end, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(seen > 0, tp_end / seen, 0.0)
        total = tps[-1] if n else np.zeros(y.shape[1])
        ap = np.where(total > 0, (pos * precision).sum(axis=0) / total, 0.0)
    return np.maximum(ap, 0.0)


def mean_average_precision_score(y_true, y_score, *, average="macro", sample_weight=None):
    """Mean average precision of multilabel (or binary / multiclass) scores.

    Equal to :func:`sklearn.metrics.average_precision_score` (step-function AP, no
    interpolation) for every ``average``, computed for all labels at once.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Binary labels, a label indicator matrix, or multiclass labels (binarised in
        sorted order of the labels present).
    y_score : array-like of shape (n_samples,) or (n_samples, n_labels)
        Scores, probabilities or decision values.
    average : {"macro", "micro", "weighted", "samples"} or None, default "macro"
        None returns the AP of each label. A label without positives scores 0 (as in
        scikit-learn).
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mean_average_precision_score
    >>> y = np.array([[1, 0], [0, 1], [1, 1]])
    >>> s = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4]])
    >>> float(mean_average_precision_score(y, s))
    1.0
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    check_consistent_length(y_true, y_score, sample_weight)
    kind = type_of_target(y_true, input_name="y_true")
    if kind == "multiclass":
        y_true = label_binarize(y_true, classes=np.unique(y_true))
    elif kind not in ("binary", "multilabel-indicator"):
        raise ValueError(f"y_true must be binary, multiclass or multilabel, got {kind!r}")
    if kind == "binary":
        labels = np.unique(y_true)
        if len(labels) == 2 and 1 not in labels.tolist():
            raise ValueError(f"binary y_true must use 1 as the positive label, got {labels}")
        y_true, y_score = (y_true == 1).reshape(-1, 1), y_score.reshape(-1, 1)
    if y_score.shape != y_true.shape:
        raise ValueError(f"y_score has shape {y_score.shape}, y_true needs {y_true.shape}")
    if not np.isfinite(y_score).all():
        raise ValueError("y_score contains NaN or infinite values")
    y = y_true.astype(float)
    w = np.ones(len(y)) if sample_weight is None else column_or_1d(sample_weight).astype(float)
    if kind == "binary":
        return float(_column_ap(y, y_score, w)[0])
    if average == "micro":
        flat_w = np.repeat(w, y.shape[1])
        return float(_column_ap(y.reshape(-1, 1), y_score.reshape(-1, 1), flat_w)[0])
    if average == "samples":
        per_row = _column_ap(y.T, y_score.T, np.ones(y.shape[1]))
        return float(np.average(per_row, weights=w))
    per_label = _column_ap(y, y_score, w)
    if average is None:
        return per_label
    if average == "weighted":
        weights = (y * w[:, None]).sum(axis=0)
        if np.isclose(weights.sum(), 0.0):
            return 0.0
        return float(np.average(per_label, weights=weights))
    return float(per_label.mean())


def _to_records(images, with_score):
    """Per-image dicts of ``boxes`` (xyxy), ``labels`` [, ``scores``] → one record table."""
    import pandas as pd

    parts = []
    for i, item in enumerate(images):
        boxes = np.asarray(item["boxes"], dtype=float).reshape(-1, 4)
        part = pd.DataFrame(boxes, columns=["xmin", "ymin", "xmax", "ymax"])
        part.insert(0, "category_id", np.asarray(item["labels"]).reshape(-1))
        part.insert(0, "image_id", i)
        if with_score:
            part["score"] = np.asarray(item["scores"], dtype=float).reshape(-1)
        for flag in ("difficult", "iscrowd"):
            part[flag] = np.asarray(item.get(flag, np.zeros(len(part))), dtype=bool)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def detection_map_score(y_true, y_pred, *, metric="coco", iou_threshold=0.5):
    """Detection mAP for estimators whose ``predict`` returns boxes (one dict per image).

    Parameters
    ----------
    y_true : list of dict
        Per image: ``boxes`` (n, 4) xyxy, ``labels`` (n,), optional ``iscrowd`` /
        ``difficult`` (n,) — the torchvision / torchmetrics convention.
    y_pred : list of dict
        Per image: ``boxes``, ``scores``, ``labels``.
    metric : {"coco", "voc2007", "voc2012", "11point", "allpoint", "11point_arange"}
        ``"coco"`` returns COCO AP@[.5:.95]; the VOC methods the VOC mAP at
        ``iou_threshold`` (without the devkit's +1 pixel convention).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import detection_map_score
    >>> y_true = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1])},
    ...           {"boxes": np.array([[5, 5, 20, 20]]), "labels": np.array([2])}]
    >>> y_pred = [{"boxes": np.array([[0, 0, 10, 10]]), "labels": np.array([1]),
    ...            "scores": np.array([0.9])},
    ...           {"boxes": np.array([[30, 30, 40, 40]]), "labels": np.array([2]),
    ...            "scores": np.array([0.8])}]
    >>> detection_map_score(y_true, y_pred, metric="voc2012")  # class 1 found, class 2 missed
    0.5
    """
    from skextras.metrics._coco import coco_evaluate
    from skextras.metrics._readers import records_to_coco
    from skextras.metrics._voc import voc_evaluate

    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} images, y_pred has {len(y_pred)}")
    gt, dt = _to_records(y_true, False), _to_records(y_pred, True)
    if metric == "coco":
        coco_gt, coco_dt = records_to_coco(gt, dt)
        coco_gt["images"] = [{"id": i + 1} for i in range(len(y_true))]
        coco_gt["annotations"]["image_id"] = gt["image_id"].to_numpy() + 1
        coco_dt["image_id"] = dt["image_id"].to_numpy() + 1
        return float(max(coco_evaluate(coco_gt, coco_dt).stats[0], 0.0))
    res = voc_evaluate(gt, dt, method=metric, iou_threshold=iou_threshold, pixel_plus_one=False)
    return res.mAP


_RESPONSE = ("decision_function", "predict_proba")
SCORERS = {
    "mean_average_precision": make_scorer(mean_average_precision_score, response_method=_RESPONSE),
    **{
        f"mean_average_precision_{avg}": make_scorer(
            mean_average_precision_score, response_method=_RESPONSE, average=avg
        )
        for avg in ("micro", "weighted", "samples")
    },
    "detection_map_coco": make_scorer(detection_map_score, metric="coco"),
    "detection_map_voc2007": make_scorer(detection_map_score, metric="voc2007"),
    "detection_map_voc2012": make_scorer(detection_map_score, metric="voc2012"),
}


def get_scorer(scoring):
    """A scorer by name: ours (``SCORERS``) first, then scikit-learn's.

    Scikit-learn validates ``scoring`` strings against its own registry, so pass the object:
    ``GridSearchCV(est, grid, scoring=get_scorer("mean_average_precision"))`` or a dict
    ``scoring={"mAP": get_scorer("mean_average_precision"), "acc": "accuracy"}``.

    Parameters
    ----------
    scoring : str or callable
        A key of :data:`SCORERS` (``"mean_average_precision"``, its ``_micro`` /
        ``_weighted`` / ``_samples`` variants, ``"detection_map_coco"``,
        ``"detection_map_voc2007"``, ``"detection_map_voc2012"``) or anything
        :func:`sklearn.metrics.get_scorer` accepts.

    Returns
    -------
    callable
        A scorer ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from skextras.metrics import get_scorer
    >>> X, Y = make_multilabel_classification(n_samples=60, random_state=0)
    >>> scores = cross_val_score(KNeighborsClassifier(), X, Y, cv=3,
    ...                          scoring=get_scorer("mean_average_precision"))
    >>> scores.shape
    (3,)
    """
    if isinstance(scoring, str) and scoring in SCORERS:
        return SCORERS[scoring]
    return sklearn_get_scorer(scoring)
