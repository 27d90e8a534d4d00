"""
SHAP contributions of one prediction
====================================

``predict(X, pred_contribs=True)`` returns exact TreeSHAP values in XGBoost's layout: one
column per feature plus a last column for the bias (the expected margin). For every row the
columns add up to the raw margin the model predicts, which this example checks before drawing
the waterfall of one prediction.
"""

import matplotlib.pyplot as plt
import numpy as np

from skextras.datasets import load_higgs_sample
from skextras.ensemble import NewtonBoostingRegressor

data = load_higgs_sample(as_frame=True)
X, y = data.data.iloc[:, :10], data.target.to_numpy(dtype=float)
reg = NewtonBoostingRegressor(n_estimators=100, max_depth=4, random_state=0).fit(X, y)

contribs = reg.predict(X.iloc[:200], pred_contribs=True)
margin = reg.predict(X.iloc[:200])
print("largest |sum(contributions) - prediction|:", np.abs(contribs.sum(1) - margin).max())

# %%
# Waterfall of the first row
# --------------------------
row = contribs[0]
names = [*X.columns, "bias"]
order = np.argsort(-np.abs(row[:-1]))
start = row[-1]
fig, ax = plt.subplots(figsize=(8, 5))
ax.barh(0, start, color="0.6")
for k, j in enumerate(order, start=1):
    ax.barh(k, row[j], left=start, color="C3" if row[j] > 0 else "C0")
    start += row[j]
ax.set_yticks(range(len(order) + 1), ["bias"] + [names[j] for j in order])
ax.invert_yaxis()
ax.axvline(margin[0], color="k", linestyle=":", label=f"prediction {margin[0]:.3f}")
ax.set_xlabel("contribution to the prediction")
ax.set_title("TreeSHAP contributions of one prediction")
ax.legend()
fig.tight_layout()
plt.show()
