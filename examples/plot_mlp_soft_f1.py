"""
MLP with a soft-F1 loss against cross entropy on imbalanced data
================================================================

With 5 % positives, cross entropy fits the probabilities well but the 0.5 threshold misses
most positives. ``loss="soft_f1"`` trains :class:`~skextras.nn.MLPClassifier` on a
differentiable F1 (counts of true / false positives made from probabilities), which moves
the decision boundary toward the minority class; ``class_weight="balanced"`` is the classic
alternative. All three networks are the same size and see the same data.
"""

import matplotlib.pyplot as plt
import pandas as pd
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split

from skextras.nn import MLPClassifier

torch.set_num_threads(1)
X, y = make_classification(
    n_samples=4000, n_features=10, n_informative=4, weights=[0.95], flip_y=0.01, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

params = dict(hidden_layer_sizes=(32,), lr=3e-3, batch_size=256, max_epochs=60, random_state=0)
models = {
    "cross entropy": MLPClassifier(**params),
    "cross entropy, balanced": MLPClassifier(class_weight="balanced", **params),
    "soft F1": MLPClassifier(loss="soft_f1", **params),
}
rows = []
for name, model in models.items():
    pred = model.fit(X_train, y_train).predict(X_test)
    rows.append(
        {
            "loss": name,
            "precision": precision_score(y_test, pred),
            "recall": recall_score(y_test, pred),
            "F1": f1_score(y_test, pred),
        }
    )
table = pd.DataFrame(rows).set_index("loss").round(3)
print(table.to_string())

# %%
ax = table.plot.bar(rot=0, figsize=(8, 4))
ax.set_ylabel("test score (positive class)")
ax.set_ylim(0, 1)
ax.set_title("5 % positives: soft-F1 trades a little precision for much more recall")
plt.tight_layout()
plt.show()
