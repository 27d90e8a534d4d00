"""
COCO evaluation and precision-recall curves
===========================================

:func:`~skextras.metrics.coco_evaluate` returns pycocotools' ``COCOeval.eval`` layout:
``precision[T, R, K, A, M]`` (IoU threshold, recall threshold, category, area range, max
detections). A small synthetic detector (boxes jittered around the ground truth, some misses
and false alarms, a score that drops with the jitter) is evaluated, the 12 summary lines are
printed, and the interpolated PR curve of each class is read at IoU 0.5 and 0.75.
"""

import matplotlib.pyplot as plt
import numpy as np

from skextras.metrics import coco_evaluate

rng = np.random.default_rng(0)
categories = [{"id": k, "name": name} for k, name in enumerate(["cat", "dog", "bird"], 1)]
images, annotations, detections = [], [], []
for image_id in range(1, 201):
    images.append({"id": image_id, "width": 640, "height": 480})
    for _ in range(rng.integers(1, 5)):
        w, h = rng.uniform(20, 200, size=2)
        x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
        cat = int(rng.integers(1, 4))
        annotations.append(
            {"id": len(annotations) + 1, "image_id": image_id, "category_id": cat,
             "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}
        )  # fmt: skip
        if rng.random() < 0.15 * cat:  # harder classes are missed more often
            continue
        jitter = rng.normal(scale=0.04 * cat, size=4) * [w, h, w, h]
        score = float(np.exp(-np.abs(jitter).sum() / (w + h)) * rng.uniform(0.6, 1.0))
        detections.append(
            {"image_id": image_id, "category_id": cat, "score": score,
             "bbox": [x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]]}
        )  # fmt: skip
    for _ in range(rng.poisson(1.0)):  # false alarms
        w, h = rng.uniform(20, 200, size=2)
        detections.append(
            {"image_id": image_id, "category_id": int(rng.integers(1, 4)),
             "score": float(rng.uniform(0, 0.7)),
             "bbox": [rng.uniform(0, 400), rng.uniform(0, 300), w, h]}
        )  # fmt: skip

gt = {"images": images, "annotations": annotations, "categories": categories}
result = coco_evaluate(gt, detections)
result.summary()

# %%
# Interpolated precision at the 101 recall thresholds
# ---------------------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, iou in zip(axes, [0.5, 0.75]):
    t = int(np.flatnonzero(np.isclose(result.iou_thresholds, iou))[0])
    for k, cat in enumerate(categories):
        precision = result.precision[t, :, k, 0, -1]  # area "all", 100 detections
        ax.plot(result.rec_thresholds, precision, label=f"{cat['name']} AP={precision.mean():.3f}")
    ax.set_title(f"IoU {iou}")
    ax.set_xlabel("recall")
    ax.legend(loc="lower left")
axes[0].set_ylabel("precision")
fig.tight_layout()
plt.show()
