"""trees_to_dataframe and the plots, against XGBoost's own table and plot on identical trees."""

import numpy as np
import pytest

from skextras.ensemble import (
    GradientBoostingRegressor,
    NewtonBoostingClassifier,
    NewtonBoostingRegressor,
    RandomForestClassifier,
    plot_importance,
    plot_metric,
    plot_tree,
)

xgb = pytest.importorskip("xgboost")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

PARAMS = dict(n_estimators=3, max_depth=3, base_score=0.5)


@pytest.fixture(scope="module")
def pair():
    """Our model and XGBoost's on data where both build the same bins (fewer than 255
    float32 values per feature, XGBoost's max_bin=255 = our 256): identical trees."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32).astype(np.float64)
    y = X[:, 0] + np.sin(2 * X[:, 1]) + 0.3 * X[:, 2] + rng.normal(0, 0.1, 200)
    ours = NewtonBoostingRegressor(**PARAMS).fit(X, y)
    ref = xgb.XGBRegressor(tree_method="hist", max_bin=255, **PARAMS).fit(X, y)
    return X, ours, ref


def test_trees_to_dataframe_matches_xgboost(pair):
    X, ours, ref = pair
    a = ours.trees_to_dataframe()
    b = ref.get_booster().trees_to_dataframe()
    assert list(a.columns) == list(b.columns)
    for column in ("Tree", "Node", "ID", "Feature", "Yes", "No", "Missing"):
        assert a[column].fillna("-").tolist() == b[column].fillna("-").tolist(), column
    np.testing.assert_allclose(a["Cover"], b["Cover"], rtol=1e-6)
    np.testing.assert_allclose(a["Gain"], b["Gain"], rtol=1e-5, atol=1e-6)
    assert a["Category"].isna().all()
    # Split values may differ (ours: the bin edge; XGBoost: the next value) but route the
    # training rows of each node the same way under XGBoost's rule x < Split (XGBoost's
    # table prints its float32 cut to 9 digits: compare it in float32).
    paths = [tree.decision_path(X).toarray().astype(bool) for tree in ours._trees]
    for (_, ra), (_, rb) in zip(a.iterrows(), b.iterrows(), strict=True):
        if ra["Feature"] != "Leaf":
            column = X[paths[ra["Tree"]][:, ra["Node"]], int(ra["Feature"][1:])]
            xgb_left = column.astype(np.float32) < np.float32(rb["Split"])
            assert np.array_equal(column < ra["Split"], xgb_left)


def _walk_frame(frame, x):
    """Sum of the leaf values a row reaches by XGBoost's rule: Yes iff x < Split, Missing
    for NaN."""
    rows = frame.set_index("ID")
    total = 0.0
    for t in frame["Tree"].unique():
        node = f"{t}-0"
        while rows.loc[node, "Feature"] != "Leaf":
            value = x[int(rows.loc[node, "Feature"][1:])]
            if np.isnan(value):
                node = rows.loc[node, "Missing"]
            else:
                node = rows.loc[node, "Yes" if value < rows.loc[node, "Split"] else "No"]
        total += rows.loc[node, "Gain"]
    return total


def test_trees_to_dataframe_routes_rows_like_the_model_with_missing_values():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0], nan=1.0) > 0).astype(int)
    model = NewtonBoostingClassifier(n_estimators=3, max_depth=3).fit(X, y)
    frame = model.trees_to_dataframe()
    margin = model.decision_function(X[:50])
    walked = [_walk_frame(frame, x) for x in X[:50]]
    np.testing.assert_allclose(np.array(walked) + model._init_margin[0], margin, rtol=1e-12)


@pytest.mark.parametrize("importance_type", ["weight", "gain", "total_cover"])
def test_plot_importance_draws_xgboost_bars(pair, importance_type):
    import matplotlib.pyplot as plt

    _, ours, ref = pair
    ax_a = plot_importance(ours, importance_type=importance_type)
    ax_b = xgb.plot_importance(ref, importance_type=importance_type)
    widths_a = [p.get_width() for p in ax_a.patches]
    widths_b = [p.get_width() for p in ax_b.patches]
    np.testing.assert_allclose(widths_a, widths_b, rtol=1e-5)
    labels = [t.get_text() for t in ax_a.get_yticklabels()]
    assert labels == [t.get_text() for t in ax_b.get_yticklabels()]
    plt.close("all")


def test_plot_importance_of_forest_uses_feature_importances():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 4))
    forest = RandomForestClassifier(5, max_depth=3, random_state=0).fit(X, X[:, 1] > 0)
    ax = plot_importance(forest, max_num_features=2)
    widths = sorted(p.get_width() for p in ax.patches)
    np.testing.assert_allclose(widths, np.sort(forest.feature_importances_)[-2:])
    plt.close("all")


def test_plot_tree_draws_every_node_of_the_chosen_tree(pair):
    import matplotlib.pyplot as plt

    X, ours, _ = pair
    frame = ours.trees_to_dataframe()
    nodes = [a for a in plot_tree(ours, tree_index=1) if "samples" in a.get_text()]
    assert len(nodes) == (frame["Tree"] == 1).sum()
    root = frame[frame["ID"] == "1-0"].iloc[0]
    assert nodes[0].get_text().startswith(f"{root['Feature']} <= ")
    gb = GradientBoostingRegressor(n_estimators=2, max_depth=2).fit(X, X[:, 0])
    assert len([a for a in plot_tree(gb, 1) if "samples" in a.get_text()]) == 7
    with pytest.raises(ValueError, match="tree_index=9 is out of range"):
        plot_tree(ours, tree_index=9)
    plt.close("all")


def test_plot_metric_draws_the_evaluation_history(pair):
    import matplotlib.pyplot as plt

    X, _, _ = pair
    y = X[:, 0]
    model = NewtonBoostingRegressor(n_estimators=5, eval_metric=["rmse", "mae"])
    model.fit(X[:150], y[:150], eval_set=[(X[:150], y[:150]), (X[150:], y[150:])])
    ax = plot_metric(model, metric="mae")
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    for name, results in model.evals_result_.items():
        np.testing.assert_array_equal(lines[name], results["mae"])
    with pytest.raises(ValueError, match="several metrics were recorded"):
        plot_metric(model)
    with pytest.raises(ValueError, match="no evaluation history"):
        plot_metric(NewtonBoostingRegressor(n_estimators=2).fit(X, y))
    plt.close("all")
