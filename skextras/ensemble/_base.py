"""What the tree ensembles share: input validation (``check_X``, ``check_X_y``,
``check_sample_weight``), the thread resolver (``resolve_n_threads``: ``n_jobs`` means the
same in every ensemble), evaluation metrics for early stopping, feature importances, staged
prediction and JSON persistence of trees + parameters. Early stopping and logging
themselves are callbacks (``skextras.callback``)."""

import json
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_regressor
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._engine._numba import effective_n_threads
from .._engine.tree import predict_forest
from .._engine.tree_validation import trees_from_documents
from ._rank_metrics import resolve_rank_metric

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


# n_jobs as scikit-learn / joblib read it: None, -1 (all cores), -2 (all but one), ... or a
# positive count; 0 means nothing (joblib: "n_jobs == 0 in Parallel has no meaning").
N_JOBS_CONSTRAINT = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]


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


def check_X_y(estimator, X, y, sample_weight=None, y_numeric=None, multi_output=False):
    """Validate the training data of every ensemble: X as :func:`check_X` does (sets
    ``n_features_in_``), a 1-d y (2-d allowed with ``multi_output``; numeric for a regressor,
    ``y_numeric`` overrides), the regression target range (:func:`check_target_range`) and
    ``sample_weight`` (:func:`check_sample_weight`; stays None when None). Returns
    ``(X, y, sample_weight)``."""
    if y_numeric is None:
        y_numeric = is_regressor(estimator)
    _reject_strings(X)
    X, y = validate_data(
        estimator,
        X,
        y,
        accept_sparse=("csr", "csc"),
        dtype=np.float64,
        ensure_all_finite="allow-nan",
        y_numeric=y_numeric,
        multi_output=multi_output,
    )
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X)
    if y_numeric and y.ndim == 1:
        check_target_range(y, sample_weight)
    return X, y, sample_weight


def resolve_n_threads(n_jobs):
    """Threads for ``n_jobs``, the one meaning every ensemble gives it (scikit-learn's).

    None is 1, unless inside ``joblib.parallel_config(n_jobs=...)`` (or the older
    ``parallel_backend``), which then decides; -1 is every core joblib sees, -2 all but
    one, ...; a positive count is itself. Capped at numba's thread pool size.
    """
    from joblib import effective_n_jobs

    return effective_n_threads(effective_n_jobs(n_jobs))


def check_sample_weight(sample_weight, X):
    """float64 weights (n_samples,): ones for None; refuses negative, NaN / inf and a zero sum.

    A negative weight turns a leaf's weighted mean into an extrapolation (with half the
    weights at -1 every prediction of a forest becomes 0), so every estimator refuses it,
    with scikit-learn's wording.
    """
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight contains NaN or infinity")
    if sample_weight.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum")
    return sample_weight


# Squared-error gains square sums of (weighted) targets; float64 ends at 1.8e308. These bounds
# leave a factor ~100 for bootstrap counts and the sums of two children.
_MAX_ABS_SUM = 1e153
_MAX_SQUARE_SUM = 1e306


def check_target_range(y, sample_weight=None):
    """Refuse regression targets whose sums overflow the split gains (ValueError).

    With ``|y|`` near 1e307 the sums of squares behind every gain are inf, every split looks
    equally (un)good and the fit would silently be a constant (or NaN) model. The message
    gives the range of y and a scale to divide it by.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        return
    w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w = w / w.mean()
    w = w.reshape((-1,) + (1,) * (y.ndim - 1))  # one weight a row, also for 2-d y
    with np.errstate(over="ignore", invalid="ignore"):
        abs_sum = float(np.sum(w * np.abs(y)))
        square_sum = float(np.sum(w * np.square(y)))
    if abs_sum < _MAX_ABS_SUM and square_sum < _MAX_SQUARE_SUM:
        return
    raise ValueError(
        f"y: targets range over [{y.min():.3g}, {y.max():.3g}]; their sums of squares "
        f"overflow float64 in the split gains (sum of |y| must stay below {_MAX_ABS_SUM:g} "
        f"and of y**2 below {_MAX_SQUARE_SUM:g}). Rescale y, e.g. fit on y / "
        f"{_power_of_ten(y):.0e} and multiply the predictions back."
    )


def _power_of_ten(y):
    return 10.0 ** np.ceil(np.log10(np.max(np.abs(y))))


def warn_float32_gains(y, sample_weight=None):
    """Warn when second-order gains, compared in float32 as XGBoost does, overflow.

    A split's gain ``G**2 / H`` is at most the weighted sum of squared residuals
    (Cauchy-Schwarz); past float32's 3.4e38 every gain is inf, splits tie and the trees
    stop following y.
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.sum(w * np.square(y - np.average(y, weights=w))))
    limit = float(np.finfo(np.float32).max) / 4
    if spread > limit:
        warnings.warn(
            f"y: targets range over [{y.min():.3g}, {y.max():.3g}]; the weighted sum of "
            f"squared residuals {spread:.3g} exceeds {limit:.3g}, so split gains overflow "
            "float32 (compared in float32 as in XGBoost) and the trees cannot follow y. "
            f"Rescale y, e.g. fit on y / {_power_of_ten(y):.0e}.",
            RuntimeWarning,
            stacklevel=3,
        )


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


def _custom_metric(metric):
    def score(y, p, w):
        return float(metric(y, p) if w is None else metric(y, p, sample_weight=w))

    return score


def resolve_metrics(eval_metric, default, extra=None):
    """List of (name, function(y, pred, w), greater_is_better) for ``eval_metric``; ``extra``:
    more named metrics ``{name: (function, greater_is_better)}`` (the estimator's own)."""
    extra = extra or {}
    if eval_metric is None:
        eval_metric = [default]
    elif isinstance(eval_metric, str) or callable(eval_metric):
        eval_metric = [eval_metric]
    resolved = []
    for metric in eval_metric:
        if callable(metric):
            # XGBoost's scikit-learn convention: f(y_true, y_pred), plus
            # sample_weight=... when the data set has weights
            name = getattr(metric, "__name__", "custom")
            resolved.append((name, _custom_metric(metric), False))
        elif metric in extra:
            resolved.append((metric, *extra[metric]))
        elif metric in METRICS:
            resolved.append((metric, *METRICS[metric]))
        elif isinstance(metric, str) and metric.startswith("tweedie-nloglik@"):
            rho = float(metric.split("@", 1)[1])
            resolved.append(
                (metric, lambda y, p, w, rho=rho: _tweedie_nloglik(y, p, w, rho), False)
            )
        elif (ranking := resolve_rank_metric(metric)) is not None:
            resolved.append(ranking)
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
    values = booster_scores(trees, n_features, importance_type)
    total = values.sum()
    return values / total if total > 0 else values


def booster_scores(trees, n_features, importance_type="weight"):
    """XGBoost's ``Booster.get_score`` per feature (0 for unused features), not normalised:
    "weight" (number of splits), "gain" / "cover" (mean over the feature's splits),
    "total_gain" / "total_cover" (sums)."""
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
    return values


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
    # callbacks act during fit only; like XGBoost, a saved model holds none
    params = {name: value for name, value in params.items() if name != "callbacks"}
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


class LearnedState:
    """The ``learned`` section of a loaded document, read field by field with checks.

    Every accessor raises ValueError naming the file, the field and the bad value, so an
    estimator's ``_restore_state`` never hands an unchecked number to a kernel.
    """

    def __init__(self, learned, source):
        if not isinstance(learned, dict):
            raise ValueError(f"{source}: 'learned' must be a JSON object, got {learned!r:.80}")
        self._learned = learned
        self.source = source

    def __contains__(self, name):
        return name in self._learned

    def names(self):
        return list(self._learned)

    def _error(self, name, message, value):
        return ValueError(f"{self.source}: learned field {name!r} {message} (got {value!r:.200})")

    def raw(self, name):
        """The field as stored (plain JSON value)."""
        if name not in self._learned:
            raise ValueError(f"{self.source}: learned field {name!r} is missing")
        return self._learned[name]

    def integer(self, name, low, high=None):
        """An int in [low, high] (high None: no upper bound)."""
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(name, "must be an integer", value)
        if value < low or (high is not None and value > high):
            raise self._error(
                name, f"must be in [{low}, {high if high is not None else 'inf'}]", value
            )
        return value

    def real(self, name, allow_nan=False):
        """A float (finite, or NaN where ``allow_nan``)."""
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(name, "must be a number", value)
        if not (np.isfinite(value) or (allow_nan and np.isnan(value))):
            raise self._error(name, "must be finite", value)
        return float(value)

    def array(self, name, shape, allow_nan=False):
        """A float64 array of ``shape`` (None entries: any length), finite unless NaN allowed."""
        value = self.raw(name)
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            raise self._error(name, "must be an array of numbers", value) from None
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape, strict=False)
        ):
            want = tuple("n" if s is None else s for s in shape)
            raise self._error(name, f"must have shape {want}", arr.shape)
        bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
        if bad.any():
            raise self._error(name, "must be finite", arr[bad][0].item())
        return arr

    def classes(self, name="classes_"):
        """Distinct class labels (numbers, strings or booleans) as a 1-D array."""
        value = self.raw(name)
        ok = isinstance(value, list) and len(value) >= 1
        ok = ok and all(isinstance(v, (bool, int, float, str)) for v in value)
        arr = np.asarray(value) if ok else None
        if not ok or arr.ndim != 1 or arr.dtype.kind not in "biufU":
            raise self._error(name, "must be a non-empty list of labels of one kind", value)
        if np.unique(arr).size != arr.size:
            raise self._error(name, "must not repeat a label", value)
        return arr

    def check_width(self, trees, widths, what):
        """Every tree's ``value`` has one of ``widths`` columns (``what`` says why)."""
        if trees and trees[0].n_outputs not in widths:
            raise ValueError(
                f"{self.source}: tree 0, field 'value': {what} needs "
                f"{' or '.join(map(str, widths))} column(s) (got {trees[0].n_outputs})"
            )


FORMAT = "skextras-tree-ensemble"


def _read_document(path):
    """The JSON object in ``path``; ValueError naming the file when it is not one."""
    data = Path(path).read_bytes()
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a JSON model file (not UTF-8 text: {exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a model file (JSON nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a valid JSON model file ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a model file holds a JSON object, not {type(doc).__name__}")
    return doc


def load_model_json(path, estimator_name):
    """Read and validate a document written by ``save_model_json``.

    Returns ``(params, learned, trees)``: the parameters (a dict, to be checked by the
    estimator's own ``_validate_params``), the ``learned`` section as a :class:`LearnedState`
    and the trees, each validated by
    :func:`~skextras._engine.tree_validation.trees_from_documents` against
    ``n_features_in_`` (index ranges, acyclic trees with every node reachable, lengths,
    types, one output width). Raises ValueError naming the file (and tree, node, field).
    """
    doc = _read_document(path)
    if doc.get("format") != FORMAT or doc.get("estimator") != estimator_name:
        raise ValueError(
            f"{path} does not hold a saved {estimator_name} "
            f"(format={doc.get('format')!r:.80}, estimator={doc.get('estimator')!r:.80})"
        )
    if doc.get("version") != 1:
        raise ValueError(f"{path}: unsupported format version {doc.get('version')!r:.80}")
    params = doc.get("params")
    if not isinstance(params, dict):
        raise ValueError(f"{path}: 'params' must be a JSON object, got {params!r:.80}")
    learned = LearnedState(doc.get("learned"), str(path))
    n_features = learned.integer("n_features_in_", 1, np.iinfo(np.int32).max)
    if "feature_names_in_" in learned:
        names = learned.raw("feature_names_in_")
        if (
            not isinstance(names, list)
            or len(names) != n_features
            or not all(isinstance(v, str) for v in names)
            or len(set(names)) != len(names)
        ):
            raise learned._error(
                "feature_names_in_", f"must be {n_features} distinct strings", names
            )
    trees = trees_from_documents(doc.get("trees"), n_features, source=str(path))
    return params, learned, trees
