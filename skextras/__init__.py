"""skextras: scikit-learn citizens for tree ensembles, detection metrics, TF-exact feature
columns and torch-backed deep models.

Subpackages are imported lazily: ``import skextras`` never imports torch, numba-compiled code
or matplotlib until an attribute that needs them is used.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("datasets", "ensemble", "feature_columns", "io", "metrics", "nn", "online", "rl")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"skextras.{name}")
    raise AttributeError(f"module 'skextras' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
