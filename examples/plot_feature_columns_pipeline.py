"""
Feature columns, DenseFeatures and a linear model in one Pipeline
=================================================================

TensorFlow's wide-and-deep recipe as scikit-learn: numeric, bucketized, hashed, vocabulary
and crossed columns go through :class:`~skextras.feature_columns.DenseFeatures` (a
transformer, identical to ``tf_keras.layers.DenseFeatures``) into a logistic regression.
Column parameters are estimator parameters, so ``GridSearchCV`` tunes the bucket
boundaries and the hash size like any other hyper-parameter.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skextras import feature_columns as fc

rng = np.random.default_rng(0)
n = 3000
frame = pd.DataFrame(
    {
        "age": rng.uniform(18, 90, n),
        "city": rng.choice([f"city{i}" for i in range(40)], n),
        "plan": rng.choice(["free", "basic", "pro"], n),
    }
)
# churn is likely for the young on the free plan and in a handful of cities
logit = (
    -1.0
    + 1.5 * ((frame.age < 30) & (frame.plan == "free"))
    + 1.2 * frame.city.isin(["city3", "city7", "city11"])
    - 0.02 * (frame.age - 50).abs()
)
y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

age = fc.numeric_column("age")
city = fc.categorical_column_with_hash_bucket("city", 64)
plan = fc.categorical_column_with_vocabulary_list("plan", ["free", "basic", "pro"])
age_buckets = fc.bucketized_column(age, [30.0, 50.0, 70.0])
columns = [
    age_buckets,  # a bucketized column is dense: one-hot of the bucket
    fc.indicator_column(city),
    fc.indicator_column(plan),
    fc.indicator_column(fc.crossed_column([age_buckets, plan], 32)),
]
model = make_pipeline(fc.DenseFeatures(columns), LogisticRegression(max_iter=1000))
search = GridSearchCV(
    model,
    {"densefeatures__age_bucketized__boundaries": [[50.0], [30.0, 50.0, 70.0], [25.0, 40.0, 60.0]]},
    cv=3,
    scoring="roc_auc",
).fit(frame, y)
print("best boundaries:", search.best_params_)
layer = search.best_estimator_[0]
print("DenseFeatures output width:", layer.transform(frame.head()).shape[1])

# %%
# The learned weights of the wide columns
# ---------------------------------------
names = layer.get_feature_names_out()
coef = search.best_estimator_[-1].coef_[0]
keep = [i for i, name in enumerate(names) if not name.startswith("city")]
fig, ax = plt.subplots(figsize=(8, 5))
ax.barh(range(len(keep)), coef[keep], color=["C3" if coef[i] > 0 else "C0" for i in keep])
ax.set_yticks(range(len(keep)), [names[i] for i in keep], fontsize=7)
ax.set_xlabel("logistic regression coefficient")
ax.set_title("Weights of the bucketized, vocabulary and crossed columns")
fig.tight_layout()
plt.show()
