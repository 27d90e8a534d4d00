"""Checks on fitted trees read from a document the caller may not trust, before a kernel runs.

The numba kernels of ``tree.py`` and ``shap.py`` do no bounds checks, so a saved model is
validated here, once, when it is loaded; after that the kernels may assume every invariant
below. What the kernels index, and the invariant that keeps each index in range:

- ``left[node]``, ``right[node]`` (every walk): children of an internal node lie in
  ``[1, n_nodes)`` (the root is nobody's child), no node is its own child, leaves have
  ``left == right == -1``. Every node but the root has exactly one parent and every node is
  reachable from the root, so the tree is acyclic and a walk ends at a leaf.
- ``X[i, feature[node]]`` (dense, CSR, binned and fixed-depth walks; ``phi[feature]`` in
  TreeSHAP): internal nodes have ``0 <= feature < n_features``; leaves ``feature == -1``.
- ``threshold``, ``missing_go_left``, ``bin_threshold``: one per node; thresholds are not
  NaN, bin thresholds and ``missing_bin`` are in ``[0, 255]`` (uint8 without wrapping).
- ``value[node, k]`` and ``out[i, tree_output[t] + k]``: ``value`` is ``(n_nodes, K)`` with
  the same ``K`` in every tree (the stacked arrays are concatenated), finite.
- ``depth``: the fixed-depth walk takes ``depth.max()`` steps and TreeSHAP sizes its path
  buffers from it, so ``depth[node]`` must be the node's true depth (root 0).
- ``n_samples`` weights the mean leaf depth (non-negative), ``cover`` divides in TreeSHAP
  and ``gain`` sums into importances (finite).

Integers are range-checked before any cast, so a value never wraps into range. Every error
is a ``ValueError`` naming the document, the tree, the node, the field and the bad value.
"""

import numpy as np

from .tree import _ARRAYS, Tree

_INT_FIELDS = ("feature", "left", "right", "bin_threshold", "n_samples", "depth")
_FLOAT_FIELDS = ("threshold", "value", "gain", "cover")
_INT32_MAX = np.iinfo(np.int32).max


def _error(where, message, node=None, field=None, value=None):
    parts = [where]
    if node is not None:
        parts.append(f"node {node}")
    if field is not None:
        parts.append(f"field {field!r}")
    text = ", ".join(parts) + f": {message}"
    if value is not None:
        text += f" (got {value!r})"
    return ValueError(text)


def _first(mask):
    return int(np.flatnonzero(mask)[0])


# JSON element types each field may hold (a JSON boolean is not an index or a number; the
# parser makes exact ints, floats, bools and lists, so type() identity is the check).
_ALLOWED = {"integers": {int}, "numbers": {int, float}, "booleans": {bool, int}}


def _as_array(raw, where, field):
    """The JSON list ``raw`` as a numeric ndarray of the field's kind (no cast yet)."""
    if not isinstance(raw, list):
        raise _error(where, f"must be a list, not {type(raw).__name__}", field=field)
    if field == "missing_go_left":
        expected = "booleans"
    else:
        expected = "integers" if field in _INT_FIELDS else "numbers"
    items = raw
    if field == "value" and list in set(map(type, raw)):
        # (n_nodes, K) rows: the entries of well-formed rows; a ragged or mixed list fails
        # the regular-array check below.
        items = [v for row in raw if type(row) is list for v in row]
        items += [row for row in raw if type(row) is not list]
    allowed = _ALLOWED[expected]
    types = set(map(type, items))
    if not types <= allowed:
        bad = next(v for v in items if type(v) not in allowed)
        raise _error(where, f"must hold {expected} only", field=field, value=bad)
    try:
        arr = np.asarray(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _error(where, f"is not a regular array of numbers ({exc})", field=field) from None
    if expected == "booleans" and int in types and not np.isin(arr, (0, 1)).all():
        bad = next(v for v in items if v not in (0, 1))
        raise _error(where, f"must hold {expected} only", field=field, value=bad)
    if arr.dtype.kind == "O":
        # Every entry is a number of the right type, so only an integer beyond 64 bits
        # leaves numpy with objects.
        huge = max((v for v in items if type(v) is int), key=abs)
        raise _error(where, "holds an integer out of range", field=field, value=huge)
    return arr


def _check_range(arr, where, field, low, high, nodes=None):
    """Every entry (of ``nodes`` when given) in [low, high]."""
    values = arr if nodes is None else arr[nodes]
    bad = (values < low) | (values > high)
    if bad.any():
        i = _first(bad)
        node = i if nodes is None else int(nodes[i])
        raise _error(
            where, f"must be in [{low}, {high}]", node=node, field=field, value=values[i].item()
        )


def _reachable_depths(left, right, where):
    """Depth of every node below the root; refuses nodes no walk from the root reaches."""
    n = left.size
    depth = np.full(n, -1, dtype=np.int64)
    frontier = np.array([0])
    level = 0
    # Every node has at most one parent (checked before), so each is visited once at most.
    while frontier.size:
        depth[frontier] = level
        inner = frontier[left[frontier] != -1]
        frontier = np.concatenate([left[inner], right[inner]])
        level += 1
    if (depth < 0).any():
        raise _error(
            where,
            "is not reachable from the root (the trees' nodes form a cycle)",
            _first(depth < 0),
        )
    return depth


def _check_structure(arrays, where, n_features):
    left, right = arrays["left"], arrays["right"]
    n = left.size
    _check_range(left, where, "left", -1, n - 1)
    _check_range(right, where, "right", -1, n - 1)
    for field, child in (("left", left), ("right", right)):
        loop = child == np.arange(n)
        if loop.any():
            i = _first(loop)
            raise _error(where, "a node cannot be its own child", i, field, int(child[i]))
    leaf = left == -1
    odd = leaf != (right == -1)
    if odd.any():
        i = _first(odd)
        raise _error(
            where,
            "left and right must both be -1 (leaf) or both be child indices",
            i,
            "right",
            int(right[i]),
        )
    internal = np.flatnonzero(~leaf)
    children = np.concatenate([left[internal], right[internal]])
    if (children == 0).any():
        parent = int(np.concatenate([internal, internal])[_first(children == 0)])
        raise _error(where, "the root (node 0) cannot be a child", parent, "left/right", 0)
    parents = np.bincount(children, minlength=n)
    parents[0] = 1
    if (parents != 1).any():
        i = _first(parents != 1)
        raise _error(
            where, f"every node but the root needs exactly one parent, node {i} has {parents[i]}"
        )
    depth = _reachable_depths(left, right, where)
    wrong = arrays["depth"] != depth
    if wrong.any():
        i = _first(wrong)
        raise _error(
            where,
            f"must be the node's depth below the root, {depth[i]}",
            i,
            "depth",
            int(arrays["depth"][i]),
        )
    _check_range(arrays["feature"], where, "feature", 0, n_features - 1, nodes=internal)
    bad_leaf = arrays["feature"][leaf] != -1
    if bad_leaf.any():
        i = int(np.flatnonzero(leaf)[_first(bad_leaf)])
        raise _error(where, "must be -1 at a leaf", i, "feature", int(arrays["feature"][i]))


def _check_numbers(arrays, where):
    _check_range(arrays["bin_threshold"], where, "bin_threshold", 0, 255)
    _check_range(arrays["n_samples"], where, "n_samples", 0, np.iinfo(np.int64).max)
    nan = np.isnan(arrays["threshold"])
    if nan.any():
        i = _first(nan)
        raise _error(where, "must not be NaN", i, "threshold", float("nan"))
    for field in ("value", "gain", "cover"):
        arr = arrays[field]
        bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
        if bad.any():
            i = _first(bad)
            raise _error(where, "must be finite", i, field, arr[i].tolist())


def _tree_arrays(doc, where):
    """The fields of one tree document as arrays of one length, not yet cast."""
    if not isinstance(doc, dict):
        raise _error(where, f"must be a JSON object, not {type(doc).__name__}")
    missing = [name for name in (*_ARRAYS, "missing_bin") if name not in doc]
    if missing:
        raise _error(where, f"missing fields {missing}")
    arrays = {name: _as_array(doc[name], where, name) for name in _ARRAYS}
    n = arrays["left"].size
    if n == 0:
        raise _error(where, "a tree needs at least one node", field="left", value=[])
    for name, arr in arrays.items():
        if name == "value":
            ok = arr.ndim == 1 and arr.size == n or arr.ndim == 2 and arr.shape[0] == n
            shape_text = f"({n},) or ({n}, n_outputs)"
        else:
            ok = arr.shape == (n,)
            shape_text = f"({n},)"
        if not ok or (name == "value" and arr.size == 0):
            raise _error(where, f"must have shape {shape_text}", field=name, value=arr.shape)
    return arrays


def tree_from_document(doc, n_features, where="tree"):
    """A :class:`~skextras._engine.tree.Tree` from its ``Tree.to_dict`` document, validated.

    Parameters
    ----------
    doc : dict
        One tree as written by ``Tree.to_dict`` (JSON lists and scalars).
    n_features : int
        Number of input features the tree may split on.
    where : str, default="tree"
        Prefix of every error message (the file and the tree index).

    Returns
    -------
    tree : Tree

    Raises
    ------
    ValueError
        When a field is missing, of the wrong type or length, or breaks an invariant of the
        module docstring; the message names ``where``, the node, the field and the value.
    """
    arrays = _tree_arrays(doc, where)
    n = arrays["left"].size
    if n > _INT32_MAX:
        raise _error(where, "too many nodes", field="left", value=n)
    _check_numbers(arrays, where)
    _check_range(arrays["feature"], where, "feature", -1, _INT32_MAX)
    _check_range(arrays["depth"], where, "depth", 0, _INT32_MAX)
    _check_structure(arrays, where, n_features)
    missing_bin = doc["missing_bin"]
    if isinstance(missing_bin, bool) or not isinstance(missing_bin, int):
        raise _error(where, "must be an integer", field="missing_bin", value=missing_bin)
    if not 0 <= missing_bin <= 255:
        raise _error(where, "must be in [0, 255]", field="missing_bin", value=missing_bin)
    tree = Tree(missing_bin=missing_bin, **{name: arrays[name] for name in _ARRAYS})
    tree.value = np.ascontiguousarray(tree.value.reshape(n, -1))
    return tree


def trees_from_documents(docs, n_features, n_outputs=None, source="model"):
    """Validated trees from a list of ``Tree.to_dict`` documents, all with one output width.

    Parameters
    ----------
    docs : list of dict
        The trees, in order.
    n_features : int
        Number of input features (>= 1) the trees may split on.
    n_outputs : int or None, default=None
        Width ``K`` every tree's ``value`` must have; None: whatever the first tree has.
    source : str, default="model"
        Names the document in error messages (e.g. the file path).

    Returns
    -------
    trees : list of Tree

    Raises
    ------
    ValueError
        Naming ``source``, the tree index, the node, the field and the bad value.
    """
    if not isinstance(docs, list):
        raise _error(source, f"'trees' must be a list, not {type(docs).__name__}")
    trees = []
    for t, doc in enumerate(docs):
        where = f"{source}: tree {t}"
        tree = tree_from_document(doc, n_features, where)
        width = tree.n_outputs if n_outputs is None and not trees else n_outputs
        width = trees[0].n_outputs if width is None else width
        if tree.n_outputs != width:
            raise _error(
                where,
                f"value must have {width} column(s) like the model's other trees",
                field="value",
                value=tree.n_outputs,
            )
        trees.append(tree)
    return trees
