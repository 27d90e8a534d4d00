"""JSON-ready configs of columns (as TF's ``serialize_feature_column``), so a layer saves
as a readable document plus an ``.npz`` of embedding tables, without pickle."""

import numpy as np

from . import _columns, _sequence

_CLASSES = {
    cls.__name__: cls
    for module in (_columns, _sequence)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, _columns.FeatureColumn)
}


def to_config(obj):
    """A column (or list / array / scalar parameter) as JSON-compatible data."""
    if isinstance(obj, _columns.FeatureColumn):
        params = obj.get_params(deep=False)
        return {"class": type(obj).__name__, "params": {k: to_config(v) for k, v in params.items()}}
    if isinstance(obj, np.ndarray):
        return {"ndarray": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, (list, tuple)):
        return [to_config(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise ValueError(
        f"cannot serialize {obj!r} ({type(obj).__name__}): normalizer_fn and callable "
        "initializers have no JSON form; set them again after from_config"
    )


def from_config(config):
    """Inverse of :func:`to_config`."""
    if isinstance(config, list):
        return [from_config(v) for v in config]
    if isinstance(config, dict) and "ndarray" in config:
        return np.array(config["ndarray"], dtype=config["dtype"])
    if isinstance(config, dict) and "class" in config:
        cls = _CLASSES.get(config["class"])
        if cls is None:
            raise ValueError(f"unknown column class {config['class']!r}")
        return cls(**{k: from_config(v) for k, v in config["params"].items()})
    return config
