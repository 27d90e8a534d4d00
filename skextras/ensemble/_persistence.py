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


def _decode_param(value):
    if isinstance(value, dict) and set(value) == {"estimator", "params"}:
        return _ESTIMATOR_PARAMS[value["estimator"]](**value["params"])
    return value


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
        """Load a model written by ``save_model`` into this estimator; returns self."""
        params, learned, trees = load_model_json(path, type(self).__name__)
        known = self.get_params(deep=False)
        self.set_params(**{k: _decode_param(v) for k, v in params.items() if k in known})
        self.n_features_in_ = int(learned.pop("n_features_in_"))
        names = learned.pop("feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self._restore_state(learned, trees)
        return self
