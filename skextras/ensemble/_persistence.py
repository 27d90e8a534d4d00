"""JSON save / load for the ensembles of this package (trees + parameters + learned state).

Each estimator provides ``_learned_state() -> (dict, trees)`` and
``_restore_state(learned, trees)``; the document format is the shared one of ``_base``.
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skextras.ensemble._base import load_model_json, save_model_json
from skextras.ensemble._tree import HistTreeClassifier, HistTreeRegressor

# Estimator-valued parameters that a JSON document can rebuild.
_ESTIMATOR_PARAMS = {cls.__name__: cls for cls in (HistTreeClassifier, HistTreeRegressor)}


def _encode_param(value):
    if not isinstance(value, BaseEstimator):
        return value
    if type(value).__name__ not in _ESTIMATOR_PARAMS:
        raise ValueError(
            f"cannot save the parameter {value!r} to JSON; use pickle / joblib for this model."
        )
    return {"estimator": type(value).__name__, "params": value.get_params(deep=False)}


def _decode_param(name, value, path):
    """Rebuild an estimator-valued parameter; only the classes of ``_ESTIMATOR_PARAMS``."""
    if not (isinstance(value, dict) and set(value) == {"estimator", "params"}):
        return value
    cls = _ESTIMATOR_PARAMS.get(value["estimator"]) if isinstance(value["estimator"], str) else None
    inner = value["params"]
    if cls is None or not isinstance(inner, dict) or not set(inner) <= set(cls().get_params()):
        raise ValueError(
            f"{path}: parameter {name!r} names an estimator this package cannot rebuild "
            f"(allowed: {sorted(_ESTIMATOR_PARAMS)}; got {value!r:.200})"
        )
    return cls(**inner)


def check_loaded_params(model, path):
    """The parameters set from a file pass the estimator's own checks (ValueError naming
    the file and the parameter)."""
    try:
        model._validate_params()
        for value in model.get_params(deep=False).values():
            if isinstance(value, BaseEstimator):
                value._validate_params()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


class JSONPersistMixin:
    """``save_model(path)`` / ``load_model(path)`` as readable JSON, no pickle needed."""

    def save_model(self, path):
        """Write parameters, learned attributes and every tree to ``path`` as JSON."""
        check_is_fitted(self)
        learned, trees = self._learned_state()
        learned["n_features_in_"] = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            learned["feature_names_in_"] = list(self.feature_names_in_)
        params = {k: _encode_param(v) for k, v in self.get_params(deep=False).items()}
        save_model_json(path, type(self).__name__, params, learned, trees)

    def load_model(self, path):
        """Load a model written by ``save_model`` into this estimator; returns self.

        The file is checked completely (parameters, learned attributes, every index of
        every tree) before anything is assigned: a file that fails raises ValueError naming
        it and leaves this estimator unchanged.
        """
        params, learned, trees = load_model_json(path, type(self).__name__)
        model = type(self)()
        known = model.get_params(deep=False)
        model.set_params(**{k: _decode_param(k, v, path) for k, v in params.items() if k in known})
        check_loaded_params(model, path)
        model.n_features_in_ = learned.raw("n_features_in_")
        if "feature_names_in_" in learned:
            model.feature_names_in_ = np.asarray(learned.raw("feature_names_in_"), dtype=object)
        model._restore_state(learned, trees)
        self.__dict__.clear()
        self.__dict__.update(model.__dict__)
        return self
