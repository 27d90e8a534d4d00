"""The default training paths whose numbers must not change: the cases and the script that
wrote tests/data/ensemble/fit_api_reference.npz and tests/data/nn/fit_api_reference_nn.npz.

Run once with the code of commit ae7497e (before the callback protocol, the shared thread
resolver and input checker) on ``PYTHONPATH``; ``tests/test_callback.py`` and
``tests/test_nn_base.py`` assert that the current code gives the same numbers bit for bit::

    git archive ae7497e skextras | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base python tests/_fit_api_reference.py OUT.npz [NN.npz]

The second file holds the torch estimators' cases (``torch_cases``; one torch thread).
"""

import sys

import numpy as np
from sklearn.datasets import make_classification, make_regression


def cases():
    """(name, estimator factory, fit data, fit kwargs); shared with the test."""
    from skextras.ensemble import (
        AdaBoostClassifier,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        NewtonBoostingClassifier,
        NewtonBoostingRegressor,
        RandomForestRegressor,
    )

    Xr, yr = make_regression(n_samples=300, n_features=6, noise=20.0, random_state=0)
    Xb, yb = make_classification(n_samples=300, n_features=6, random_state=0)
    Xm, ym = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    small = {"n_estimators": 15, "max_depth": 3, "random_state": 0}
    stop = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.5, "random_state": 0}
    held_out = {"eval_set": [(Xr[200:], yr[200:])]}
    return [
        ("newton_reg", lambda: NewtonBoostingRegressor(**small), (Xr, yr), {}),
        ("newton_bin", lambda: NewtonBoostingClassifier(**small), (Xb, yb), {}),
        ("newton_multi", lambda: NewtonBoostingClassifier(**small), (Xm, ym), {}),
        (
            "newton_early",
            lambda: NewtonBoostingRegressor(early_stopping_rounds=3, **stop),
            (Xr[:200], yr[:200]),
            held_out,
        ),
        (
            "newton_no_change",
            lambda: NewtonBoostingClassifier(n_iter_no_change=3, **stop),
            (Xb, yb),
            {},
        ),
        ("gb_reg", lambda: GradientBoostingRegressor(**small), (Xr, yr), {}),
        ("gb_bin", lambda: GradientBoostingClassifier(**small), (Xb, yb), {}),
        (
            "gb_no_change",
            lambda: GradientBoostingRegressor(n_iter_no_change=3, **stop),
            (Xr, yr),
            {},
        ),
        (
            "forest_reg",
            lambda: RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0),
            (Xr, yr),
            {},
        ),
        (
            "ada_bin",
            lambda: AdaBoostClassifier(n_estimators=10, random_state=0),
            (Xb, yb),
            {},
        ),
    ]


def outputs(model, X):
    """The numbers compared: predictions (probabilities for classifiers) and the size."""
    pred = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    return np.asarray(pred, dtype=np.float64), int(getattr(model, "n_estimators_", -1))


def torch_cases():
    """(name, estimator factory, data, number of partial_fit calls or 0 for fit)."""
    from skextras.nn import MLPClassifier, MLPRegressor

    Xr, yr = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    yr = (yr - yr.mean()) / yr.std()
    Xb, yb = make_classification(n_samples=200, n_features=5, random_state=0)
    kw = {"hidden_layer_sizes": (16,), "lr": 0.01, "batch_size": 32, "random_state": 0}
    return [
        # the default: n_iter_no_change=10 on the training loss
        ("mlp_clf_default", lambda: MLPClassifier(max_epochs=80, **kw), (Xb, yb), 0),
        # validation loss watched, best weights restored
        (
            "mlp_reg_valid",
            lambda: MLPRegressor(max_epochs=80, validation_fraction=0.2, n_iter_no_change=4, **kw),
            (Xr, yr),
            0,
        ),
        # the stopping state carried across partial_fit calls
        (
            "mlp_reg_partial",
            lambda: MLPRegressor(validation_fraction=0.2, n_iter_no_change=2, **kw),
            (Xr, yr),
            12,
        ),
    ]


def torch_outputs(make, X, y, n_partial):
    model = make()
    if n_partial:
        for _ in range(n_partial):
            model.partial_fit(X, y)
    else:
        model.fit(X, y)
    pred = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    return np.asarray(pred, dtype=np.float64), int(model.n_epochs_), float(model.best_loss_)


def main(path, nn_path=None):
    arrays = {}
    for name, make, (X, y), kwargs in cases():
        pred, n = outputs(make().fit(X, y, **kwargs), X)
        arrays[name] = pred
        arrays[name + "_n_estimators"] = np.asarray(n)
    np.savez_compressed(path, **arrays)
    if nn_path is None:
        return
    import torch

    torch.set_num_threads(1)
    arrays = {}
    for name, make, (X, y), n_partial in torch_cases():
        pred, n_epochs, best = torch_outputs(make, X, y, n_partial)
        arrays[name] = pred
        arrays[name + "_n_epochs"] = np.asarray(n_epochs)
        arrays[name + "_best_loss"] = np.asarray(best)
    np.savez_compressed(nn_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:3])
