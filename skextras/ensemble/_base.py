"""What the tree ensembles share: input validation, evaluation metrics for early stopping,
feature importances, staged prediction and JSON persistence of trees + parameters."""

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._engine.tree import Tree, predict_forest

# ---------------------------------------------------------------------------------------------
# validation


def _reject_strings(X):
    """ValueError naming the offending column when X holds strings or pandas categoricals."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        for name, dtype in dtypes.items():
            if dtype.kind not in "biufcm" and str(dtype) != "boolean":
                raise ValueError(
                    f"X: column {name!r} has dtype {dtype}; tree ensembles need numeric features."
                    " Encode string / categorical columns first (e.g. OrdinalEncoder)."
                )
    elif not sp.issparse(X):
        arr = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if arr.dtype.kind in "OUS":
            try:
                arr.astype(np.float64)
            except ValueError as exc:
                raise ValueError(
                    f"X holds non-numeric values ({exc}); tree ensembles need numeric features."
                    " Encode string columns first (e.g. OrdinalEncoder)."
                ) from None


def check_X(estimator, X, reset):
    """Validate X: float64 ndarray (NaN allowed) or CSR / CSC; sets n_features_in_ on reset."""
    _reject_strings(X)
    return validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse=("csr", "csc"),
        dtype=np.float64,
        ensure_all_finite="allow-nan",
    )


def check_monotonic_cst(estimator):
    """Raise unless ``monotonic_cst`` is None or one -1 / 0 / 1 per feature seen in fit."""
    if estimator.monotonic_cst is None:
        return
    cst = np.asarray(estimator.monotonic_cst)
    if cst.shape != (estimator.n_features_in_,) or not np.isin(cst, (-1, 0, 1)).all():
        raise ValueError(
            f"monotonic_cst must be an array of -1, 0, 1 of length n_features="
            f"{estimator.n_features_in_}, got {estimator.monotonic_cst!r}."
        )


class HistInputMixin:
    """Input handling shared by the engine's estimators: dense with NaN, CSR or CSC."""

    def _check_X(self, X, reset):
        return check_X(self, X, reset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        return tags


def check_X_y(estimator, X, y, sample_weight=None, y_numeric=True):
    """Validate X, y and sample_weight (non-negative, finite, positive sum)."""
    _reject_strings(X)
    X, y = validate_data(
        estimator,
        X,
        y,
        accept_sparse=("csr", "csc"),
        dtype=np.float64,
        ensure_all_finite="allow-nan",
        y_numeric=y_numeric,
        multi_output=False,
    )
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if not np.all(np.isfinite(sample_weight)):
            raise ValueError("sample_weight contains NaN or infinity")
        if sample_weight.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum")
    return X, y, sample_weight


# ---------------------------------------------------------------------------------------------
# evaluation metrics (XGBoost's names); y_pred is in output space (probabilities / means)


def _avg(values, w):
    return float(np.average(values, weights=w))


def _logloss(y, p, w):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return _avg(-(y * np.log(p) + (1 - y) * np.log(1 - p)), w)


def _mlogloss(y, p, w):
    p = np.clip(p[np.arange(y.size), y.astype(np.intp)], 1e-15, None)
    return _avg(-np.log(p), w)


def _poisson_nloglik(y, mu, w):
    from scipy.special import gammaln

    mu = np.maximum(mu, 1e-16)
    return _avg(mu - y * np.log(mu) + gammaln(y + 1), w)


def _gamma_nloglik(y, mu, w):
    # Gamma with shape 1 (XGBoost's gamma-nloglik): -log f(y) = y / mu + log(mu).
    mu = np.maximum(mu, 1e-16)
    return _avg(y / mu + np.log(mu), w)


def _tweedie_nloglik(y, mu, w, rho=1.5):
    mu = np.maximum(mu, 1e-16)
    a = y * np.exp((1 - rho) * np.log(mu)) / (1 - rho)
    b = np.exp((2 - rho) * np.log(mu)) / (2 - rho)
    return _avg(-a + b, w)


METRICS = {
    "rmse": (lambda y, p, w: float(np.sqrt(_avg((y - p) ** 2, w))), False),
    "rmsle": (lambda y, p, w: float(np.sqrt(_avg((np.log1p(y) - np.log1p(p)) ** 2, w))), False),
    "mae": (lambda y, p, w: _avg(np.abs(y - p), w), False),
    "mape": (lambda y, p, w: _avg(np.abs((y - p) / y), w), False),
    "mphe": (lambda y, p, w: _avg(np.sqrt(1 + (y - p) ** 2) - 1, w), False),
    "logloss": (_logloss, False),
    "error": (lambda y, p, w: _avg((p > 0.5) != (y == 1), w), False),
    "auc": (lambda y, p, w: float(roc_auc_score(y, p, sample_weight=w)), True),
    "mlogloss": (_mlogloss, False),
    "merror": (lambda y, p, w: _avg(np.argmax(p, axis=1) != y, w), False),
    "poisson-nloglik": (_poisson_nloglik, False),
    "gamma-nloglik": (_gamma_nloglik, False),
    "tweedie-nloglik": (_tweedie_nloglik, False),
}


def resolve_metrics(eval_metric, default):
    """List of (name, function(y, pred, w), greater_is_better) for ``eval_metric``."""
    if eval_metric is None:
        eval_metric = [default]
    elif isinstance(eval_metric, str) or callable(eval_metric):
        eval_metric = [eval_metric]
    resolved = []
    for metric in eval_metric:
        if callable(metric):
            name = getattr(metric, "__name__", "custom")
            resolved.append((name, lambda y, p, w, f=metric: float(f(y, p)), False))
        elif metric in METRICS:
            resolved.append((metric, *METRICS[metric]))
        elif isinstance(metric, str) and metric.startswith("tweedie-nloglik@"):
            rho = float(metric.split("@", 1)[1])
            resolved.append(
                (metric, lambda y, p, w, rho=rho: _tweedie_nloglik(y, p, w, rho), False)
            )
        else:
            raise ValueError(
                f"eval_metric {metric!r} is not supported; use a callable or one of "
                f"{sorted(METRICS)}"
            )
    return resolved


# ---------------------------------------------------------------------------------------------
# trees: importances, staged predictions, JSON

IMPORTANCE_TYPES = ("weight", "gain", "total_gain", "cover", "total_cover")


def feature_importances(trees, n_features, importance_type="gain"):
    """XGBoost's importances from the split nodes of ``trees``, normalised to sum to 1."""
    if importance_type not in IMPORTANCE_TYPES:
        raise ValueError(
            f"importance_type must be one of {IMPORTANCE_TYPES}, got {importance_type!r}"
        )
    weight = np.zeros(n_features)
    gain = np.zeros(n_features)
    cover = np.zeros(n_features)
    for tree in trees:
        internal = tree.left != -1
        f = tree.feature[internal]
        weight += np.bincount(f, minlength=n_features)
        gain += np.bincount(f, weights=tree.gain[internal], minlength=n_features)
        cover += np.bincount(f, weights=tree.cover[internal], minlength=n_features)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "weight": weight,
            "total_gain": gain,
            "total_cover": cover,
            "gain": np.where(weight > 0, gain / np.maximum(weight, 1), 0.0),
            "cover": np.where(weight > 0, cover / np.maximum(weight, 1), 0.0),
        }[importance_type]
    total = values.sum()
    return values / total if total > 0 else values


def staged_raw_predictions(trees, tree_output, n_outputs, X, trees_per_stage, init, n_threads):
    """Yield the raw scores (n, n_outputs) after each stage of ``trees_per_stage`` trees."""
    raw = np.tile(np.asarray(init, dtype=np.float64).reshape(1, -1), (X.shape[0], 1))
    raw = np.broadcast_to(raw, (X.shape[0], n_outputs)).copy()
    for start in range(0, len(trees), trees_per_stage):
        stop = start + trees_per_stage
        raw += predict_forest(
            trees[start:stop],
            X,
            n_threads,
            tree_output=tree_output[start:stop],
            n_outputs=n_outputs,
        )
        yield raw.copy()


def _to_jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


def save_model_json(path, estimator_name, params, learned, trees):
    """Write a readable JSON document: parameters, learned attributes and the trees."""
    for name, value in params.items():
        if callable(value):
            raise ValueError(
                f"cannot save {name}={value!r} to JSON: a callable is not serialisable"
            )
    doc = {
        "format": "skextras-tree-ensemble",
        "version": 1,
        "estimator": estimator_name,
        "params": _to_jsonable(params),
        "learned": _to_jsonable(learned),
        "trees": [tree.to_dict() for tree in trees],
    }
    Path(path).write_text(json.dumps(doc))


def load_model_json(path, estimator_name):
    """Read a document written by ``save_model_json``: (params, learned, trees)."""
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != "skextras-tree-ensemble" or doc.get("estimator") != estimator_name:
        raise ValueError(
            f"{path} does not hold a saved {estimator_name} (estimator={doc.get('estimator')!r})"
        )
    return doc["params"], doc["learned"], [Tree.from_dict(d) for d in doc["trees"]]
