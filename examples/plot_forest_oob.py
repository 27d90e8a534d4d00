"""
Random forest: out-of-bag error against the number of trees
===========================================================

With ``oob_score=True`` each tree is scored on the rows its bootstrap sample left out, which
estimates the test error without a held-out set. ``warm_start=True`` adds trees to a fitted
forest, so the curve is drawn by growing one forest instead of refitting. The OOB error is
compared with the error on a real test split.
"""

import matplotlib.pyplot as plt
import numpy as np

from skextras.datasets import load_higgs_sample
from skextras.ensemble import ExtraTreesClassifier, RandomForestClassifier

X, y = load_higgs_sample(return_X_y=True)
X, y = X[:3000], y[:3000]
X_test, y_test = load_higgs_sample(subset="test", return_X_y=True)
sizes = np.arange(10, 91, 20)

fig, ax = plt.subplots(figsize=(7, 4.5))
forests = [(RandomForestClassifier, {}), (ExtraTreesClassifier, {"bootstrap": True})]
for i, (cls, extra) in enumerate(forests):
    forest = cls(oob_score=True, warm_start=True, random_state=0, **extra)
    oob, test = [], []
    for n in sizes:
        forest.set_params(n_estimators=int(n)).fit(X, y)
        oob.append(1 - forest.oob_score_)
        test.append(1 - forest.score(X_test, y_test))
    ax.plot(sizes, oob, "-o", color=f"C{i}", label=f"{cls.__name__} OOB error")
    ax.plot(sizes, test, "--", color=f"C{i}", alpha=0.6, label=f"{cls.__name__} test error")
    print(f"{cls.__name__}, {sizes[-1]} trees: OOB error {oob[-1]:.4f}, test {test[-1]:.4f}")
ax.set_xlabel("n_estimators")
ax.set_ylabel("error rate")
ax.set_title("Out-of-bag error tracks the test error")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
