"""_numba: the balanced split of consecutive items between threads."""

import numpy as np


def test_balanced_groups_split_at_the_nearest_item_boundary():
    from skextras._engine._numba import balanced_groups

    def groups(cumulative, k):
        return balanced_groups(np.array(cumulative, dtype=np.int64), k).tolist()

    n = 261_877  # odd: half the rows is not a whole number
    assert groups([0, n // 2, n], 2) == [0, 1, 2]
    assert groups([0, n // 4, n // 2, 3 * n // 4, n], 2) == [0, 2, 4]
    assert groups([n * c // 16 for c in range(17)], 2) == [0, 8, 16]
    assert groups([0, n], 2) == [0, 1]
    rng = np.random.default_rng(0)
    for _ in range(200):
        weights = rng.integers(1, 100, rng.integers(1, 40))
        cumulative = [0, *np.cumsum(weights).tolist()]
        for k in (1, 2, 3, 8):
            bounds = groups(cumulative, k)
            assert bounds[0] == 0 and bounds[-1] == weights.size
            assert all(np.diff(bounds) > 0) and len(bounds) - 1 <= k
            # every cut is within half an item of its ideal place
            for b in bounds[1:-1]:
                share = cumulative[b] * k / cumulative[-1]
                t = round(share)
                gap = abs(cumulative[b] - cumulative[-1] * t / k)
                assert gap <= max(weights[b - 1], weights[min(b, weights.size - 1)]) / 2 + 1e-9
