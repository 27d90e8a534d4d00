"""
Gradient boosting vs second-order boosting vs scikit-learn's HistGradientBoosting
=================================================================================

The same 60 trees of depth 4 on the Higgs sample: Friedman's
:class:`~skextras.ensemble.GradientBoostingClassifier` (first order, scikit-learn's
parameters), XGBoost-style :class:`~skextras.ensemble.NewtonBoostingClassifier` (second
order) and scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`. A short
warm-up fit first keeps numba's one-time compilation out of the timings.
"""

import time

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

from skextras.datasets import load_higgs_sample
from skextras.ensemble import GradientBoostingClassifier, NewtonBoostingClassifier

X, y = load_higgs_sample(return_X_y=True)
X_test, y_test = load_higgs_sample(subset="test", return_X_y=True)

models = {
    "skextras GradientBoosting": GradientBoostingClassifier(
        n_estimators=60, max_depth=4, learning_rate=0.1, random_state=0
    ),
    "skextras NewtonBoosting": NewtonBoostingClassifier(
        n_estimators=60, max_depth=4, learning_rate=0.1, random_state=0
    ),
    "sklearn HistGradientBoosting": HistGradientBoostingClassifier(
        max_iter=60, max_depth=4, learning_rate=0.1, early_stopping=False, random_state=0
    ),
}
rows = []
for name, model in models.items():
    model.set_params(**{("max_iter" if "sklearn" in name else "n_estimators"): 2}).fit(X, y)
    model.set_params(**{("max_iter" if "sklearn" in name else "n_estimators"): 60})
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start
    proba = model.predict_proba(X_test)[:, 1]
    rows.append(
        {
            "model": name,
            "fit s": round(fit_s, 3),
            "accuracy": round(accuracy_score(y_test, proba > 0.5), 4),
            "AUC": round(roc_auc_score(y_test, proba), 4),
        }
    )
table = pd.DataFrame(rows).set_index("model")
print(table.to_string())

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
table["fit s"].plot.barh(ax=left, color=["C0", "C3", "C2"])
left.set_xlabel("fit time, s (lower is better)")
table["AUC"].plot.barh(ax=right, color=["C0", "C3", "C2"])
right.set_xlim(table["AUC"].min() - 0.02, table["AUC"].max() + 0.01)
right.set_xlabel("test AUC")
right.set_yticks([])
fig.tight_layout()
plt.show()
