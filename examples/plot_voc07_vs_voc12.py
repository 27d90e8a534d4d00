"""
Pascal VOC: 11-point (VOC2007) against all-point (VOC2010+) average precision
=============================================================================

:func:`~skextras.metrics.voc_evaluate` computes both of the devkit's definitions from the same
matches: ``method="voc2007"`` averages the interpolated precision at the 11 recalls 0, 0.1,
..., 1; ``method="voc2012"`` takes the area under the whole precision envelope. The figure
shows one class's raw precision-recall curve, its envelope and the 11 points.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skextras.metrics import voc_evaluate

rng = np.random.default_rng(1)
gt, dt = [], []
for image in range(150):
    for _ in range(rng.integers(1, 4)):
        cls = str(rng.choice(["car", "person", "bicycle"]))
        x, y = rng.uniform(0, 300, size=2)
        w, h = rng.uniform(30, 150, size=2)
        gt.append({"image_id": image, "category_id": cls, "bbox": [x, y, x + w, y + h]})
        if rng.random() < 0.8:
            shift = rng.normal(scale=0.15, size=4) * [w, h, w, h]
            box = [x + shift[0], y + shift[1], x + w + shift[2], y + h + shift[3]]
            dt.append({"image_id": image, "category_id": cls, "bbox": box,
                       "score": float(rng.uniform(0.3, 1.0))})  # fmt: skip
    for _ in range(rng.poisson(0.8)):
        x, y = rng.uniform(0, 300, size=2)
        cls = str(rng.choice(["car", "person", "bicycle"]))
        dt.append({"image_id": image, "category_id": cls, "bbox": [x, y, x + 60, y + 60],
                   "score": float(rng.uniform(0, 0.8))})  # fmt: skip

voc07 = voc_evaluate(gt, dt, method="voc2007")
voc12 = voc_evaluate(gt, dt, method="voc2012")
table = pd.DataFrame({"VOC2007 11-point": voc07.per_class, "VOC2012 all-point": voc12.per_class})
table.loc["mAP"] = [voc07.mAP, voc12.mAP]
print(table.round(4).to_string())

# %%
# One class: the raw curve, its envelope and the 11 points
# ---------------------------------------------------------
recall, precision = voc12.recall["car"], voc12.precision["car"]
envelope = np.maximum.accumulate(precision[::-1])[::-1]
points = np.linspace(0, 1, 11)
eleven = [precision[recall >= r].max() if (recall >= r).any() else 0.0 for r in points]
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.plot(recall, precision, color="0.6", label="raw precision")
ax.step(recall, envelope, where="post", label=f"envelope, AP={voc12.per_class['car']:.3f}")
ax.plot(points, eleven, "o", color="C3", label=f"11 points, AP={voc07.per_class['car']:.3f}")
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_title("class 'car'")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()
