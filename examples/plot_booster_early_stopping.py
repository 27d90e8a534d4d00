"""
Second-order boosting with early stopping and feature importances
=================================================================

:class:`~skextras.ensemble.NewtonBoostingClassifier` takes XGBoost's parameter names. With an
``eval_set`` and ``early_stopping_rounds`` it keeps the round with the best validation score
(``best_iteration_``) and records every score in ``evals_result_``. The importances are
XGBoost's definitions (``importance_type="gain"`` by default), drawn here the way
``xgboost.plot_importance`` draws them.
"""

import matplotlib.pyplot as plt
import numpy as np

from skextras.datasets import load_higgs_sample
from skextras.ensemble import NewtonBoostingClassifier

X, y = load_higgs_sample(return_X_y=True)
X_test, y_test = load_higgs_sample(subset="test", return_X_y=True)

clf = NewtonBoostingClassifier(
    n_estimators=300,
    learning_rate=0.1,
    max_depth=4,
    early_stopping_rounds=20,
    eval_metric=["logloss", "auc"],
    random_state=0,
)
clf.fit(X, y, eval_set=[(X, y), (X_test, y_test)])
test_auc = clf.evals_result_["validation_1"]["auc"][clf.best_iteration_]
print(f"best iteration {clf.best_iteration_}, test AUC {test_auc:.4f}")

# %%
# Validation curves and importances
# ---------------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
for name, label in [("validation_0", "train"), ("validation_1", "test")]:
    left.plot(clf.evals_result_[name]["logloss"], label=label)
left.axvline(clf.best_iteration_, color="k", linestyle=":", label="best iteration")
left.set_xlabel("boosting round")
left.set_ylabel("log loss")
left.set_title("Early stopping on the test log loss")
left.legend()

order = np.argsort(clf.feature_importances_)[-12:]
right.barh(range(order.size), clf.feature_importances_[order], color="C0")
right.set_yticks(range(order.size), [f"f{i}" for i in order])
right.set_xlabel("importance (gain, normalised)")
right.set_title("Feature importance (top 12)")
fig.tight_layout()
plt.show()
