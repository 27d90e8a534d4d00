"""The one place that compiles numba code and chooses the number of threads."""

import os
from contextlib import contextmanager
from functools import partial

import numba

njit = partial(numba.njit, cache=True, nogil=True)
pnjit = partial(numba.njit, cache=True, nogil=True, parallel=True)


def effective_n_threads(n_jobs=None):
    """Number of threads for ``n_jobs`` (None or -1 = every core numba may use, -2 = all but one).

    Never more than numba's thread pool size and never less than 1.
    """
    max_threads = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        n = max_threads
    elif n_jobs < 0:
        n = (os.cpu_count() or 1) + 1 + n_jobs
    else:
        n = n_jobs
    return int(max(1, min(n, max_threads)))


@contextmanager
def threads(n_jobs=None):
    """Run the enclosed numba parallel code on ``effective_n_threads(n_jobs)`` threads."""
    previous = numba.get_num_threads()
    numba.set_num_threads(effective_n_threads(n_jobs))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
