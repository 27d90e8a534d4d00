"""Data-parallel training on one machine, without torchrun.

Two entry points, both giving every process the ``torchrun`` environment (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``):

- ``python -m skextras.nn.launch --nproc 2 train.py [args...]`` runs a script in ``nproc``
  processes; inside it, ``fit`` of any skextras estimator with ``distributed=True`` (or after
  :func:`init_process_group`) trains with DistributedDataParallel.
- :func:`spawn` runs a picklable function in ``nproc`` processes with the process group
  already initialised (gloo on CPU), which is what the tests use.
"""

import argparse
import datetime
import os
import signal
import socket
import subprocess
import sys
import time

import torch
import torch.distributed as dist


def free_port(host="127.0.0.1"):
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_backend():
    """``"nccl"`` when CUDA is available, else ``"gloo"``."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def init_process_group(backend=None, timeout=300):
    """Initialise ``torch.distributed`` from the torchrun environment variables.

    Parameters
    ----------
    backend : str or None, default=None
        ``None`` picks :func:`default_backend`.
    timeout : float, default=300
        Seconds a collective may wait before failing (so a lost peer cannot hang a fit).
    """
    needed = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    missing = [k for k in needed if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"distributed=True needs the torchrun environment; {missing} are not set. Start "
            "the script with `python -m skextras.nn.launch --nproc N script.py` or torchrun"
        )
    dist.init_process_group(
        backend or default_backend(),
        init_method="env://",
        timeout=datetime.timedelta(seconds=timeout),
    )


def _environment(rank, world_size, port):
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }


def _worker(rank, world_size, port, fn, args, backend, timeout):
    os.environ.update(_environment(rank, world_size, port))
    init_process_group(backend, timeout)
    try:
        fn(*args)
        # Every rank done before any tears the group down: a rank leaving while a peer is
        # still writing its results could abort that peer (gloo: "terminate called without an
        # active exception").
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn(fn, nprocs=2, args=(), backend=None, timeout=120):
    """Run ``fn(*args)`` in ``nprocs`` processes joined in one process group.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function; it reads its rank from
        ``torch.distributed.get_rank()``.
    nprocs : int, default=2
        Number of processes.
    args : tuple, default=()
        Arguments of ``fn``.
    backend : str or None, default=None
        ``None`` picks :func:`default_backend`.
    timeout : float, default=120
        Seconds a collective may wait before failing.
    """
    port = free_port()
    torch.multiprocessing.spawn(
        _worker, args=(nprocs, port, fn, args, backend, timeout), nprocs=nprocs, join=True
    )


def _describe(code):
    """Words for a child's exit status (a negative code is the signal that ended it)."""
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _supervise(processes, poll=0.1):
    """Wait for every process; when one fails, stop the others and return its rank and code.

    Returns ``(rank, code)`` of the first process that failed, or ``(None, 0)``.
    """
    running = dict(enumerate(processes))
    while running:
        for rank, process in list(running.items()):
            code = process.poll()
            if code is None:
                continue
            del running[rank]
            if code != 0:
                for other in running.values():
                    other.terminate()
                for other in running.values():
                    try:
                        other.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        other.kill()
                        other.wait()
                return rank, code
        time.sleep(poll)
    return None, 0


def main(argv=None):
    """Command line: run a script in ``--nproc`` processes.

    When a rank exits with an error, the others are stopped at once (instead of waiting in
    a collective until its timeout), the failed rank and its exit status are reported on
    stderr and its code is returned (1 for a rank killed by a signal).
    """
    parser = argparse.ArgumentParser(prog="python -m skextras.nn.launch", description=__doc__)
    parser.add_argument("--nproc", type=int, default=2, help="processes to start (default 2)")
    parser.add_argument("script", help="Python script to run in every process")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.nproc < 1:
        parser.error(f"--nproc must be >= 1, got {options.nproc}")
    port = free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, options.script, *options.script_args],
            env={**os.environ, **_environment(rank, options.nproc, port)},
        )
        for rank in range(options.nproc)
    ]
    try:
        rank, code = _supervise(processes)
    except KeyboardInterrupt:
        for process in processes:
            process.terminate()
        raise
    if rank is None:
        return 0
    print(
        f"skextras.nn.launch: rank {rank} of {options.nproc} {_describe(code)} "
        f"({options.script}); stopped the other ranks",
        file=sys.stderr,
    )
    return code if code > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
