"""Saved trees are validated before a kernel sees them: every broken invariant is a ValueError
naming the document, the tree, the node and the field; hostile models saved by a real
estimator fail the same way in a separate interpreter (a segfault there fails the test)."""

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_regression

from skextras._engine.tree import Tree, apply_forest, predict_forest
from skextras._engine.tree_validation import tree_from_document, trees_from_documents
from skextras.ensemble import ExtraTreesRegressor, NewtonBoostingRegressor

REPO = Path(__file__).resolve().parents[1]


def _doc():
    """Depth-2 tree on 2 features: 0 -> (1, 2), 1 -> (3, 4); leaves 2, 3, 4."""
    return {
        "feature": [0, 1, -1, -1, -1],
        "threshold": [0.5, -1.0, 0.0, 0.0, 0.0],
        "bin_threshold": [10, 3, 0, 0, 0],
        "missing_go_left": [True, False, False, False, False],
        "left": [1, 3, -1, -1, -1],
        "right": [2, 4, -1, -1, -1],
        "value": [[0.0], [1.0], [2.0], [3.0], [4.0]],
        "gain": [1.0, 0.5, 0.0, 0.0, 0.0],
        "cover": [5.0, 3.0, 2.0, 1.0, 2.0],
        "n_samples": [5, 3, 2, 1, 2],
        "depth": [0, 1, 1, 2, 2],
        "missing_bin": 255,
    }


def _cyclic_doc():
    """Nodes 3 and 4 are each other's child (every node has one parent, but 3 and 4 are
    unreachable from the root)."""
    doc = {name: list(v) for name, v in _doc().items() if name != "missing_bin"}
    doc["missing_bin"] = 255
    doc["feature"] = [0, -1, -1, 0, 1, -1, -1]
    doc["left"] = [1, -1, -1, 4, 3, -1, -1]
    doc["right"] = [2, -1, -1, 5, 6, -1, -1]
    for name in ("threshold", "gain", "cover"):
        doc[name] = [0.0] * 7
    doc["bin_threshold"] = [0] * 7
    doc["missing_go_left"] = [False] * 7
    doc["value"] = [[float(i)] for i in range(7)]
    doc["n_samples"] = [1] * 7
    doc["depth"] = [0, 1, 1, 0, 0, 0, 0]
    return doc


def _slow_predict(doc, x):
    """The definition: walk from the root, NaN follows missing_go_left."""
    node = 0
    while doc["left"][node] != -1:
        v = x[doc["feature"][node]]
        if np.isnan(v):
            go_left = doc["missing_go_left"][node]
        else:
            go_left = v <= doc["threshold"][node]
        node = doc["left"][node] if go_left else doc["right"][node]
    return doc["value"][node][0], node


def _set(field, node, value):
    def mutate(doc):
        doc[field][node] = value
        return doc

    return mutate


def _replace(field, value):
    def mutate(doc):
        doc[field] = value
        return doc

    return mutate


# (mutation, words the message must contain)
BROKEN = {
    "left_out_of_range": (_set("left", 0, 7), ["node 0", "'left'", "7"]),
    "right_negative": (_set("right", 1, -5), ["node 1", "'right'", "-5"]),
    "self_loop": (_set("left", 1, 1), ["node 1", "own child"]),
    "root_as_child": (_set("right", 1, 0), ["node 1", "root"]),
    "two_parents": (_set("left", 1, 2), ["exactly one parent", "node 2 has 2"]),
    "half_leaf": (_set("right", 1, -1), ["node 1", "both be -1"]),
    "feature_beyond_n_features": (_set("feature", 0, 2), ["node 0", "'feature'", "[0, 1]"]),
    "feature_negative_at_split": (_set("feature", 1, -1), ["node 1", "'feature'"]),
    "feature_at_leaf": (_set("feature", 2, 1), ["node 2", "-1 at a leaf"]),
    "depth_wrong": (_set("depth", 3, 1), ["node 3", "'depth'", "depth below the root, 2"]),
    "threshold_nan": (_set("threshold", 0, float("nan")), ["node 0", "'threshold'", "NaN"]),
    "value_inf": (_set("value", 2, [float("inf")]), ["node 2", "'value'", "finite"]),
    "cover_nan": (_set("cover", 1, float("nan")), ["node 1", "'cover'"]),
    "bin_threshold_256": (_set("bin_threshold", 0, 256), ["node 0", "'bin_threshold'", "256"]),
    "n_samples_negative": (_set("n_samples", 4, -1), ["node 4", "'n_samples'"]),
    "huge_integer": (_set("left", 0, 2**70), ["'left'", "out of range"]),
    "string_in_list": (_set("feature", 0, "0"), ["'feature'", "integers"]),
    "boolean_feature_index": (_set("feature", 0, False), ["'feature'", "integers", "False"]),
    "float_child_index": (_set("right", 0, 2.0), ["'right'", "integers"]),
    "short_array": (_replace("threshold", [0.5, -1.0]), ["'threshold'", "shape (5,)"]),
    "field_not_a_list": (_replace("gain", {"a": 1}), ["'gain'", "must be a list"]),
    "ragged_value": (_replace("value", [[0.0], [1.0, 2.0], [2.0], [3.0], [4.0]]), ["'value'"]),
    "missing_bin_out_of_range": (_replace("missing_bin", 300), ["'missing_bin'", "300"]),
    "missing_bin_bool": (_replace("missing_bin", True), ["'missing_bin'", "integer"]),
}


def test_valid_tree_round_trips_bit_identically_and_predicts_as_the_slow_walk():
    doc = _doc()
    tree = tree_from_document(doc, n_features=2)
    assert tree.to_dict() == doc
    X = np.array([[0.0, -2.0], [0.0, 0.0], [1.0, 0.0], [np.nan, 5.0], [0.0, np.nan]])
    expected = [_slow_predict(doc, x) for x in X]
    np.testing.assert_array_equal(predict_forest([tree], X)[:, 0], [v for v, _ in expected])
    np.testing.assert_array_equal(apply_forest([tree], X)[:, 0], [n for _, n in expected])
    assert Tree.from_dict(doc).to_dict() == tree.to_dict()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_tree_raises_value_error_naming_tree_node_and_field(case):
    mutate, words = BROKEN[case]
    doc = mutate(copy.deepcopy(_doc()))
    with pytest.raises(ValueError) as info:
        trees_from_documents([_doc(), doc], n_features=2, source="model.json")
    message = str(info.value)
    assert message.startswith("model.json: tree 1"), message
    for word in words:
        assert word in message, (word, message)


def test_cycle_unreachable_from_the_root_raises_value_error():
    with pytest.raises(ValueError, match="node 3.*not reachable from the root"):
        trees_from_documents([_cyclic_doc()], n_features=2, source="m.json")


def test_trees_of_different_output_width_raise_value_error():
    wide = _doc()
    wide["value"] = [[v[0], v[0]] for v in wide["value"]]
    with pytest.raises(ValueError, match="tree 1, field 'value'.*1 column"):
        trees_from_documents([_doc(), wide], n_features=2)
    with pytest.raises(ValueError, match="tree 0, field 'value'.*3 column"):
        trees_from_documents([wide], n_features=2, n_outputs=3)


@pytest.mark.parametrize("docs", [None, {"trees": []}, "trees", [[1, 2]], [None]])
def test_trees_of_the_wrong_json_type_raise_value_error(docs):
    with pytest.raises(ValueError, match="m.json"):
        trees_from_documents(docs, n_features=2, source="m.json")


def test_missing_field_raises_value_error_naming_it():
    doc = _doc()
    del doc["depth"]
    with pytest.raises(ValueError, match=r"tree 0: missing fields \['depth'\]"):
        trees_from_documents([doc], n_features=2)


# -- hostile models of real estimators, loaded and predicted in a separate interpreter -------

_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from skextras import ensemble

    for line in open(sys.argv[1]):
        case = json.loads(line)
        print("CASE", case["name"], flush=True)
        try:
            model = getattr(ensemble, case["cls"])().load_model(case["path"])
            X = np.linspace(-3, 3, 4 * case["p"]).reshape(4, case["p"])
            model.predict(X)
            if case["cls"].startswith("Newton"):
                model.predict(X, pred_contribs=True)
            print("LOADED", flush=True)
        except ValueError as exc:
            print("VALUE_ERROR", " ".join(str(exc).split()), flush=True)
    """
)


def _hostile_cases():
    """(name, estimator, mutation of the saved document, words of the expected message)."""

    def tree(field, node, value, t=1):
        def mutate(doc):
            doc["trees"][t][field][node] = value

        return mutate

    def learned(name, value):
        def mutate(doc):
            doc["learned"][name] = value

        return mutate

    forest, newton = "ExtraTreesRegressor", "NewtonBoostingRegressor"
    return [
        ("child_beyond_tree", forest, tree("left", 0, 10_000), ["tree 1", "node 0", "'left'"]),
        ("child_negative", forest, tree("right", 0, -7), ["tree 1", "node 0", "'right'"]),
        ("self_loop", forest, tree("left", 0, 0), ["tree 1", "node 0"]),
        ("feature_beyond_x", forest, tree("feature", 0, 1_000_000), ["node 0", "'feature'"]),
        ("depth_understated", newton, tree("depth", 3, 0), ["tree 1", "node 3", "'depth'"]),
        ("tree_output_beyond", newton, learned("_tree_output", [0, 5, 0]), ["_tree_output"]),
    ]


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory):
    """Save real models, write one hostile copy per case and load + predict all of them in
    a child interpreter; returns {case: (status, message)}."""
    tmp = tmp_path_factory.mktemp("hostile")
    X, y = make_regression(80, 3, random_state=0)
    sources = {}
    for model in (
        ExtraTreesRegressor(n_estimators=3, max_depth=4, random_state=0),
        NewtonBoostingRegressor(n_estimators=3, max_depth=3),
    ):
        path = tmp / f"{type(model).__name__}.json"
        model.fit(X, y).save_model(path)
        sources[type(model).__name__] = json.loads(path.read_text())
    lines = []
    for name, cls, mutate, _ in _hostile_cases():
        doc = copy.deepcopy(sources[cls])
        mutate(doc)
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(doc))
        lines.append(json.dumps({"name": name, "cls": cls, "path": str(path), "p": 3}))
    results = {}
    # A child that dies on a case is restarted on the cases after it, so every case reports.
    while len(results) < len(lines):
        cases = tmp / "cases.jsonl"
        cases.write_text("\n".join(lines[len(results) :]))
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(cases)],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        current, started = None, len(results)
        for line in proc.stdout.splitlines():
            word, _, rest = line.partition(" ")
            if word == "CASE":
                current = rest
                results[current] = (f"CRASHED (exit {proc.returncode})", proc.stderr[-2000:])
            elif current is not None:
                results[current] = (word, rest)
        if len(results) == started:
            raise AssertionError(f"child interpreter failed to start: {proc.stderr[-2000:]}")
    return results


@pytest.mark.parametrize("case", [c[0] for c in _hostile_cases()])
def test_hostile_saved_model_raises_value_error_in_a_child_interpreter(hostile_results, case):
    status, message = hostile_results[case]
    assert status == "VALUE_ERROR", (status, message)
    words = next(w for name, _, _, w in _hostile_cases() if name == case)
    for word in words:
        assert word in message, (word, message)
