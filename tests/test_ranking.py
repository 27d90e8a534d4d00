"""Multilabel mAP against scikit-learn, and the scorers inside GridSearchCV."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.multioutput import MultiOutputClassifier

from skextras.metrics import (
    SCORERS,
    detection_map_score,
    get_scorer,
    mean_average_precision_score,
    voc_evaluate,
)


def random_multilabel(seed, n=60, labels=5, ties=False):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, labels)) < 0.3).astype(int)
    y[:, -1] = 0  # a label without positives
    score = rng.random((n, labels))
    if ties:
        score = np.round(score, 1)
    return y, score, rng.random(n)


def sklearn_ap(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return average_precision_score(*args, **kwargs)


@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted", "samples"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_map_equals_sklearn_average_precision(average, ties, weighted):
    y, score, w = random_multilabel(0, ties=ties)
    sw = w if weighted else None
    ours = mean_average_precision_score(y, score, average=average, sample_weight=sw)
    expected = sklearn_ap(y, score, average=average, sample_weight=sw)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_map_equals_sklearn_on_binary_and_multiclass(seed):
    y, score, w = random_multilabel(seed, ties=seed % 2 == 0)
    ours = mean_average_precision_score(y[:, 0], score[:, 0], sample_weight=w)
    assert ours == pytest.approx(sklearn_ap(y[:, 0], score[:, 0], sample_weight=w), abs=1e-14)
    classes = np.random.default_rng(seed).integers(0, 4, len(y))
    probs = score[:, :4]
    ours = mean_average_precision_score(classes, probs)
    assert ours == pytest.approx(sklearn_ap(classes, probs), abs=1e-14)


def test_map_bad_input_raises():
    y, score, _ = random_multilabel(0)
    with pytest.raises(ValueError, match="average"):
        mean_average_precision_score(y, score, average="mean")
    with pytest.raises(ValueError, match="shape"):
        mean_average_precision_score(y, score[:, :2])
    bad = score.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mean_average_precision_score(y, bad)
    with pytest.raises(ValueError, match="positive label"):
        mean_average_precision_score(np.array([2, 3, 2]), np.array([0.1, 0.5, 0.3]))


def test_map_scorer_works_in_grid_search_and_matches_sklearn_scorer():
    X, y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    est = MultiOutputClassifier(LogisticRegression(max_iter=500))
    grid = {"estimator__C": [0.01, 1.0]}
    cv = KFold(3, shuffle=True, random_state=0)
    ours = GridSearchCV(est, grid, scoring=get_scorer("mean_average_precision"), cv=cv).fit(X, y)
    theirs = GridSearchCV(est, grid, scoring="average_precision", cv=cv).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-12)  # fmt: skip
    assert get_scorer("accuracy") is not None  # falls back to scikit-learn's names
    assert set(SCORERS) >= {"mean_average_precision_micro", "detection_map_coco"}


class ShiftDetector(BaseEstimator):
    """Predicts one box per image: the input box moved by ``shift`` pixels."""

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return [{"boxes": (x + self.shift)[None], "scores": [0.9], "labels": [1]} for x in X]


def detection_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    boxes = np.column_stack([xy, xy + rng.uniform(20, 60, (n, 2))])
    return boxes, [{"boxes": b[None], "labels": [1]} for b in boxes]


@pytest.mark.parametrize("name", ["detection_map_coco", "detection_map_voc2012"])
def test_detection_scorer_picks_the_unshifted_detector(name):
    X, y = detection_data()
    search = GridSearchCV(ShiftDetector(), {"shift": [8.0, 0.0, 3.0]}, scoring=get_scorer(name),
                          cv=3).fit(X, y)  # fmt: skip
    assert search.best_params_ == {"shift": 0.0}
    assert search.best_score_ == pytest.approx(1.0)
    scores = cross_val_score(ShiftDetector(8.0), X, y, scoring=get_scorer(name), cv=3)
    assert (scores < 1).all()


def test_detection_map_score_equals_voc_evaluate():
    X, y = detection_data(seed=1)
    pred = ShiftDetector(5.0).predict(X)
    gt = [{"image_id": i, "category_id": 1, "bbox": b} for i, b in enumerate(X)]
    dt = [{"image_id": i, "category_id": 1, "bbox": b + 5.0, "score": 0.9} for i, b in enumerate(X)]
    expected = voc_evaluate(gt, dt, method="voc2007", pixel_plus_one=False).mAP
    assert detection_map_score(y, pred, metric="voc2007") == expected
    with pytest.raises(ValueError, match="images"):
        detection_map_score(y, pred[1:])
