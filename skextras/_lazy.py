"""Lazy public names for subpackages (PEP 562): ``import skextras.ensemble`` costs
milliseconds, and the module that defines a name (with scikit-learn, pandas and the numba
kernels it needs) is imported on the first access of that name.

A new process that only unpickles one estimator, as a joblib / loky worker does, thus
imports that estimator's modules and no others; measured in ``benchmarks/cold_start.py``.
"""

import importlib


def attach(package, names):
    """``(__getattr__, __dir__, __all__)`` for ``package`` exposing ``names``: a mapping of
    public name -> the submodule (relative to ``package``) that defines it."""

    def __getattr__(name):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value  # later accesses are plain attribute lookups
        return value

    def __dir__():
        return sorted(names)

    return __getattr__, __dir__, sorted(names)
