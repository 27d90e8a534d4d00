"""Tree ensembles built on the shared histogram engine.

The estimators are imported on first use (see ``skextras/_lazy.py``): importing this
package does not import scikit-learn or the numba engine.
"""

from skextras._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "AdaBoostClassifier": "_adaboost",
        "AdaBoostRegressor": "_adaboost",
        "ExtraTreesClassifier": "_forest",
        "ExtraTreesRegressor": "_forest",
        "RandomForestClassifier": "_forest",
        "RandomForestRegressor": "_forest",
        "GradientBoostingClassifier": "_gradient_boosting",
        "GradientBoostingRegressor": "_gradient_boosting",
        "NewtonBoostingClassifier": "_newton_boosting",
        "NewtonBoostingRanker": "_ranker",
        "NewtonBoostingRegressor": "_newton_boosting",
        "HistTreeClassifier": "_tree",
        "HistTreeRegressor": "_tree",
        "plot_importance": "_plot",
        "plot_metric": "_plot",
        "plot_tree": "_plot",
        "trees_to_dataframe": "_plot",
    },
)
