"""Node-for-node comparison of a tree's scikit-learn view with scikit-learn's own tree."""

import numpy as np


def float32_values(X):
    """Data a scikit-learn tree could have been fit on (it casts X to float32)."""
    return X.astype(np.float32).astype(np.float64)


def children_impurity(tree, node):
    left, right = tree.children_left[node], tree.children_right[node]
    w = tree.weighted_n_node_samples
    return w[left] * tree.impurity[left] + w[right] * tree.impurity[right]


def assert_same_tree(ours, ref, X, node=0, ref_node=0, rows=None):
    """Walk both trees from the root: the same training rows reach paired nodes, with the
    same values (every output), impurities and (weighted) sample counts. Features and
    thresholds may differ where the split is the same: ours are bin edges (sklearn: the
    midpoint of the node's rows), and a tie in gain may pick another feature that splits the
    rows the same way."""
    a, b = ours.tree_, ref.tree_
    rows = np.ones(X.shape[0], dtype=bool) if rows is None else rows
    assert a.n_node_samples[node] == b.n_node_samples[ref_node]
    np.testing.assert_allclose(
        a.weighted_n_node_samples[node], b.weighted_n_node_samples[ref_node], rtol=1e-12
    )
    np.testing.assert_allclose(a.value[node], b.value[ref_node], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.impurity[node], b.impurity[ref_node], rtol=1e-9, atol=1e-9)
    if b.children_left[ref_node] == -1:
        assert a.children_left[node] == a.children_right[node] == -1
        assert a.feature[node] == a.threshold[node] == -2
        return
    assert a.children_left[node] != -1, f"node {node}: a leaf where scikit-learn splits"
    go_left = rows & (X[:, a.feature[node]] <= a.threshold[node])
    if not np.array_equal(go_left, rows & (X[:, b.feature[ref_node]] <= b.threshold[ref_node])):
        # Another split of equal impurity decrease (scikit-learn breaks ties by its random
        # feature order): the children's weighted impurities must tie.
        assert np.isclose(children_impurity(a, node), children_impurity(b, ref_node))
        return
    assert_same_tree(ours, ref, X, a.children_left[node], b.children_left[ref_node], go_left)
    assert_same_tree(
        ours, ref, X, a.children_right[node], b.children_right[ref_node], rows & ~go_left
    )
