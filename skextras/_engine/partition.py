"""Rows of tree nodes: each node owns a contiguous slice of one row-index array.

A split partitions its node's slice in place (left rows first, each side in the order it had),
and a grown tree's leaves give every row its leaf id. The kernels take a range of nodes, so
that a level's nodes can be shared between threads (``_numba.run_ranges``).
"""

import numpy as np
from numba import prange

from ._numba import njit


@njit
def partition(rows, start, stop, col, goes_left, buffer):
    """Stable in-place partition of rows[start:stop]: left rows first; returns the left count.

    ``goes_left[b]`` is 1 for the bins sent left. Right rows wait in ``buffer[start:stop]``,
    so nodes with disjoint slices can be partitioned concurrently. Branch-free: each row is
    written both at the left cursor (a slot already read) and to the buffer, and the cursors
    advance by the table's answer; a branch per row would be mispredicted half the time.
    Indices are unsigned, which spares numba's negative-index checks.
    """
    first = np.uint64(start)
    n_left = np.uint64(0)
    n_right = np.uint64(0)
    for i in range(first, np.uint64(stop)):
        r = rows[i]
        left = np.uint64(goes_left[col[np.uint64(r)]])
        rows[first + n_left] = r
        buffer[first + n_right] = r
        n_left += left
        n_right += np.uint64(1) - left
    rows[first + n_left : np.uint64(stop)] = buffer[first : first + n_right]
    return n_left


@njit
def partition_nodes(
    X, rows, starts, stops, features, bins, missing_left, missing_bin, buffer, n_left, first, last
):
    goes_left = np.zeros(256, dtype=np.uint8)
    for j in range(first, last):
        goes_left[:] = 0
        goes_left[: bins[j] + 1] = 1
        goes_left[missing_bin] = missing_left[j]
        n_left[j] = partition(rows, starts[j], stops[j], X[:, features[j]], goes_left, buffer)


@njit(parallel=True)
def partition_nodes_parallel(bounds, *args):
    """``partition_nodes`` over the ranges of ``bounds``, one a thread (``run_ranges``)."""
    for t in prange(bounds.size - 1):
        partition_nodes(*args, bounds[t], bounds[t + 1])


@njit
def fill_leaf_of_row(rows, starts, stops, leaf_ids, out, first, last):
    for j in range(first, last):
        for i in range(starts[j], stops[j]):
            out[rows[i]] = leaf_ids[j]


@njit(parallel=True)
def fill_leaf_of_row_parallel(bounds, *args):
    """``fill_leaf_of_row`` over the ranges of ``bounds``, one a thread (``run_ranges``)."""
    for t in prange(bounds.size - 1):
        fill_leaf_of_row(*args, bounds[t], bounds[t + 1])
