"""
Multilabel mean average precision as a GridSearchCV scorer
==========================================================

:func:`~skextras.metrics.mean_average_precision_score` is scikit-learn's
``average_precision_score`` computed for all labels at once; ``get_scorer`` returns it as a
scorer object (scikit-learn validates ``scoring`` strings against its own registry, so pass
the object). Here it tunes a one-vs-rest random forest on a multilabel problem.
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.multiclass import OneVsRestClassifier

from skextras.ensemble import RandomForestClassifier
from skextras.metrics import get_scorer, mean_average_precision_score

X, Y = make_multilabel_classification(
    n_samples=400, n_features=20, n_classes=5, n_labels=2, random_state=0
)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

search = GridSearchCV(
    OneVsRestClassifier(RandomForestClassifier(n_estimators=20, random_state=0)),
    {"estimator__max_depth": [1, 2, 4, 8]},
    scoring=get_scorer("mean_average_precision"),
    cv=3,
).fit(X_train, Y_train)

scores = search.predict_proba(X_test)
print("best parameters:", search.best_params_)
print(f"test mAP (skextras): {mean_average_precision_score(Y_test, scores):.6f}")
print(f"test mAP (sklearn):  {average_precision_score(Y_test, scores, average='macro'):.6f}")

# %%
results = pd.DataFrame(search.cv_results_)
print(results[["param_estimator__max_depth", "mean_test_score", "std_test_score"]].to_string())
fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(
    results["param_estimator__max_depth"].astype(int),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    marker="o",
    capsize=3,
)
ax.set_xlabel("max_depth")
ax.set_ylabel("cross-validated mAP")
ax.set_title("GridSearchCV with the mean_average_precision scorer")
fig.tight_layout()
plt.show()
