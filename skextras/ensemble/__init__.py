"""Tree ensembles built on the shared histogram engine."""

from skextras.ensemble._adaboost import AdaBoostClassifier, AdaBoostRegressor
from skextras.ensemble._forest import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from skextras.ensemble._gradient_boosting import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)
from skextras.ensemble._newton_boosting import NewtonBoostingClassifier, NewtonBoostingRegressor
from skextras.ensemble._plot import plot_importance, plot_metric, plot_tree, trees_to_dataframe
from skextras.ensemble._ranker import NewtonBoostingRanker
from skextras.ensemble._tree import HistTreeClassifier, HistTreeRegressor

__all__ = [
    "AdaBoostClassifier",
    "AdaBoostRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistTreeClassifier",
    "HistTreeRegressor",
    "NewtonBoostingClassifier",
    "NewtonBoostingRanker",
    "NewtonBoostingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "plot_importance",
    "plot_metric",
    "plot_tree",
    "trees_to_dataframe",
]
