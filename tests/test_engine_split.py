"""split: the best split of a node from its histogram, against the definition written as a slow
loop (every threshold, missing values on each side, XGBoost's weight and score formulas)."""

import numpy as np
import pytest

from skextras._engine.grower import TreeParams
from skextras._engine.split import SplitParams, find_best_split, leaf_weight, make_split_params


def _weight(g, h, p, lower=-np.inf, upper=np.inf):
    """XGBoost's CalcWeight: L1 soft threshold, L2, max_delta_step, then the bounds."""
    if h < p.min_child_weight or h <= 0.0 or h + p.reg_lambda <= 0.0:
        return 0.0
    t = np.sign(g) * max(abs(g) - p.reg_alpha, 0.0)
    w = -t / (h + p.reg_lambda)
    if p.max_delta_step > 0.0:
        w = float(np.clip(w, -p.max_delta_step, p.max_delta_step))
    return float(np.clip(w, lower, upper))


def _score(g, h, p):
    """XGBoost's CalcGain: T(G)^2 / (H + lambda), or from the clipped weight."""
    if h <= 0.0:
        return 0.0
    if p.max_delta_step == 0.0:
        return max(abs(g) - p.reg_alpha, 0.0) ** 2 / (h + p.reg_lambda)
    w = _weight(g, h, p)
    return -(2.0 * g * w + (h + p.reg_lambda) * w * w)


def _slow_best_split(hist, n_used, p):
    """(gain, feature, bin, missing_left) of the best split, trying every (feature, threshold,
    missing side) in order; a later candidate wins only with a larger float32 gain."""
    missing = hist.shape[1] - 1
    parent = hist[0].sum(axis=0)
    parent_score = _score(parent[0], parent[1], p)
    best = (-np.inf, -1, -1, False)
    for f in range(hist.shape[0]):
        miss = hist[f, missing]
        for b in range(n_used[f]):
            left_bins = hist[f, : b + 1].sum(axis=0)
            for missing_left in (False, True):
                left = left_bins + miss if missing_left else left_bins
                right = parent - left
                if min(left[2], right[2]) < max(p.min_samples_leaf, 1.0):
                    continue
                if min(left[1], right[1]) < p.min_child_weight or min(left[1], right[1]) <= 0:
                    continue
                gain = _score(*left[:2], p) + _score(*right[:2], p) - parent_score
                if np.float32(gain) > np.float32(best[0]):
                    best = (gain, f, b, missing_left)
    return best


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(reg_lambda=0.0, min_child_weight=0.0),
        dict(reg_alpha=0.7),
        dict(max_delta_step=0.2),
        dict(min_child_weight=5.0, min_samples_leaf=4),
    ],
)
def test_best_split_equals_the_slow_loop_over_every_threshold(kw):
    rng = np.random.RandomState(0)
    for trial in range(20):
        p_features, n_bins = 4, 9
        n_used = rng.randint(1, n_bins, size=p_features).astype(np.int64)
        # one node: every feature's bins hold the same rows in a different arrangement
        hist = np.zeros((p_features, n_bins, 3))
        g = rng.normal(size=200) + (trial % 3)
        h = rng.uniform(0.2, 1.5, size=200)
        for f in range(p_features):
            bins = rng.randint(0, n_used[f], size=200)
            bins[rng.rand(200) < 0.15 * (trial % 2)] = n_bins - 1  # missing values
            np.add.at(hist[f, :, 0], bins, g)
            np.add.at(hist[f, :, 1], bins, h)
            np.add.at(hist[f, :, 2], bins, 1.0)
        params = make_split_params(TreeParams(**kw), constrained=False)
        parent = hist[0].sum(axis=0)
        features = np.arange(p_features, dtype=np.int32)
        got = find_best_split(hist, features, n_used, n_bins - 1, parent, params,
                              np.zeros(p_features, dtype=np.int8), -np.inf, np.inf,
                              np.empty(0))  # fmt: skip
        expected = _slow_best_split(hist, n_used, params)
        assert got[1:4] == expected[1:4]
        if expected[1] >= 0:
            np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=1e-12)


def test_leaf_weight_is_xgboosts_clipped_soft_thresholded_newton_step():
    params = make_split_params(TreeParams(reg_lambda=2.0, reg_alpha=0.5, max_delta_step=0.3), 0)
    assert isinstance(params, SplitParams) and params.reg_lambda == 2.0
    for g, h in [(-3.0, 4.0), (0.2, 1.0), (5.0, 0.5), (-0.4, 10.0), (1.0, 0.5)]:
        assert leaf_weight(g, h, params, -np.inf, np.inf) == _weight(g, h, params)
    # below min_child_weight the weight is 0; the node's monotone bounds box it
    params = make_split_params(TreeParams(min_child_weight=2.0), 0)
    assert leaf_weight(-5.0, 1.5, params, -np.inf, np.inf) == 0.0
    assert leaf_weight(-5.0, 3.0, params, -np.inf, 0.5) == 0.5
