"""Cold start of the tree engine: first fit + predict_proba of each tree estimator in a new process
with an empty numba cache, and where its compile time goes.

Each case runs in its own child process with ``NUMBA_CACHE_DIR`` pointed at a new temporary
directory (so nothing is loaded from a cache), fits the estimator on 2,000 x 10 data (10 trees)
and calls ``predict_proba``. The child reports its wall time, the CPU time of the process (user +
system, the better measure on a shared machine) and, from numba's ``numba:compile`` events, the
number of functions compiled and the compile time of each one *minus* that of the functions it
compiled inside it (self time), so the table names the kernels that cost the most.

    python benchmarks/engine_compile_profile.py            # every estimator, top 15 kernels each
    python benchmarks/engine_compile_profile.py --quick    # NewtonBoosting and RandomForest
    python benchmarks/engine_compile_profile.py --smoke    # HistTree only (CI)
    python benchmarks/engine_compile_profile.py --warm     # also the same call with a warm cache
    python benchmarks/engine_compile_profile.py --root DIR # skextras of DIR (e.g. `git archive`)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = {
    "NewtonBoostingClassifier": "NewtonBoostingClassifier(n_estimators=10, random_state=0)",
    "GradientBoostingClassifier": "GradientBoostingClassifier(n_estimators=10, random_state=0)",
    "AdaBoostClassifier": "AdaBoostClassifier(n_estimators=10, random_state=0)",
    "RandomForestClassifier": "RandomForestClassifier(n_estimators=10, random_state=0)",
    "ExtraTreesClassifier": "ExtraTreesClassifier(n_estimators=10, random_state=0)",
    "HistTreeClassifier": "HistTreeClassifier(random_state=0)",
}

CHILD = r"""
import json, resource, sys, time
t_start = time.perf_counter()
from numba.core import event

stack, self_time, count = [], {}, [0]

class Profile(event.Listener):
    def on_start(self, ev):
        stack.append([time.perf_counter(), 0.0])

    def on_end(self, ev):
        t0, inner = stack.pop()
        total = time.perf_counter() - t0
        if stack:
            stack[-1][1] += total
        d = ev.data["dispatcher"]
        name = f"{d.py_func.__module__.rsplit('.', 1)[-1]}.{d.py_func.__name__}"
        self_time[name] = self_time.get(name, 0.0) + total - inner
        count[0] += 1

event.register("numba:compile", Profile())
import numpy as np
from sklearn.datasets import make_classification
import skextras.ensemble as E
X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
X[::17, 3] = np.nan
t0 = time.perf_counter()
model = E.%s
model.fit(X, y)
model.predict_proba(X)
call_s = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "call_s": call_s, "wall_s": time.perf_counter() - t_start,
    "cpu_s": usage.ru_utime + usage.ru_stime, "n_compiled": count[0],
    "kernels": sorted(self_time.items(), key=lambda kv: -kv[1]),
}))
"""


def run_case(expression, cache_dir, threads, root=None):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, NUMBA_NUM_THREADS=str(threads))
    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", CHILD % expression],
        env=env,
        cwd=root,  # ``python -c`` puts the working folder first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="NewtonBoosting and RandomForest")
    parser.add_argument("--smoke", action="store_true", help="HistTree only (CI)")
    parser.add_argument("--warm", action="store_true", help="also rerun with the filled cache")
    parser.add_argument("--top", type=int, default=15, help="kernels listed per case")
    parser.add_argument("--threads", type=int, default=2, help="NUMBA_NUM_THREADS of the child")
    parser.add_argument("--only", nargs="*", default=None, help="estimator names")
    parser.add_argument(
        "--root", default=None, help="import skextras from this folder (e.g. an older commit)"
    )
    args = parser.parse_args(argv)
    names = list(CASES)
    if args.smoke:
        names = ["HistTreeClassifier"]
    elif args.quick:
        names = ["NewtonBoostingClassifier", "RandomForestClassifier"]
    if args.only:
        names = args.only
    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as f:
        load = f.read().split()[:3]
    print(f"load average at start: {' '.join(load)}; numba threads {args.threads}")
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            cold = run_case(CASES[name], cache, args.threads, args.root)
            cold["process_s"] = time.perf_counter() - t0
            warm = run_case(CASES[name], cache, args.threads, args.root) if args.warm else None
        rows.append((name, cold, warm))
        print(f"\n{name}: {cold['n_compiled']} functions compiled; slowest (self seconds):")
        for kernel, seconds in cold["kernels"][: args.top]:
            print(f"  {seconds:7.2f}  {kernel}")
    print()
    header = f"{'estimator':<28}{'fit+proba s':>12}{'process s':>10}{'cpu s':>8}{'compiled':>9}"
    header += f"{'warm s':>8}" if args.warm else ""
    print(header)
    print("-" * len(header))
    for name, cold, warm in rows:
        line = f"{name:<28}{cold['call_s']:>12.1f}{cold['process_s']:>10.1f}"
        line += f"{cold['cpu_s']:>8.1f}{cold['n_compiled']:>9d}"
        line += f"{warm['call_s']:>8.2f}" if warm else ""
        print(line, flush=True)
    print("fit+proba s: the first fit and predict_proba in a new process with an empty cache")


if __name__ == "__main__":
    main()
