"""Precision / recall curves of a COCO or VOC evaluation (needs matplotlib, the plot extra)."""

import numpy as np


def _require_matplotlib():
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'skextras[plot]'") from exc
    return matplotlib


def plot_pr_curves(result, path=None, *, ax=None, iou_threshold=0.5, max_classes=20):
    """Draw one precision-recall curve per class; save to ``path`` when given.

    Parameters
    ----------
    result : VOCEvalResult or COCOEvalResult
        VOC: the raw cumulative curves. COCO: the interpolated precision at the 101 recall
        thresholds for ``iou_threshold``, area "all" and the largest ``max_dets``.
    path : str or Path, optional
        Image file to write (format from the extension).
    ax : matplotlib Axes, optional
    max_classes : int, default 20
        Only the classes with the most ground truth are drawn, to keep the legend legible.

    Returns
    -------
    matplotlib Axes
    """
    matplotlib = _require_matplotlib()
    if ax is None:
        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 5))
    for label, recall, precision in _curves(result, iou_threshold)[:max_classes]:
        ax.step(recall, precision, where="post", label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower left", fontsize="small")
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax


def _curves(result, iou_threshold):
    """(label, recall, precision) per class, classes with the most positives first."""
    if hasattr(result, "iou_thresholds"):
        t = np.flatnonzero(np.isclose(result.iou_thresholds, iou_threshold))
        if t.size == 0:
            raise ValueError(f"iou_threshold={iou_threshold} is not one of the evaluated ones")
        out = []
        for k, cat in enumerate(result.cat_ids):
            prec = result.precision[t[0], :, k, 0, -1]
            if (prec > -1).any():
                name = result.cat_names.get(cat.item(), str(cat))
                out.append((f"{name} AP={result.per_class[cat.item()][1]:.3f}",
                            result.rec_thresholds, prec))  # fmt: skip
        return out
    order = sorted(result.per_class, key=lambda c: -result.n_positives[c])
    return [
        (f"{c} AP={result.per_class[c]:.3f}", result.recall[c], result.precision[c])
        for c in order
        if result.n_positives[c] > 0
    ]
