"""Tree ensembles built on the shared histogram engine."""

from ._newton_boosting import NewtonBoostingClassifier, NewtonBoostingRegressor

__all__ = ["NewtonBoostingClassifier", "NewtonBoostingRegressor"]
