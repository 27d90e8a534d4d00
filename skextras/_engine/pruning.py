"""Minimal cost-complexity pruning of a grown tree (Breiman et al. 1984, ch. 3; scikit-learn's
``ccp_alpha``).

The cost-complexity of a subtree ``T`` is ``R_alpha(T) = R(T) + alpha * |leaves(T)|`` with
``R(T) = sum over leaves t of W_t / W * impurity(t)`` (``W_t`` the node's weighted sample
count, ``W`` the root's). The effective alpha of an internal node ``t`` is
``(R(t) - R(T_t)) / (|leaves(T_t)| - 1)``; weakest-link pruning collapses the node of smallest
effective alpha (the first in node order on ties) while that alpha is ``<= ccp_alpha``.

The engine records, for each split, its gain ``gain_t = s * W * (R(t) - R(left) - R(right))``
(``s`` the criterion's scale: the engine's gain over ``W_t`` times scikit-learn's weighted
impurity decrease), so ``R(t) - R(T_t)`` is the sum of the gains of ``T_t``'s internal nodes
over ``s * W``: pruning needs the gains only, in the engine's units, with the threshold
``ccp_alpha * s * W``.

:func:`prune_mask` computes the weakest-link result in one bottom-up pass: the subtree
weakest-link pruning stops at is the smallest subtree minimising ``R_alpha`` (Breiman's
theorem 3.10), and a node is collapsed exactly when collapsing it costs no more than the best
pruning of its children: ``alpha <= delta(left) + delta(right) - g_t`` with
``delta(leaf) = alpha`` and ``delta(t) = min(alpha, delta(left) + delta(right) - g_t)``.
:func:`pruning_path` runs the weakest-link sequence itself (scikit-learn's
``cost_complexity_pruning_path``). :func:`prune_tree` keeps the surviving nodes in their order.

:func:`best_first_tree` cuts a fully grown tree to scikit-learn's best-first tree with
``max_leaf_nodes`` leaves: starting from the root, the frontier node of largest gain is
expanded until the leaf budget is spent. A node's best split depends on its rows alone, so
this is the tree scikit-learn's ``BestFirstTreeBuilder`` grows (whose frontier is ordered by
the same weighted impurity decrease); leaves of the full tree never enter the frontier.
"""

import heapq

import numpy as np

from ._numba import njit
from .tree import _ARRAYS, Tree


@njit
def _children_first(left, right):
    """Node ids ordered so that every node comes after its children (reversed preorder)."""
    n = left.size
    order = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    stack[0] = 0
    n_stack = 1
    k = 0
    while n_stack > 0:
        n_stack -= 1
        node = stack[n_stack]
        order[k] = node
        k += 1
        if left[node] != -1:
            stack[n_stack] = left[node]
            stack[n_stack + 1] = right[node]
            n_stack += 2
    return order[:k][::-1].copy()


@njit
def _collapse(left, right, gain, alpha):
    """Nodes that become leaves: True at every internal node the minimal cost-complexity
    subtree for ``alpha`` (in gain units) turns into a leaf."""
    n = left.size
    delta = np.full(n, alpha)
    collapsed = np.zeros(n, dtype=np.bool_)
    for node in _children_first(left, right):
        if left[node] == -1:
            continue
        keep = delta[left[node]] + delta[right[node]] - gain[node]
        if alpha <= keep:
            collapsed[node] = True
        else:
            delta[node] = keep
    return collapsed


def _alive(left, right, collapsed):
    """Nodes still in the tree once the ``collapsed`` nodes are leaves."""
    alive = np.zeros(left.size, dtype=bool)
    stack = [0]
    while stack:
        node = stack.pop()
        alive[node] = True
        if left[node] != -1 and not collapsed[node]:
            stack += [int(left[node]), int(right[node])]
    return alive


def prune_mask(tree, alpha):
    """Which nodes survive minimal cost-complexity pruning and which become leaves.

    Parameters
    ----------
    tree : skextras._engine.tree.Tree
    alpha : float
        ``ccp_alpha`` in the engine's gain units (``ccp_alpha * s * W``, see the module doc).

    Returns
    -------
    alive : ndarray of bool of shape (n_nodes,)
        Nodes of the pruned tree.
    collapsed : ndarray of bool of shape (n_nodes,)
        Internal nodes of the grown tree that are leaves of the pruned one.
    """
    left = np.asarray(tree.left, dtype=np.int64)
    right = np.asarray(tree.right, dtype=np.int64)
    collapsed = _collapse(left, right, np.asarray(tree.gain, dtype=np.float64), float(alpha))
    alive = _alive(left, right, collapsed)
    return alive, collapsed & alive


def prune_tree(tree, alpha):
    """``tree`` pruned for ``alpha`` (gain units), and the map from old to new node ids.

    Surviving nodes keep their order; a collapsed node keeps its value (the value it has as a
    leaf), gets leaf children and zero gain. The map sends every old node to its new id, and
    a removed node to the new id of its nearest surviving ancestor (where its rows end), so
    ``node_map[old_leaf_of_row]`` is the row's leaf in the pruned tree.

    Returns
    -------
    pruned : skextras._engine.tree.Tree
        ``tree`` itself when nothing is pruned.
    node_map : ndarray of int64 of shape (n_nodes,)
    """
    alive, collapsed = prune_mask(tree, alpha)
    return _cut(tree, alive, collapsed)


def _cut(tree, alive, collapsed):
    """``tree`` without the nodes outside ``alive``, ``collapsed`` nodes made leaves, and the
    node map of :func:`prune_tree`."""
    if not collapsed.any():
        return tree, np.arange(tree.n_nodes, dtype=np.int64)
    new_id = np.cumsum(alive) - 1
    node_map = np.where(alive, new_id, -1).astype(np.int64)
    for node in _preorder(tree.left, tree.right):
        if node_map[node] < 0:
            continue
        if tree.left[node] != -1 and (collapsed[node] or node_map[tree.left[node]] < 0):
            # Descendants of a removed node end where it ends.
            _fill_subtree(tree.left, tree.right, node, node_map)
    arrays = {name: np.asarray(getattr(tree, name))[alive] for name in _ARRAYS}
    leaf = collapsed[alive]
    for name, fill in (("feature", -1), ("left", -1), ("right", -1), ("gain", 0.0)):
        arrays[name][leaf] = fill
    arrays["threshold"][leaf] = 0.0
    arrays["bin_threshold"][leaf] = 0
    arrays["missing_go_left"][leaf] = False
    internal = arrays["left"] != -1
    arrays["left"][internal] = new_id[arrays["left"][internal]]
    arrays["right"][internal] = new_id[arrays["right"][internal]]
    return Tree(missing_bin=tree.missing_bin, **arrays), node_map


def best_first_tree(tree, max_leaves):
    """The first ``max_leaves - 1`` expansions of best-first growth of ``tree`` (see the
    module doc); returns (tree, node_map) as :func:`prune_tree` does. Ties in gain go to the
    node made first."""
    left, right, gain = tree.left, tree.right, tree.gain
    expanded = np.zeros(tree.n_nodes, dtype=bool)
    frontier = [(-gain[0], 0)] if left[0] != -1 else []
    n_leaves = 1
    while frontier and n_leaves < max_leaves:
        _, node = heapq.heappop(frontier)
        expanded[node] = True
        n_leaves += 1
        for child in (int(left[node]), int(right[node])):
            if left[child] != -1:
                heapq.heappush(frontier, (-gain[child], child))
    collapsed = (left != -1) & ~expanded
    alive = _alive(left, right, collapsed)
    return _cut(tree, alive, collapsed & alive)


def _preorder(left, right):
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if left[node] != -1:
            stack += [int(right[node]), int(left[node])]
    return order


def _fill_subtree(left, right, root, node_map):
    """Map every descendant of ``root`` to ``node_map[root]``."""
    stack = [int(left[root]), int(right[root])]
    while stack:
        node = stack.pop()
        node_map[node] = node_map[root]
        if left[node] != -1:
            stack += [int(left[node]), int(right[node])]


@njit
def _weakest_links(left, right, gain):
    """scikit-learn's pruning loop: repeatedly collapse the internal node of smallest
    effective alpha (first in node order on ties) until the root is a leaf; returns the alphas
    (gain units) and the total gain of the internal nodes left after each step."""
    n = left.size
    is_leaf = left == -1
    parent = np.full(n, -1, dtype=np.int64)
    for node in range(n):
        if left[node] != -1:
            parent[left[node]] = node
            parent[right[node]] = node
    # Per node: gains summed over its subtree's internal nodes, and its leaf count.
    branch_gain = np.zeros(n)
    n_leaves = np.ones(n, dtype=np.int64)
    for node in _children_first(left, right):
        if left[node] != -1:
            branch_gain[node] = gain[node] + branch_gain[left[node]] + branch_gain[right[node]]
            n_leaves[node] = n_leaves[left[node]] + n_leaves[right[node]]
    in_tree = np.zeros(n, dtype=np.bool_)
    for node in _children_first(left, right):
        in_tree[node] = True
    alphas = [0.0]
    totals = [branch_gain[0]]
    while not is_leaf[0]:
        best = np.inf
        best_node = -1
        for node in range(n):
            if in_tree[node] and not is_leaf[node]:
                a = branch_gain[node] / (n_leaves[node] - 1)
                if a < best:
                    best = a
                    best_node = node
        # Collapse best_node: remove its descendants, update its ancestors.
        stack = [left[best_node], right[best_node]]
        while len(stack) > 0:
            node = stack.pop()
            in_tree[node] = False
            if not is_leaf[node]:
                stack.append(left[node])
                stack.append(right[node])
        removed_gain = branch_gain[best_node]
        removed_leaves = n_leaves[best_node] - 1
        is_leaf[best_node] = True
        branch_gain[best_node] = 0.0
        n_leaves[best_node] = 1
        node = parent[best_node]
        while node >= 0:
            branch_gain[node] -= removed_gain
            n_leaves[node] -= removed_leaves
            node = parent[node]
        alphas.append(max(best, 0.0))
        totals.append(branch_gain[0])
    return np.array(alphas), np.array(totals)


def pruning_path(tree, scale, total_weight, root_impurity):
    """scikit-learn's ``cost_complexity_pruning_path`` of an engine tree.

    Parameters
    ----------
    tree : skextras._engine.tree.Tree
    scale : float
        The criterion's gain scale ``s`` (see the module doc).
    total_weight : float
        ``W``, the weighted sample count of the root.
    root_impurity : float
        Impurity of the root node (``R`` of the tree pruned to its root).

    Returns
    -------
    ccp_alphas : ndarray of shape (n_steps,)
        Effective alphas of the weakest-link sequence, increasing, starting at 0.
    impurities : ndarray of shape (n_steps,)
        Sum of the leaves' weighted impurities ``R(T)`` of each subtree of the sequence.
    """
    alphas, totals = _weakest_links(
        np.asarray(tree.left, dtype=np.int64),
        np.asarray(tree.right, dtype=np.int64),
        np.asarray(tree.gain, dtype=np.float64),
    )
    unit = scale * total_weight
    return alphas / unit, root_impurity - totals / unit
