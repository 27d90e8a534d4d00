"""Model folders of the torch estimators: ``model.json`` + ``weights.pt``, loaded safely.

``save`` writes the estimator class, its parameters and its fitted attributes as JSON and the
network's state dict with ``torch.save``. A model folder may come from anyone, so loading
holds these invariants:

- **Nothing named in the file is imported or called.** The estimator class is looked up by
  name among the subclasses of the loading class that this process has already imported.
  A factory parameter (``{"__object__": "pkg.mod:name"}``) is looked up in an allow-list:
  the factories skextras provides (:func:`register_factory`), torch's own ``torch.nn``
  classes, and whatever the caller passes to ``load`` (``module=`` or ``factories=``). A name
  outside the list raises before anything is imported or called.
- **Every field is checked** before an estimator is built: the document's keys, the type of
  every parameter (JSON scalars, lists, the two object markers), the parameter names of the
  class, the fitted attributes (names, types, array dtypes) and that they are exactly the
  attributes the class saves.
- **The network is first built on the ``meta`` device** (no memory), and ``weights.pt``,
  read with ``torch.load(weights_only=True)``, must hold exactly its tensor names, shapes and
  dtypes; only then is the real network allocated. A file that is not a weights file raises.

Every refusal is a ``ValueError`` naming the file and the field (a ``TypeError`` when the
folder holds another estimator class than the one asked for).
"""

import functools
import importlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import torch

OBJECT_KEY = "__object__"
INSTANCE_KEY = "__instance__"
_ARRAY_KEY = "__array__"
_DOCUMENT_KEYS = {"class", "params", "fitted"}
_BASE_FITTED = {"n_features_in_", "history_", "feature_names_in_"}
_ARRAY_KINDS = set("biufUO")
_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")
_MAX_DEPTH = 32

_FACTORIES = {}


def object_spec(obj):
    """The ``"module:qualname"`` name under which a class or function is saved."""
    return f"{obj.__module__}:{obj.__qualname__}"


def register_factory(obj):
    """Allow ``load`` to rebuild parameters naming ``obj`` (a class or function); returns it.

    skextras registers its own network factories; a library building on skextras can
    register its own (usable as a decorator). A caller loading one folder can instead pass
    the factory to ``load`` (``module=`` or ``factories=``).
    """
    _FACTORIES[object_spec(obj)] = obj
    return obj


@functools.lru_cache(maxsize=1)
def _torch_nn_classes():
    """torch's own ``torch.nn`` module classes (layers, activations, losses) by saved name."""
    found = {}
    for name in dir(torch.nn):
        obj = getattr(torch.nn, name)
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            if obj.__module__.startswith("torch.nn.modules."):
                found[object_spec(obj)] = obj
    return found


def allowed_factories(extra=()):
    """Saved name -> object of every factory ``load`` may build (plus ``extra``)."""
    return {**_torch_nn_classes(), **_FACTORIES, **{object_spec(f): f for f in extra}}


# ---------------------------------------------------------------------- saving
def encode_param(name, value):
    """A parameter as JSON; a class or function by its import path, checked to import back."""
    if isinstance(value, torch.nn.Module):
        return {INSTANCE_KEY: object_spec(type(value))}
    if isinstance(value, functools.partial):
        raise ValueError(
            f"cannot save {name}={value!r}: a functools.partial cannot be imported back; "
            "define a module-level function (def) that calls it"
        )
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return {OBJECT_KEY: _importable_spec(name, value)}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, np.random.RandomState):
        raise TypeError("save needs random_state to be an int or None, not a RandomState")
    if isinstance(value, tuple | list):
        return [encode_param(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_param(name, v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _importable_spec(name, value):
    spec = object_spec(value)
    if value.__name__ == "<lambda>" or "<locals>" in value.__qualname__:
        raise ValueError(
            f"cannot save {name}={spec}: a lambda or a function defined inside another "
            "function cannot be imported back; define it at module level"
        )
    if value.__module__ == "__main__":
        warnings.warn(
            f"{name}={spec} is defined in __main__: loading needs it passed explicitly "
            f"(load(folder, factories=[{value.__qualname__}])) or defined in an importable "
            "module"
        )
        return spec
    try:
        module = importlib.import_module(value.__module__)
        found = functools.reduce(getattr, value.__qualname__.split("."), module)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot save {name}={spec}: it does not import back ({exc})") from exc
    if found is not value:
        raise ValueError(f"cannot save {name}={spec}: that name imports a different object")
    return spec


def encode_fitted(value):
    if isinstance(value, np.ndarray):
        return {_ARRAY_KEY: value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_folder(path, klass, params, fitted, state_dict):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.save(state_dict, path / "weights.pt")
    document = {
        "class": object_spec(klass),
        "params": {k: encode_param(k, v) for k, v in params.items()},
        "fitted": {k: encode_fitted(v) for k, v in fitted.items()},
    }
    (path / "model.json").write_text(json.dumps(document, indent=1))


# ---------------------------------------------------------------------- loading
class _Refused(ValueError):
    """A refusal inside a field; re-raised naming the file."""


def read_document(path):
    """Parse and check the shape of ``model.json``; return (class name, params, fitted)."""
    file = Path(path) / "model.json"
    try:
        document = json.loads(file.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{file} is not a JSON document: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{file}: the document is a {type(document).__name__}, not an object")
    if set(document) != _DOCUMENT_KEYS:
        raise ValueError(
            f"{file}: the document has keys {sorted(document)}, expected {sorted(_DOCUMENT_KEYS)}"
        )
    for key, kind in (("class", str), ("params", dict), ("fitted", dict)):
        if not isinstance(document[key], kind):
            raise ValueError(f"{file}: field {key!r} must be a {kind.__name__}")
    return document["class"], document["params"], document["fitted"]


def find_class(file, spec, cls):
    """The already-imported subclass of ``cls`` (or ``cls``) saved under the name ``spec``."""
    pending, seen = [cls], set()
    while pending:
        klass = pending.pop()
        if klass in seen:
            continue
        seen.add(klass)
        if object_spec(klass) == spec:
            return klass
        pending.extend(klass.__subclasses__())
    raise TypeError(
        f"{file} holds a {spec!r}, not a {cls.__name__} (nor a subclass of it imported in "
        "this process); load it with its own class"
    )


def decode_params(file, klass, params, factories, overrides):
    """Check every saved parameter and rebuild its value; ``overrides`` replace values."""
    allowed = allowed_factories(factories)
    names = set(klass._get_param_names())
    prefixes = tuple(getattr(klass, "_ROUTED_PREFIXES", ("module__",)))
    decoded = {}
    for name, value in params.items():
        if name not in names and not (name.startswith(prefixes) and _NAME.match(name)):
            raise ValueError(f"{file}: params has an unknown parameter {name!r} for {klass}")
        if name in overrides:
            decoded[name] = overrides[name]
            continue
        try:
            decoded[name] = _decode_value(value, allowed, 0)
        except _Refused as exc:
            raise ValueError(f"{file}: params[{name!r}]: {exc}") from None
    return decoded


def _decode_value(value, allowed, depth):
    if depth > _MAX_DEPTH:
        raise _Refused(f"nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return tuple(_decode_value(v, allowed, depth + 1) for v in value)
    if not isinstance(value, dict):
        raise _Refused(f"a {type(value).__name__} is not a parameter value")
    if OBJECT_KEY in value or INSTANCE_KEY in value:
        key = OBJECT_KEY if OBJECT_KEY in value else INSTANCE_KEY
        spec = value[key]
        if len(value) != 1 or not isinstance(spec, str):
            raise _Refused(f"a {key} marker must be the only key and hold a string")
        if key == INSTANCE_KEY:
            raise _Refused(
                f"the saved model was fitted with a {spec} instance as module; pass one "
                "(or its factory) to load(folder, module=...)"
            )
        if spec not in allowed:
            raise _Refused(
                f"factory {spec!r} is not one skextras provides nor one passed to load; it "
                "is neither imported nor called. If you trust it, pass it: "
                "load(folder, module=factory) or load(folder, factories=[factory])"
            )
        return allowed[spec]
    return {_checked_key(k): _decode_value(v, allowed, depth + 1) for k, v in value.items()}


def _checked_key(key):
    if key.startswith("__"):
        raise _Refused(f"key {key!r} is reserved")
    return key


def set_fitted(file, estimator, fitted):
    """Check and set the fitted attributes; they must be exactly those the class saves."""
    klass = type(estimator)
    params = set(estimator.get_params())
    for name, value in fitted.items():
        if (
            not _NAME.match(name)
            or name in params
            or callable(getattr(klass, name, None))
            or isinstance(getattr(klass, name, None), property)
        ):
            raise ValueError(f"{file}: fitted has a field {name!r} that is not an attribute")
        try:
            setattr(estimator, name, _fitted_value(name, value))
        except _Refused as exc:
            raise ValueError(f"{file}: fitted[{name!r}]: {exc}") from None
    try:
        expected = _BASE_FITTED | set(estimator._fitted_state())
    except AttributeError as exc:
        raise ValueError(f"{file}: fitted lacks a field: {exc}") from None
    if "feature_names_in_" not in fitted:
        expected.discard("feature_names_in_")
    if set(fitted) != expected:
        extra, missing = sorted(set(fitted) - expected), sorted(expected - set(fitted))
        raise ValueError(f"{file}: fitted has unknown fields {extra} and lacks {missing}")
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and len(names) != estimator.n_features_in_:
        raise ValueError(
            f"{file}: fitted['feature_names_in_'] has {len(names)} names for "
            f"n_features_in_={estimator.n_features_in_}"
        )


def _fitted_value(name, value):
    if name == "n_features_in_":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _Refused(f"must be an integer >= 1, got {value!r}")
        return value
    if name == "feature_names_in_":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Refused("must be a list of strings")
        return np.asarray(value, dtype=object)
    if name == "history_":
        return _history(value)
    if isinstance(value, dict):
        return _array(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise _Refused(f"a {type(value).__name__} is not a fitted value")


def _history(value):
    from skextras.nn._history import History

    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise _Refused("must be a list of objects (one per epoch)")
    for record in value:
        for key, item in record.items():
            if item is not None and (isinstance(item, bool) or not isinstance(item, int | float)):
                raise _Refused(f"epoch field {key!r} holds {item!r}, not a number")
    return History(value)


def _array(value):
    if set(value) != {_ARRAY_KEY, "dtype"} or not isinstance(value["dtype"], str):
        raise _Refused("an array is {'__array__': [...], 'dtype': '<numpy dtype string>'}")
    try:
        dtype = np.dtype(value["dtype"])
    except (TypeError, ValueError) as exc:
        raise _Refused(f"dtype {value['dtype']!r} is not a numpy dtype") from exc
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype:
        raise _Refused(f"dtype {value['dtype']!r} is not a plain numeric or string dtype")
    items = value[_ARRAY_KEY]
    if not isinstance(items, list):
        raise _Refused("the array values must be a list")
    try:
        array = np.asarray(items, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Refused(f"the values do not form a {dtype} array: {exc}") from exc
    if dtype.kind == "O" and not all(
        isinstance(v, str | int | float) for v in array.ravel().tolist()
    ):
        raise _Refused("an object array may hold only strings and numbers")
    return array


def network_shapes(file, estimator):
    """The state dict of the network the saved parameters build, on the ``meta`` device
    when its construction allows (no memory is allocated for a hostile size); the fresh
    network's random draws leave torch's global RNG untouched."""
    try:
        try:
            with torch.random.fork_rng(devices=[]), torch.device("meta"):
                return estimator._build_module().state_dict()
        except (NotImplementedError, RuntimeError):
            # Every skextras network builds on meta (tested); a user's factory may not (an op
            # without a meta kernel, a value read during construction): build it for real.
            with torch.random.fork_rng(devices=[]):
                return estimator._build_module().state_dict()
    except (TypeError, ValueError, RuntimeError, OverflowError, NotImplementedError) as exc:
        raise ValueError(f"{file}: the saved parameters do not build a network: {exc}") from exc


def read_weights(path, reference):
    """Read ``weights.pt`` safely; it must match ``reference`` (names -> tensors) exactly."""
    file = Path(path) / "weights.pt"
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not weights"
        raise ValueError(
            f"{file} is not a weights file (torch.save of a state dict): {exc}"
        ) from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{file} is not a state dict (a mapping of names to tensors)")
    missing, unexpected = sorted(set(reference) - set(state)), sorted(set(state) - set(reference))
    if missing or unexpected:
        raise ValueError(
            f"{file} does not fit the network: missing tensors {missing[:5]}, unexpected "
            f"tensors {unexpected[:5]}"
        )
    for name, tensor in reference.items():
        saved = state[name]
        if saved.shape != tensor.shape or saved.dtype != tensor.dtype:
            raise ValueError(
                f"{file}: tensor {name!r} is {saved.dtype} {tuple(saved.shape)}, the network "
                f"needs {tensor.dtype} {tuple(tensor.shape)}"
            )
    return state
