"""
Monotone constraints: partial dependence before and after
=========================================================

A noisy target that rises with the first feature and falls with the second: an unconstrained
booster follows the noise, so its partial dependence wiggles. ``monotone_constraints=[1, -1]``
(XGBoost's meaning: +1 increasing, -1 decreasing, 0 free) makes every tree respect the
direction, and the partial dependence (computed by scikit-learn's
:func:`~sklearn.inspection.partial_dependence`) becomes monotone.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import partial_dependence

from skextras.ensemble import NewtonBoostingRegressor

rng = np.random.default_rng(0)
X = rng.uniform(size=(2000, 2))
y = 5 * X[:, 0] + np.sin(10 * np.pi * X[:, 0]) - 5 * X[:, 1] - np.cos(10 * np.pi * X[:, 1])
y += rng.normal(scale=0.5, size=len(y))

params = dict(n_estimators=100, max_depth=4, learning_rate=0.1, random_state=0)
free = NewtonBoostingRegressor(**params).fit(X, y)
mono = NewtonBoostingRegressor(monotone_constraints=[1, -1], **params).fit(X, y)

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for j, ax in enumerate(axes):
    for model, label in [(free, "unconstrained"), (mono, "monotone_constraints=[1, -1]")]:
        pd_result = partial_dependence(model, X, [j], grid_resolution=100)
        values = pd_result["average"][0]
        ax.plot(pd_result["grid_values"][0], values, label=label)
        steps = np.diff(values)
        direction = "increasing" if j == 0 else "decreasing"
        ok = (steps >= -1e-12).all() if j == 0 else (steps <= 1e-12).all()
        print(f"feature {j}, {label}: {direction} everywhere: {ok}")
    ax.set_xlabel(f"feature {j}")
    ax.set_title("partial dependence")
axes[0].legend()
fig.tight_layout()
plt.show()
