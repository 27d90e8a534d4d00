"""JSON save / load for the ensembles of this package (trees + parameters + learned state).

Each estimator provides ``_learned_state() -> (dict, trees)`` and
``_restore_state(learned, trees)``; the document format is the shared one of ``_base``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skextras.ensemble._base import load_model_json, save_model_json


class JSONPersistMixin:
    """``save_model(path)`` / ``load_model(path)`` as readable JSON, no pickle needed."""

    def save_model(self, path):
        """Write parameters, learned attributes and every tree to ``path`` as JSON."""
        check_is_fitted(self)
        learned, trees = self._learned_state()
        learned["n_features_in_"] = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            learned["feature_names_in_"] = list(self.feature_names_in_)
        save_model_json(path, type(self).__name__, self.get_params(deep=False), learned, trees)

    def load_model(self, path):
        """Load a model written by ``save_model`` into this estimator; returns self."""
        params, learned, trees = load_model_json(path, type(self).__name__)
        self.set_params(**{k: v for k, v in params.items() if k in self.get_params(deep=False)})
        self.n_features_in_ = int(learned.pop("n_features_in_"))
        names = learned.pop("feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self._restore_state(learned, trees)
        return self
