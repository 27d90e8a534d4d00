"""depthwise.grow_depthwise: the one-call grower makes TreeGrower's trees, to the last bit."""

import numpy as np
import pytest

from skextras._engine import _numba, depthwise, grower, histogram
from skextras._engine.binning import BinMapper
from skextras._engine.grower import TreeParams, grow_tree
from skextras.ensemble import NewtonBoostingClassifier


def _data(n=30_000, p=6, seed=3):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    X[:, 1] = rng.randint(0, 4, size=n)  # few distinct values: empty bins, ties
    X[rng.rand(n, p) < 0.05] = np.nan
    g = rng.normal(size=n) + np.nan_to_num(X[:, 0]) - 0.5 * np.nan_to_num(X[:, 1])
    h = rng.uniform(0.2, 1.5, size=n)
    bm = BinMapper(max_bin=64, random_state=0)
    return bm.fit_transform(X), g, h, bm


def _grow(Xb, g, h, bm, params, monkeypatch, level_by_level=False, **kw):
    """(tree as a dict, leaf of each row, whether it was grown in one call)."""
    with monkeypatch.context() as m:
        if level_by_level:
            m.setattr(depthwise, "applies", lambda *args: False)
        calls = []
        original = depthwise.grow_depthwise
        m.setattr(depthwise, "grow_depthwise", lambda *a: calls.append(1) or original(*a))
        tree, leaf = grow_tree(Xb, g, h, bm, params, np.random.RandomState(0),
                               return_leaf_of_row=True, **kw)  # fmt: skip
    return tree.to_dict(), leaf, bool(calls)


def _assert_same(a, b):
    assert a[0].keys() == b[0].keys()
    for key in a[0]:
        np.testing.assert_array_equal(np.asarray(a[0][key]), np.asarray(b[0][key]), err_msg=key)
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"max_depth": 3, "gamma": 2.0, "reg_alpha": 1.5},
        {"max_depth": 4, "max_delta_step": 0.3, "reg_lambda": 0.0, "min_child_weight": 20.0},
        {"max_depth": 0},
        {"max_depth": depthwise.MAX_DEPTH, "min_child_weight": 0.5, "learning_rate": 0.3},
    ],
)
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("masks", ["none", "rows", "features"])
def test_one_call_tree_equals_level_by_level_tree(kw, n_threads, masks, monkeypatch):
    Xb, g, h, bm = _data()
    rng = np.random.RandomState(1)
    sample_mask = rng.rand(g.size) < 0.7 if masks == "rows" else None
    feature_mask = np.array([1, 1, 0, 1, 0, 1], dtype=bool) if masks == "features" else None
    params = TreeParams(feature_mask=feature_mask, **kw)
    run = {"sample_mask": sample_mask, "n_threads": n_threads}
    one_call = _grow(Xb, g, h, bm, params, monkeypatch, **run)
    level_by_level = _grow(Xb, g, h, bm, params, monkeypatch, level_by_level=True, **run)
    assert one_call[2] and not level_by_level[2]
    _assert_same(one_call, level_by_level)
    # the tree has grown: a leaf per row used, none elsewhere
    assert (one_call[1] >= 0).sum() == (g.size if sample_mask is None else sample_mask.sum())


@pytest.mark.parametrize("native", [True, False])
def test_one_call_tree_same_when_every_step_splits_between_threads(native, monkeypatch):
    if native and not _numba.native_threads():
        pytest.skip("numba's threading layer is neither OpenMP nor TBB")
    Xb, g, h, bm = _data(n=40_000)
    params = TreeParams(max_depth=6)
    reference = _grow(Xb, g, h, bm, params, monkeypatch, n_threads=1)
    assert reference[2]
    monkeypatch.setattr(_numba, "native_threads", lambda: native)
    monkeypatch.setattr(histogram, "_PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(grower, "_PARALLEL_MIN_CANDIDATES", 0)
    # on numba's threads; without native ones, two threads go through TreeGrower
    threaded = _grow(Xb, g, h, bm, params, monkeypatch, n_threads=2)
    assert threaded[2] == native
    _assert_same(threaded, reference)
    # chunks of 1024 rows: many chunk histograms, added in order; the same chunking in both
    monkeypatch.setattr(histogram, "CHUNK_ROWS", 1024)
    chunked = _grow(Xb, g, h, bm, params, monkeypatch, n_threads=2 if native else 1)
    assert chunked[2]
    level_by_level = _grow(Xb, g, h, bm, params, monkeypatch, level_by_level=True, n_threads=1)
    _assert_same(chunked, level_by_level)


def test_one_call_tree_grows_and_keeps_the_histogram_store(monkeypatch):
    Xb, g, h, bm = _data()
    workspace = {"hist_store": np.empty((1, Xb.shape[1], bm.missing_values_bin_idx_ + 1, 2))}
    first = _grow(Xb, g, h, bm, TreeParams(), monkeypatch, workspace=workspace)
    assert workspace["hist_store"].shape[0] > 1  # a level of 32 nodes needs more than 1 slot
    store = workspace["hist_store"]
    second = _grow(Xb, g, h, bm, TreeParams(), monkeypatch, workspace=workspace)
    assert workspace["hist_store"] is store
    _assert_same(first, second)


@pytest.mark.parametrize(
    "kw",
    [
        {"grow_policy": "lossguide", "max_leaves": 8},
        {"max_leaves": 8},
        {"max_depth": None},
        {"max_depth": depthwise.MAX_DEPTH + 1},
        {"colsample_bylevel": 0.5},
        {"colsample_bynode": 0.5},
        {"max_features": 3},
        {"monotone_constraints": np.array([1, 0, 0, 0, 0, 0])},
        {"interaction_constraints": [[0, 1], [2, 3, 4, 5]]},
        {"min_child_weight": 0.0},
        {"criterion": "entropy"},
    ],
)
def test_one_call_grower_only_where_it_makes_the_same_tree(kw, monkeypatch):
    Xb, g, h, bm = _data(n=5000)
    params = TreeParams(**kw)
    if kw.get("criterion") == "entropy":
        g = -np.column_stack([g > 0, g <= 0]).astype(float)
        h = np.ones(g.shape[0])
    tree = grower.TreeGrower(Xb, g, h, bm, params, np.random.RandomState(0))
    assert not depthwise.applies(params, tree.n_outputs, tree.counts_from_rows, tree.constrained)
    assert not _grow(Xb, g, h, bm, params, monkeypatch)[2]


def test_boosting_grows_its_trees_in_one_call(monkeypatch):
    calls = []
    original = depthwise.grow_depthwise
    monkeypatch.setattr(depthwise, "grow_depthwise", lambda *a: calls.append(1) or original(*a))
    Xb, g, h, bm = _data(n=3000)
    y = (g > 0).astype(int)
    NewtonBoostingClassifier(n_estimators=5, max_depth=4).fit(np.nan_to_num(Xb.astype(float)), y)
    assert len(calls) == 5
