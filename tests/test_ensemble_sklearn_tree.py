"""scikit-learn's ``tree_`` view of our ensembles' trees, checked against scikit-learn's own
trees, its export / plot functions and SHAP's TreeExplainer."""

import io
import json

import numpy as np
import pytest
from _tree_compare import assert_same_tree, float32_values
from sklearn.datasets import make_classification, make_regression
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    export_graphviz,
    export_text,
)

from skextras._engine.shap import shap_forest
from skextras.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)


@pytest.fixture(scope="module")
def clf_data():
    # Fewer distinct values per feature than bins: the histogram tree sees every threshold.
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    return float32_values(X), y


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(200, 4, noise=5.0, random_state=0)
    return float32_values(X), y


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_tree_matches_sklearn_decision_tree_node_for_node_classifier(clf_data, criterion):
    X, y = clf_data
    w = np.random.default_rng(0).integers(1, 4, y.size).astype(float)
    params = dict(criterion=criterion, max_depth=3)
    ours = RandomForestClassifier(1, bootstrap=False, max_features=None, **params)
    ours.fit(X, y, sample_weight=w)
    ref = DecisionTreeClassifier(random_state=0, **params).fit(X, y, sample_weight=w)
    tree = ours.estimators_[0]
    assert isinstance(tree, DecisionTreeClassifier)
    assert tree.tree_.node_count == ref.tree_.node_count
    assert (tree.get_depth(), tree.get_n_leaves()) == (ref.get_depth(), ref.get_n_leaves())
    assert tree.tree_.n_classes[0] == 3 and tree.tree_.n_outputs == 1
    assert_same_tree(tree, ref, X)


def test_tree_matches_sklearn_decision_tree_node_for_node_regressor(reg_data):
    X, y = reg_data
    w = np.random.default_rng(1).integers(1, 4, y.size).astype(float)
    ours = RandomForestRegressor(1, bootstrap=False, max_depth=3).fit(X, y, sample_weight=w)
    ref = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y, sample_weight=w)
    assert isinstance(ours.estimators_[0], DecisionTreeRegressor)
    assert_same_tree(ours.estimators_[0], ref, X)


def test_bootstrap_counts_match_estimators_samples(reg_data):
    X, y = reg_data
    forest = RandomForestRegressor(3, max_depth=3, random_state=0).fit(X, y)
    for tree, samples in zip(forest, forest.estimators_samples_, strict=True):
        assert samples.size == y.size
        assert tree.tree_.n_node_samples[0] == np.unique(samples).size
        assert tree.tree_.weighted_n_node_samples[0] == samples.size
        # The root impurity is the variance of y over the bootstrap draw (with repeats).
        np.testing.assert_allclose(tree.tree_.impurity[0], np.var(y[samples]), rtol=1e-9)


def _hand_export(tree, node=0, depth=0):
    """export_text's format written from the engine arrays (regression trees)."""
    indent = "|   " * depth + "|--- "
    if tree.left[node] == -1:
        return [f"{indent}value: [{tree.value[node, 0]:.2f}]"]
    f, t = tree.feature[node], tree.threshold[node]
    return (
        [f"{indent}feature_{f} <= {t:.2f}"]
        + _hand_export(tree, tree.left[node], depth + 1)
        + [f"{indent}feature_{f} >  {t:.2f}"]
        + _hand_export(tree, tree.right[node], depth + 1)
    )


def test_export_text_equals_walk_of_engine_arrays(reg_data):
    X, y = reg_data
    tree = ExtraTreesRegressor(2, max_depth=3, random_state=0).fit(X, y).estimators_[1]
    assert export_text(tree).splitlines() == _hand_export(tree)


def test_export_graphviz_and_plot_tree_draw_every_node(clf_data):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.tree import plot_tree

    X, y = clf_data
    tree = ExtraTreesClassifier(2, max_depth=3, random_state=0).fit(X, y).estimators_[0]
    dot = io.StringIO()
    export_graphviz(tree, out_file=dot, feature_names=[f"x{i}" for i in range(5)])
    labels = [line for line in dot.getvalue().splitlines() if "label=" in line and "->" not in line]
    assert len(labels) == tree.tree_.node_count
    assert f"gini = {round(tree.tree_.impurity[0], 3)}" in labels[0]
    texts = [a.get_text() for a in plot_tree(tree) if "samples" in a.get_text()]
    assert len(texts) == tree.tree_.node_count
    assert f"samples = {tree.tree_.n_node_samples[0]}" in texts[0]


def test_predict_apply_decision_path_equal_sklearn_tree_structure_with_missing(clf_data):
    X, y = clf_data
    X = X.copy()
    X[np.random.default_rng(2).random(X.shape) < 0.1] = np.nan
    forest = RandomForestClassifier(2, max_depth=5, random_state=0).fit(X, y)
    tree = forest.estimators_[1]
    X32 = X.astype(np.float32)
    assert np.array_equal(tree.apply(X), tree.tree_.apply(X32))
    assert (tree.decision_path(X) != tree.tree_.decision_path(X32)).nnz == 0
    np.testing.assert_allclose(tree.predict_proba(X), tree.tree_.predict(X32))
    assert np.array_equal(tree.predict(X), np.argmax(tree.tree_.predict(X32), axis=1))
    mean = np.mean([t.predict_proba(X) for t in forest], axis=0)
    np.testing.assert_allclose(mean, forest.predict_proba(X))


def test_gradient_boosting_trees_hold_updates_without_learning_rate(reg_data):
    X, y = reg_data
    model = GradientBoostingRegressor(n_estimators=5, learning_rate=0.3, max_depth=2).fit(X, y)
    raw = model.predict(X) - y.mean()
    staged = sum(0.3 * est.predict(X) for est in model.estimators_[:, 0])
    np.testing.assert_allclose(staged, raw, rtol=1e-9, atol=1e-9)
    first = model.estimators_[0, 0].tree_
    assert first.n_node_samples[0] == y.size
    # Stage 0 fits the residuals y - mean(y): friedman_mse impurity is their variance.
    np.testing.assert_allclose(first.impurity[0], np.var(y), rtol=1e-9)
    assert model.estimators_[0, 0].criterion == "friedman_mse"


def test_shap_tree_explainer_equals_engine_tree_shap(reg_data, clf_data):
    shap = pytest.importorskip("shap")
    X, y = reg_data
    forest = RandomForestRegressor(2, max_depth=4, random_state=0).fit(X, y)
    tree = forest.estimators_[0]
    phi = shap.TreeExplainer(tree).shap_values(X[:40])
    ours = shap_forest([tree], X[:40], [0], 1)[:, 0, :]
    np.testing.assert_allclose(phi, ours[:, :-1], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(phi.sum(1) + ours[0, -1], tree.predict(X[:40]), atol=1e-6)
    Xc, yc = clf_data
    gb = GradientBoostingClassifier(n_estimators=2, max_depth=3, random_state=0).fit(Xc, yc)
    member = gb.estimators_[1, 2]
    phi = shap.TreeExplainer(member).shap_values(Xc[:40])
    expected = member.predict(Xc[:40]) - phi.sum(1)
    np.testing.assert_allclose(expected, expected[0], atol=1e-9)


def test_ensemble_is_a_sequence_of_its_trees(clf_data):
    X, y = clf_data
    forest = RandomForestClassifier(4, max_depth=2, random_state=0).fit(X, y)
    assert len(forest) == 4
    assert forest[1] is forest.estimators_[1]
    assert list(forest) == forest.estimators_
    assert isinstance(forest.estimator, DecisionTreeClassifier)
    assert forest.estimator.criterion == "gini"
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2).fit(X, y)
    assert len(gb) == 3 and gb[0].shape == (3,)


def test_views_survive_json_round_trip_and_refit_is_refused(tmp_path, clf_data):
    X, y = clf_data
    forest = RandomForestClassifier(2, max_depth=3, random_state=0).fit(X, y)
    path = tmp_path / "forest.json"
    forest.save_model(path)
    json.loads(path.read_text())
    loaded = RandomForestClassifier().load_model(path)
    a, b = forest.estimators_[0].tree_, loaded.estimators_[0].tree_
    for name in ("children_left", "feature", "threshold", "value", "impurity", "n_node_samples"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    with pytest.raises(TypeError, match="refit the ensemble"):
        loaded.estimators_[0].fit(X, y)
