"""Model folders: saving checks, and loading that never runs what a hostile folder names."""

import copy
import functools
import io
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from skextras.nn import (  # noqa: E402
    VAE,
    DiffusionModel,
    GlowFlow,
    MLPClassifier,
    MLPRegressor,
    NICEFlow,
    RealNVPFlow,
    TorchClassifier,
)
from skextras.nn._serialization import allowed_factories, register_factory  # noqa: E402

LOAD_ERRORS = (ValueError, TypeError)


def own_net(n_features, n_outputs, hidden=4):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_outputs)
    )


@pytest.fixture(scope="module")
def data():
    return make_classification(60, 4, n_informative=3, n_redundant=0, random_state=0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    """An MLPClassifier folder and a TorchClassifier folder (factory: ``own_net``)."""
    root = tmp_path_factory.mktemp("saved")
    X, y = data
    kwargs = dict(max_epochs=2, random_state=0)
    MLPClassifier((4,), **kwargs).fit(X, y).save(root / "mlp")
    TorchClassifier(own_net, module__hidden=3, **kwargs).fit(X, y).save(root / "wrapped")
    return root


def _copy(folder, tmp_path, name="copy"):
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def _edit(folder, change):
    document = json.loads((folder / "model.json").read_text())
    change(document)
    (folder / "model.json").write_text(json.dumps(document))


# ---------------------------------------------------------------------- hostile names
HOSTILE = ["os:system", "subprocess:call", "builtins:eval", "builtins:exec", "posix:system"]


@pytest.fixture()
def payload(tmp_path, monkeypatch):
    """A module that would create a file when imported, and the file it would create."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil_payload.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef run(**kwargs):\n    return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("evil_payload", None)
    return marker


@pytest.mark.parametrize("spec", [*HOSTILE, "evil_payload:run"])
def test_load_refuses_a_factory_outside_the_allow_list_before_importing(
    saved, tmp_path, payload, spec
):
    folder = _copy(saved / "wrapped", tmp_path)
    command = f"touch {payload}"

    def hostile(document):
        document["params"]["module"] = {"__object__": spec}
        document["params"]["module__command"] = command
        document["params"]["module__source"] = f"open({str(payload)!r}, 'w')"

    _edit(folder, hostile)
    with pytest.raises(ValueError, match=rf"model\.json.*params\['module'\].*{spec}"):
        TorchClassifier.load(folder)
    assert not payload.exists()
    assert "evil_payload" not in sys.modules


@pytest.mark.parametrize("spec", HOSTILE)
def test_load_refuses_a_hostile_name_nested_in_module_params(saved, tmp_path, payload, spec):
    folder = _copy(saved / "wrapped", tmp_path)
    _edit(folder, lambda d: d["params"].update(module__hidden=[{"__object__": spec}]))
    with pytest.raises(ValueError, match=f"module__hidden.*{spec}"):
        TorchClassifier.load(folder, module=own_net)
    assert not payload.exists()


@pytest.mark.parametrize("spec", [*HOSTILE, "evil_payload:run", "skextras.nn.mlp:MLPRegressor"])
def test_load_refuses_a_class_that_is_not_the_loading_class(saved, tmp_path, payload, spec):
    folder = _copy(saved / "mlp", tmp_path)
    _edit(folder, lambda d: d.update({"class": spec}))
    with pytest.raises(TypeError, match=spec):
        MLPClassifier.load(folder)
    assert not payload.exists()
    assert "evil_payload" not in sys.modules


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_load_refuses_a_pickle_payload_in_weights_without_running_it(saved, tmp_path, payload):
    folder = _copy(saved / "mlp", tmp_path)
    torch.save({"net.0.weight": _Payload(payload)}, folder / "weights.pt")
    with pytest.raises(ValueError, match=r"weights\.pt is not a weights file"):
        MLPClassifier.load(folder)
    assert not payload.exists()


# ---------------------------------------------------------------------- own factories
def test_load_builds_an_own_factory_passed_explicitly(saved, data):
    X, _ = data
    with pytest.raises(ValueError, match="own_net"):
        TorchClassifier.load(saved / "wrapped")
    by_module = TorchClassifier.load(saved / "wrapped", module=own_net)
    by_list = TorchClassifier.load(saved / "wrapped", factories=[own_net])
    np.testing.assert_array_equal(by_module.predict_proba(X), by_list.predict_proba(X))
    assert by_module.module is own_net


def test_register_factory_extends_the_allow_list_for_every_load(saved):
    spec = f"{own_net.__module__}:own_net"
    assert spec not in allowed_factories()
    try:
        register_factory(own_net)
        assert TorchClassifier.load(saved / "wrapped").module is own_net
    finally:
        from skextras.nn import _serialization

        _serialization._FACTORIES.pop(spec)


def test_torch_nn_classes_are_allowed_and_load_back(tmp_path, data):
    X, y = data
    reg = TorchClassifier(
        torch.nn.Linear, module__in_features=4, module__out_features=2, max_epochs=1
    )
    reg.fit(X, y).save(tmp_path / "linear")
    loaded = TorchClassifier.load(tmp_path / "linear")
    assert loaded.module is torch.nn.Linear
    np.testing.assert_array_equal(loaded.predict_proba(X), reg.predict_proba(X))


def test_module_instance_is_saved_by_class_and_loaded_when_passed(tmp_path, data):
    X, y = data
    clf = TorchClassifier(torch.nn.Linear(4, 2), max_epochs=1, random_state=0).fit(X, y)
    clf.save(tmp_path / "instance")
    with pytest.raises(ValueError, match="instance"):
        TorchClassifier.load(tmp_path / "instance")
    loaded = TorchClassifier.load(tmp_path / "instance", module=torch.nn.Linear(4, 2))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# ---------------------------------------------------------------------- save checks
def _local_factory():
    def net(n_features, n_outputs):
        return torch.nn.Linear(n_features, n_outputs)

    return net


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda n_features, n_outputs: torch.nn.Linear(n_features, n_outputs), "lambda"),
        (_local_factory(), "inside another function"),
        (functools.partial(own_net, hidden=2), "functools.partial"),
    ],
    ids=["lambda", "locals", "partial"],
)
def test_save_refuses_a_factory_that_cannot_be_imported_back(tmp_path, data, factory, message):
    clf = TorchClassifier(factory, max_epochs=1).fit(*data)
    with pytest.raises(ValueError, match=message):
        clf.save(tmp_path / "model")


def test_save_warns_for_a_factory_defined_in_main(tmp_path, data, monkeypatch):
    def net(n_features, n_outputs):
        return torch.nn.Linear(n_features, n_outputs)

    net.__module__, net.__qualname__ = "__main__", "net"
    clf = TorchClassifier(net, max_epochs=1).fit(*data)
    with pytest.warns(UserWarning, match="__main__"):
        clf.save(tmp_path / "model")
    assert TorchClassifier.load(tmp_path / "model", module=net).module is net


# ---------------------------------------------------------------------- field checks
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(extra=1), "keys"),
        (lambda d: d.pop("fitted"), "keys"),
        (lambda d: d.update(params=[]), "'params' must be a dict"),
        (lambda d: d["params"].update(n_layers=3), "unknown parameter 'n_layers'"),
        (lambda d: d["params"].update(lr=-1.0), "lr"),
        (lambda d: d["params"].update(activation={"a": 1}), "activation"),
        (lambda d: d["fitted"].update(predict=1), "'predict'"),
        (lambda d: d["fitted"].update(__class__=1), "'__class__'"),
        (lambda d: d["fitted"].update(surprise_=1), "unknown fields \\['surprise_'\\]"),
        (lambda d: d["fitted"].pop("classes_"), "classes_"),
        (lambda d: d["fitted"].update(n_features_in_=-3), "n_features_in_"),
        (lambda d: d["fitted"].update(n_features_in_=7), "weights.pt"),
        (lambda d: d["fitted"]["classes_"].update(dtype="V8"), "dtype"),
        (lambda d: d["fitted"]["classes_"].update(__array__=[0, 1, 2]), "net.2"),
        (lambda d: d["fitted"].update(history_=[[1]]), "history_"),
        (lambda d: d["params"].update(hidden_layer_sizes=[10**12]), "weights.pt"),
    ],
)
def test_load_refuses_a_malformed_field_naming_the_file(saved, tmp_path, change, message):
    folder = _copy(saved / "mlp", tmp_path)
    _edit(folder, change)
    with pytest.raises(ValueError, match=message) as info:
        MLPClassifier.load(folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: NICEFlow(n_couplings=2, hidden_layer_sizes=(4,), max_epochs=1),
        lambda: RealNVPFlow(n_couplings=2, hidden_layer_sizes=(4,), max_epochs=1),
        lambda: GlowFlow(n_steps=1, hidden_layer_sizes=(4,), max_epochs=1),
        lambda: VAE(2, hidden_layer_sizes=(4,), max_epochs=1),
        lambda: DiffusionModel(hidden_layer_sizes=(4,), max_epochs=1),
    ],
    ids=lambda make: type(make()).__name__,
)
def test_load_of_a_huge_saved_network_allocates_nothing(tmp_path, data, make):
    # 10**7 x 10**7 hidden units would be 400 TB: the network must be built on the meta
    # device and refused on the weights comparison, not allocated.
    est = make().fit(MinMaxScaler().fit_transform(data[0]), None)
    est.save(tmp_path / "model")
    _edit(tmp_path / "model", lambda d: d["params"].update(hidden_layer_sizes=[10**7, 10**7]))
    with pytest.raises(ValueError, match="weights.pt"):
        type(est).load(tmp_path / "model")


def test_load_refuses_weights_of_another_network_naming_the_tensor(saved, tmp_path):
    folder = _copy(saved / "mlp", tmp_path)
    state = torch.load(folder / "weights.pt", weights_only=True)
    torch.save({**state, "net.0.weight": state["net.0.weight"][:2]}, folder / "weights.pt")
    with pytest.raises(ValueError, match=r"net\.0\.weight.*\(2, 4\).*\(4, 4\)"):
        MLPClassifier.load(folder)
    torch.save({k: v for k, v in state.items() if k != "net.2.bias"}, folder / "weights.pt")
    with pytest.raises(ValueError, match=r"missing tensors \['net\.2\.bias'\]"):
        MLPClassifier.load(folder)
    torch.save([1, 2], folder / "weights.pt")
    with pytest.raises(ValueError, match="not a state dict"):
        MLPClassifier.load(folder)


def test_loading_class_must_match_or_be_a_base(saved):
    with pytest.raises(TypeError, match="MLPClassifier"):
        MLPRegressor.load(saved / "mlp")
    from skextras.nn import TorchEstimator

    assert type(TorchEstimator.load(saved / "mlp")) is MLPClassifier


# ---------------------------------------------------------------------- fuzzing
def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            yield from _paths(child, (*prefix, key))


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from([{"__object__": s} for s in HOSTILE] + [{"__instance__": "os:system"}])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def _mutated(draw, document):
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(document))))
        if not path:
            continue
        parent = functools.reduce(lambda node, key: node[key], path[:-1], document)
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(_JSON)
        else:
            parent[path[-1]] = draw(_JSON)
    return document


def _load_or_documented_error(folder, X):
    try:
        loaded = MLPClassifier.load(folder)
    except LOAD_ERRORS:
        return
    # A folder that loads is a working model.
    proba = loaded.predict_proba(X)
    assert proba.shape == (len(X), len(loaded.classes_))


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(data=st.data())
def test_fuzzed_model_json_loads_or_raises_a_documented_error(saved, data):
    X = np.zeros((3, 4))
    document = json.loads((saved / "mlp" / "model.json").read_text())
    mutated = data.draw(_mutated(document))
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(saved / "mlp", Path(tmp))
        (folder / "model.json").write_text(json.dumps(mutated))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _load_or_documented_error(folder, X)


@FUZZ
@given(data=st.data())
def test_fuzzed_weights_load_or_raise_a_documented_error(saved, data):
    X = np.zeros((3, 4))
    original = (saved / "mlp" / "weights.pt").read_bytes()
    kind = data.draw(st.sampled_from(["truncate", "flip", "random", "pickle"]))
    if kind == "truncate":
        content = original[: data.draw(st.integers(0, len(original) - 1))]
    elif kind == "flip":
        content = bytearray(original)
        for _ in range(data.draw(st.integers(1, 4))):
            bit = data.draw(st.integers(0, 8 * len(content) - 1))
            content[bit // 8] ^= 1 << (bit % 8)
        content = bytes(content)
    elif kind == "random":
        content = data.draw(st.binary(max_size=4096))
    else:
        buffer = io.BytesIO()
        torch.save(data.draw(_JSON), buffer)
        content = buffer.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(saved / "mlp", Path(tmp))
        (folder / "weights.pt").write_bytes(content)
        _load_or_documented_error(folder, X)


def test_json_nested_too_deep_is_a_documented_error(saved, tmp_path):
    folder = _copy(saved / "mlp", tmp_path)
    text = (folder / "model.json").read_text()
    (folder / "model.json").write_text(text.replace('"lr": ', '"lr": ' + "[" * 100000, 1))
    with pytest.raises(ValueError, match="not a JSON document"):
        MLPClassifier.load(folder)
