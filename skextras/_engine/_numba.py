"""The one place that compiles numba code and chooses the number of threads."""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

njit = partial(numba.njit, cache=True, nogil=True)

# Rows ahead whose data loops over scattered rows prefetch: deep tree nodes hold rows spread
# over the data set, and waiting on memory for each would cost 3-4 times the work per row.
PREFETCH_ROWS = 16


@intrinsic
def prefetch(typingctx, array, index):
    """Hint the CPU to fetch ``array.flat[index]`` into cache (numba code only).

    For loops over scattered rows, whose loads the hardware prefetchers cannot foresee.
    """
    sig = types.void(array, types.uint64)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [address.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, highest locality, data cache
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


def _vector_add_codegen(lanes):
    """Codegen of ``array.flat[index:index + lanes] += values`` as one vector load, add, store."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        vector_type = ir.VectorType(ir.DoubleType(), lanes)
        address = builder.bitcast(builder.gep(data, [args[1]]), vector_type.as_pointer())
        addend = ir.Constant(vector_type, ir.Undefined)
        for lane, value in enumerate(args[2:]):
            addend = builder.insert_element(addend, value, ir.Constant(ir.IntType(32), lane))
        total = builder.fadd(builder.load(address, align=8), addend)
        builder.store(total, address, align=8)
        return context.get_dummy_value()

    return codegen


@intrinsic
def add_float4(typingctx, array, index, a, b, c, d):
    """``array.flat[index:index + 4] += (a, b, c, d)`` as one vector load, add and store
    (numba code only; ``array`` float64 and C-contiguous). Each lane is an ordinary float64
    addition: the sums are those of four scalar ``+=``, in fewer instructions."""
    f8 = types.float64
    return types.void(array, types.uint64, f8, f8, f8, f8), _vector_add_codegen(4)


@intrinsic
def add_float2(typingctx, array, index, a, b):
    """``add_float4`` for two lanes: ``array.flat[index:index + 2] += (a, b)``."""
    f8 = types.float64
    return types.void(array, types.uint64, f8, f8), _vector_add_codegen(2)


@intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose IEEE 754 bit pattern is the int64 ``bits`` (numba code only): builds
    ``2.0 ** k`` as ``(k + 1023) << 52`` in loops that must stay vectorisable."""
    return types.float64(types.int64), lambda context, builder, sig, args: builder.bitcast(
        args[0], ir.DoubleType()
    )


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


@njit(parallel=True)
def _probe(out):
    for i in prange(out.size):
        out[i] = i


_NATIVE = None
_NATIVE_PID = None


def native_threads():
    """Whether kernels hand work to numba's own threads (``prange`` drivers, ``run_ranges``).

    OpenMP and TBB workers wait for the next parallel region by spinning a little and start
    it in about 3 us; a hand-off between Python threads (``run_in_threads``) waits on the
    operating system and the GIL, about 40 us here, 10-20 times per boosting tree (5-10% of
    the fit on 262k rows). numba's "workqueue" layer, the one left where neither library is
    installed, is slower than Python threads, and GNU OpenMP does not survive a fork: there,
    and in a forked child, the Python threads stay.
    """
    global _NATIVE, _NATIVE_PID
    if _NATIVE is None:
        _probe(np.zeros(2))
        _NATIVE = numba.threading_layer() in ("omp", "tbb")
        _NATIVE_PID = os.getpid()
    return _NATIVE and _NATIVE_PID == os.getpid()


def threaded(work, min_work):
    """How kernels given a ``threaded`` argument share ``work`` (e.g. the (row, feature) cells
    of a tree) between threads: None where one thread runs or ``work < min_work``, else
    ``native_threads()``.

    None is a type of its own to numba: a kernel written ``if threaded is not None: ...`` has
    that branch removed before it is compiled, so its ``prange`` driver (a parallel compile of
    the whole kernel below it, seconds each) is compiled only by calls that may use it.
    Which thread runs a part never changes the results (see ``run_ranges``).
    """
    if numba.get_num_threads() == 1 or work < min_work:
        return None
    return native_threads()


_POOL = None
_POOL_PID = None


def run_in_threads(calls):
    """Run zero-argument callables concurrently: the first here, the others on a thread pool.

    For ``nogil`` kernels on disjoint outputs: whole trees of a forest, binning, and the
    grower's kernels where ``native_threads()`` is false. Idle pool threads sleep instead of
    spinning as OpenMP workers do between parallel regions: robust on a machine shared with
    other jobs, but each hand-off costs about 40 us.
    """
    global _POOL, _POOL_PID
    if len(calls) == 1:
        calls[0]()
        return
    # A forked child inherits the pool object but not its threads: make a new one there.
    if _POOL is None or _POOL_PID != os.getpid():
        _POOL = ThreadPoolExecutor(max_workers=numba.config.NUMBA_NUM_THREADS)
        _POOL_PID = os.getpid()
    futures = [_POOL.submit(call) for call in calls[1:]]
    calls[0]()
    for future in futures:
        future.result()


def run_ranges(kernel, bounds, *args, driver=None):
    """``kernel(*args, a, b)`` for consecutive ``a, b`` of ``bounds``, one range per thread.

    ``driver``: a ``parallel=True`` function ``driver(bounds, *args)`` that calls ``kernel``
    over the ranges in a ``prange`` loop, used when ``native_threads()``; ``run_in_threads``
    otherwise. Either way each range is one call on one thread: the same results.
    """
    if len(bounds) > 2 and driver is not None and native_threads():
        driver(np.array(bounds, dtype=np.int64), *args)
        return
    run_in_threads([partial(kernel, *args, a, b) for a, b in zip(bounds, bounds[1:])])


def parallel_rows(kernel, n_rows, *args, min_rows=2048, driver=None):
    """``kernel(*args, first, last)`` over row ranges covering ``range(n_rows)``, one range per
    thread (``numba.get_num_threads()``, at least ``min_rows`` rows each); ``driver``: see
    ``run_ranges``."""
    n_threads = int(max(1, min(numba.get_num_threads(), n_rows // min_rows)))
    bounds = [n_rows * t // n_threads for t in range(n_threads + 1)]
    run_ranges(kernel, bounds, *args, driver=driver)


@njit
def balanced_groups(cumulative, n_groups):
    """Bounds ``[0, ..., n]`` (int64) of at most ``n_groups`` non-empty runs of consecutive
    items of about equal weight; ``cumulative`` (int64, n + 1 entries from 0) sums the weights.
    """
    n = cumulative.size - 1
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    k = 1
    for t in range(1, n_groups):
        target = cumulative[n] * t / n_groups
        b = np.searchsorted(cumulative, target)
        # the item boundary nearest the target: the first at or above it may be a whole
        # item further (two equal nodes would both go to one thread)
        if b > 0 and target - cumulative[b - 1] <= cumulative[min(b, n)] - target:
            b -= 1
        if bounds[k - 1] < b < n:
            bounds[k] = b
            k += 1
    if n > 0:
        bounds[k] = n
        k += 1
    return bounds[:k]


@njit
def cumulative_sizes(starts, stops):
    """``[0, cumsum(stops - starts)]`` (int64 arrays): the weights ``balanced_groups`` reads."""
    out = np.zeros(starts.size + 1, dtype=np.int64)
    for j in range(starts.size):
        out[j + 1] = out[j] + stops[j] - starts[j]
    return out


def parallel_groups(kernel, cumulative, *args, min_total=0, driver=None):
    """``kernel(*args, first, last)`` over runs of consecutive items of about equal weight, one
    run per thread (see ``balanced_groups``); all on one thread below ``min_total`` weight;
    ``driver``: see ``run_ranges``."""
    n_threads = numba.get_num_threads() if cumulative[-1] >= min_total else 1
    bounds = balanced_groups(cumulative, n_threads)
    run_ranges(kernel, bounds, *args, driver=driver)
