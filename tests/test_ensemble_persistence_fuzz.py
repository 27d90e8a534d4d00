"""Fuzzing ``load_model`` of every tree-ensemble family with hypothesis.

Real saved models of each family are mutated at random (child indices in and out of range,
self-loops, cycles, shared and unreachable nodes, wrong lengths and types, NaN, huge numbers,
missing keys, bad learned attributes, truncated JSON, random bytes, deep nesting). Each load
either raises ValueError naming the file, or succeeds and then every tree predicts exactly
what a slow walk of the document predicts. Before any numba kernel runs on a loaded model,
an independent slow check of the document (``_walk_is_safe``) must agree that every index a
tree walk uses is in range, and the kernels then run in a forked child (``_in_child``): a
validator bug, in the trees or in a learned attribute, fails the test (signal, exit status,
time bound) instead of crashing the run.
"""

import copy
import faulthandler
import json
import os
import signal
import time
import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification, make_regression

from skextras._engine.tree import _ARRAYS, Tree, apply_forest, predict_forest
from skextras.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
    RandomForestRegressor,
)

N_FEATURES = 4
FAMILIES = {
    "NewtonBoostingClassifier": NewtonBoostingClassifier(n_estimators=2, max_depth=3),
    "NewtonBoostingRegressor": NewtonBoostingRegressor(n_estimators=3, max_depth=3),
    "RandomForestRegressor": RandomForestRegressor(n_estimators=2, max_depth=4, random_state=0),
    "ExtraTreesClassifier": ExtraTreesClassifier(n_estimators=2, max_depth=3, random_state=0),
    "GradientBoostingClassifier": GradientBoostingClassifier(n_estimators=2, max_depth=2),
    "GradientBoostingRegressor": GradientBoostingRegressor(n_estimators=3, max_depth=3),
    "AdaBoostClassifier": AdaBoostClassifier(n_estimators=3, random_state=0),
    "AdaBoostRegressor": AdaBoostRegressor(n_estimators=3, random_state=0),
}
# A load plus a predict of these small models takes milliseconds; this bounds a hang.
TIME_BOUND_S = 5.0


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """{family: (fitted estimator class, saved document)} of small real models."""
    Xc, yc = make_classification(
        120, N_FEATURES, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    Xr, yr = make_regression(120, N_FEATURES, random_state=0)
    out = {}
    for name, model in FAMILIES.items():
        X, y = (Xc, yc) if "Classifier" in name else (Xr, yr)
        path = tmp_path_factory.mktemp("models") / f"{name}.json"
        model.fit(X, y).save_model(path)
        out[name] = (type(model), json.loads(path.read_text()))
        # Compiles the kernels here, off the clock, so forked children inherit them.
        loaded = type(model)().load_model(path)
        _predict_like_the_document(type(model), loaded, out[name][1]["trees"])
    # A tree whose children are not adjacent takes the node-by-node kernels: compile them too.
    crossed = Tree(
        feature=[0, -1, -1],
        threshold=[0.0] * 3,
        bin_threshold=[0] * 3,
        missing_go_left=[True] * 3,
        left=[2, -1, -1],
        right=[1, -1, -1],
        value=[0.0, 1.0, 2.0],
        gain=[0.0] * 3,
        cover=[1.0] * 3,
        n_samples=[1] * 3,
        depth=[0, 1, 1],
    )
    predict_forest([crossed], _rows(N_FEATURES))
    return out


def _walk_is_safe(doc, n_features):
    """The definition of a tree every kernel may walk, written as plain loops: one parent per
    node, every node reached from the root once, children and features in range, ``depth``
    the true depth, one value row per node."""
    left, right, feature = doc["left"], doc["right"], doc["feature"]
    n = len(left)
    if any(len(doc[name]) != n for name in _ARRAYS):
        return False
    seen = [False] * n
    stack = [(0, 0)]
    while stack:
        node, depth = stack.pop()
        if not 0 <= node < n or seen[node] or doc["depth"][node] != depth:
            return False
        seen[node] = True
        if left[node] != -1:
            if not 0 <= feature[node] < n_features:
                return False
            stack += [(left[node], depth + 1), (right[node], depth + 1)]
    return all(seen)


def _slow_leaf(doc, x):
    node = 0
    while doc["left"][node] != -1:
        v = x[doc["feature"][node]]
        go_left = doc["missing_go_left"][node] if np.isnan(v) else v <= doc["threshold"][node]
        node = doc["left"][node] if go_left else doc["right"][node]
    return node


def _rows(n_features):
    """Six rows over [-2.5, 2.5] with one NaN."""
    X = np.resize(np.linspace(-2.5, 2.5, 23), (6, n_features))
    X[1, min(2, n_features - 1)] = np.nan
    return X


def _check_load(cls, path, doc, time_bound=TIME_BOUND_S):
    """Load ``path``: a ValueError naming it, or a model whose trees match ``doc``."""
    start = time.perf_counter()
    try:
        model = cls().load_model(path)
    except ValueError as exc:
        assert str(path) in str(exc), str(exc)
        assert time.perf_counter() - start < time_bound
        return False
    trees = doc["trees"]
    for t, tree_doc in enumerate(trees):
        # Checked before a kernel runs: a validator bug must not reach numba.
        assert _walk_is_safe(tree_doc, model.n_features_in_), f"unsafe tree {t} was accepted"
    _in_child(_predict_like_the_document, cls, model, trees, time_bound)
    assert time.perf_counter() - start < time_bound
    return True


def _in_child(func, *args):
    """Run ``func(*args)`` in a forked child interpreter (where ``os.fork`` exists).

    The kernels do no bounds checks: a learned attribute the validator let through with a
    bad index would segfault or hang them. In a child that fails this test (signal, exit
    status or time bound) instead of killing the run. The engine makes its thread pool anew
    after a fork, and six rows take one thread.
    """
    *head, time_bound = args
    if not hasattr(os, "fork"):
        func(*head)
        return
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_fd)
            func(*head)
        except BaseException:
            code = 1
            os.write(write_fd, traceback.format_exc()[-20_000:].encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.perf_counter() + time_bound
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            pytest.fail(f"predicting a loaded model took over {time_bound} s (a cycle?)")
        time.sleep(0.001)
    with os.fdopen(read_fd, "rb") as pipe:
        report = pipe.read().decode()
    if os.WIFSIGNALED(status):
        pytest.fail(f"predicting a loaded model killed the child: signal {os.WTERMSIG(status)}")
    assert os.WEXITSTATUS(status) == 0, report


def _predict_like_the_document(cls, model, trees):
    """Every tree predicts what a slow walk of its document predicts; predict() runs."""
    # A mutated n_features_in_ may be huge; the trees then still split on the first features.
    X = _rows(min(model.n_features_in_, 64))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        engine_trees = _engine_trees(model)
        assert len(engine_trees) == len(trees)
        for tree, tree_doc in zip(engine_trees, trees, strict=True):
            leaves = [_slow_leaf(tree_doc, x) for x in X]
            np.testing.assert_array_equal(apply_forest([tree], X)[:, 0], leaves)
            n_nodes = len(tree_doc["left"])
            value = np.asarray(tree_doc["value"], dtype=np.float64).reshape(n_nodes, -1)
            np.testing.assert_array_equal(predict_forest([tree], X), value[leaves])
        if model.n_features_in_ <= 64:
            assert model.predict(X).shape == (X.shape[0],)
            if cls.__name__.startswith("Newton"):
                model.predict(X, pred_contribs=True)


def _engine_trees(model):
    if hasattr(model, "_trees"):
        trees = model._trees
        return [t for stage in trees for t in stage] if isinstance(trees[0], list) else trees
    if isinstance(model.estimators_[0], Tree):
        return model.estimators_
    return [m.tree_ for m in model.estimators_]


# -- mutations of the document ----------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=6,
)


@st.composite
def tree_mutation(draw, doc):
    """A copy of ``doc`` with one field of one tree changed."""
    doc = copy.deepcopy(doc)
    tree = doc["trees"][draw(st.integers(0, len(doc["trees"]) - 1))]
    field = draw(st.sampled_from([*_ARRAYS, "missing_bin"]))
    n = len(tree["left"])
    kind = draw(st.sampled_from(["node", "node", "node", "truncate", "extend", "replace", "drop"]))
    if field == "missing_bin" or kind == "replace":
        tree[field] = draw(JSON_VALUES)
    elif kind == "drop":
        del tree[field]
    elif kind == "truncate":
        tree[field] = tree[field][: draw(st.integers(0, n - 1))]
    elif kind == "extend":
        tree[field] = tree[field] + [tree[field][-1]]
    else:
        node = draw(st.integers(0, n - 1))
        if field in ("left", "right", "feature", "depth"):
            # In-range indices make self-loops, cycles, shared and unreachable nodes.
            value = draw(st.integers(-2, n + 1) | JSON_SCALARS)
        else:
            value = draw(JSON_SCALARS | st.lists(JSON_SCALARS, max_size=3))
        tree[field][node] = value
    return doc


@st.composite
def learned_mutation(draw, doc):
    doc = copy.deepcopy(doc)
    name = draw(st.sampled_from(sorted(doc["learned"])))
    if draw(st.booleans()):
        del doc["learned"][name]
    else:
        old = doc["learned"][name]
        candidates = JSON_VALUES
        if isinstance(old, int) and not isinstance(old, bool):
            candidates = st.integers(old - 3, old + 3) | candidates
        if isinstance(old, list) and old and isinstance(old[0], (int, float)):
            candidates = (
                st.lists(st.integers(-2, 5), min_size=len(old), max_size=len(old)) | candidates
            )
        doc["learned"][name] = draw(candidates)
    return doc


@st.composite
def top_mutation(draw, doc):
    doc = copy.deepcopy(doc)
    kind = draw(st.sampled_from(["param", "key", "drop"]))
    if kind == "param":
        doc["params"][draw(st.sampled_from(sorted(doc["params"])))] = draw(JSON_VALUES)
    elif kind == "key":
        doc[draw(st.sampled_from(sorted(doc)))] = draw(JSON_VALUES)
    else:
        del doc[draw(st.sampled_from(sorted(doc)))]
    return doc


def _mutations(doc):
    return tree_mutation(doc) | learned_mutation(doc) | top_mutation(doc)


FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fuzz_family(saved, family, tmp_path, fuzz_settings):
    cls, doc = saved[family]
    path = tmp_path / "model.json"

    @fuzz_settings
    @given(data=st.data())
    def run(data):
        mutated = data.draw(_mutations(doc))
        path.write_text(json.dumps(mutated))
        _check_load(cls, path, mutated)

    run()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_mutated_model_loads_exactly_or_raises_value_error(saved, family, tmp_path):
    _fuzz_family(saved, family, tmp_path, FUZZ)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_mutated_model_loads_exactly_or_raises_value_error_long_run(saved, family, tmp_path):
    _fuzz_family(saved, family, tmp_path, settings(FUZZ, max_examples=1500, derandomize=False))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_unchanged_model_loads_and_predicts_bit_identically(saved, family, tmp_path):
    cls, doc = saved[family]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    assert _check_load(cls, path, doc)
    again = tmp_path / "again.json"
    cls().load_model(path).save_model(again)
    assert json.loads(again.read_text()) == doc


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_damaged_bytes_raise_value_error_naming_the_file(saved, tmp_path, data):
    family = data.draw(st.sampled_from(sorted(FAMILIES)))
    cls, doc = saved[family]
    text = json.dumps(doc).encode()
    kind = data.draw(st.sampled_from(["truncate", "flip", "random", "nest"]))
    if kind == "truncate":
        blob = text[: data.draw(st.integers(0, len(text) - 1))]
    elif kind == "flip":
        i = data.draw(st.integers(0, len(text) - 1))
        blob = text[:i] + bytes([text[i] ^ (1 << data.draw(st.integers(0, 7)))]) + text[i + 1 :]
    elif kind == "random":
        blob = data.draw(st.binary(max_size=200))
    else:
        depth = data.draw(st.integers(1, 200_000))
        blob = b"[" * depth + b"]" * depth
    path = tmp_path / "model.json"
    path.write_bytes(blob)
    _check_load(cls, path, _parsed(blob))


def _parsed(blob):
    """The document a loader that accepts ``blob`` must have read (None: not JSON)."""
    try:
        return json.loads(blob.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def test_deeply_nested_json_raises_value_error_not_recursion_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 1_000_000 + "]" * 1_000_000)
    with pytest.raises(ValueError, match="deep.json"):
        RandomForestRegressor().load_model(path)


@pytest.mark.parametrize(
    "family,updates,words",
    [
        (
            "ExtraTreesClassifier",
            {"classes_": [0, 1], "n_classes_": 2},
            ["tree 0", "'value'", "2 or 1 column", "got 3"],
        ),
        ("ExtraTreesClassifier", {"n_classes_": 5}, ["'n_classes_'", "5"]),
        ("NewtonBoostingClassifier", {"n_outputs_": 1}, ["'n_outputs_'"]),
        ("NewtonBoostingClassifier", {"_tree_output": [0, 1, 2, 0, 1, 7]}, ["_tree_output", "7"]),
        ("NewtonBoostingRegressor", {"_objective_name": "os.system"}, ["'_objective_name'"]),
        ("NewtonBoostingRegressor", {"predict": 1}, ["unknown learned fields", "predict"]),
        ("NewtonBoostingRegressor", {"best_iteration_": 3}, ["'best_iteration_'", "3"]),
        ("GradientBoostingRegressor", {"n_features_in_": 2}, ["tree 0", "'feature'"]),
        ("GradientBoostingRegressor", {"init_": "os.system"}, ["'init_'"]),
        ("GradientBoostingClassifier", {"init_raw": [0.0]}, ["'init_raw'", "(3,)"]),
        (
            "AdaBoostRegressor",
            {"estimator_weights_": [1.0], "estimator_errors_": [0.1]},
            ["'estimator_weights_'", "one weight per tree (3)"],
        ),
        ("RandomForestRegressor", {"feature_names_in_": ["a", "a", "b", "c"]}, ["distinct"]),
    ],
)
def test_learned_attribute_inconsistent_with_the_trees_raises_value_error(
    saved, tmp_path, family, updates, words
):
    cls, doc = saved[family]
    doc = copy.deepcopy(doc)
    doc["learned"].update(updates)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError) as info:
        cls().load_model(path)
    for word in [str(path), *words]:
        assert word in str(info.value), (word, str(info.value))


def test_estimator_parameter_outside_the_allow_list_raises_value_error(saved, tmp_path):
    cls, doc = saved["AdaBoostClassifier"]
    doc = copy.deepcopy(doc)
    doc["params"]["estimator"] = {"estimator": "Popen", "params": {"args": ["sh"]}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="cannot rebuild"):
        cls().load_model(path)


def test_failed_load_leaves_the_estimator_unchanged(saved, tmp_path):
    cls, doc = saved["RandomForestRegressor"]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    model = cls().load_model(good)
    before = model.predict(_rows(N_FEATURES))
    bad = copy.deepcopy(doc)
    bad["trees"][1]["left"][0] = 10**6
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="tree 1, node 0, field 'left'"):
        model.load_model(path)
    np.testing.assert_array_equal(model.predict(_rows(N_FEATURES)), before)


def _segfault():
    faulthandler.disable()  # in the child only: no traceback dump for this deliberate crash
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_crash_or_hang_in_the_prediction_child_fails_the_test_not_the_run():
    with pytest.raises(pytest.fail.Exception, match=f"signal {int(signal.SIGSEGV)}"):
        _in_child(_segfault, TIME_BOUND_S)
    with pytest.raises(pytest.fail.Exception, match="took over 0.2 s"):
        _in_child(time.sleep, 30, 0.2)
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        _in_child(divmod, 1, 0, TIME_BOUND_S)
