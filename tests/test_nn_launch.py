"""The launcher: scripts in several ranks, and a failed rank that stops its peers."""

import os
import re
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _launch_two_ranks(script, timeout):
    """``python -m skextras.nn.launch --nproc 2 script`` with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "skextras.nn.launch", "--nproc", "2", str(script)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def test_launch_command_runs_a_script_in_two_ranks(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\n"
        "from sklearn.datasets import make_regression\n"
        "from skextras.nn import MLPRegressor\n"
        "torch.set_num_threads(1)\n"
        "X, y = make_regression(64, 3, random_state=0)\n"
        "reg = MLPRegressor((4,), batch_size=16, max_epochs=2, distributed=True, random_state=0)\n"
        "reg.fit(X, y / y.std())\n"
        "rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()\n"
        "print(f'rank {rank} of {world} loss {reg.history_[-1][\"train_loss\"]:.6f}')\n"
    )
    out = _launch_two_ranks(script, timeout=300)
    report = f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    assert out.returncode == 0, report
    ranks = sorted(re.findall(r"rank (\d) of (\d) loss ([-+0-9.e]+)", out.stdout))
    assert [r[:2] for r in ranks] == [("0", "2"), ("1", "2")], report
    # The epoch loss is all-reduced, so both ranks report the same number.
    assert ranks[0][2] == ranks[1][2], report


def test_launch_stops_the_peers_of_a_failed_rank_and_names_it(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import os, torch\n"
        "from sklearn.datasets import make_regression\n"
        "from skextras.nn import MLPRegressor\n"
        "if os.environ['RANK'] == '1':\n"
        "    raise SystemExit('rank 1 lost its data')\n"
        "X, y = make_regression(64, 3, random_state=0)\n"
        "MLPRegressor((4,), max_epochs=2, distributed=True).fit(X, y)\n"
    )
    start = time.perf_counter()
    out = _launch_two_ranks(script, timeout=240)
    elapsed = time.perf_counter() - start
    # rank 0 waits in init_process_group for rank 1 (timeout 300 s) unless it is stopped
    assert elapsed < 120, out.stderr
    assert out.returncode == 1, out.stderr
    assert "rank 1 lost its data" in out.stderr
    assert re.search(r"rank 1 of 2 exited with code 1 .*stopped the other ranks", out.stderr)
