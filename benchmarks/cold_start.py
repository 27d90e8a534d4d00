"""Cold start: the first call of each public entry point in a new process, empty numba cache.

Every case runs in its own fresh ``python`` subprocess with ``NUMBA_CACHE_DIR`` pointed at a
new empty temporary folder (``cold``: every kernel the call reaches is compiled), then once
more in another fresh process with the same folder (``warm``: kernels load from the cache).
Peers (scikit-learn, XGBoost, LightGBM, pycocotools, faster-coco-eval) have nothing to
compile and run once, also in a fresh process. Python bytecode is written as ``pip install``
does (``PYTHONDONTWRITEBYTECODE`` is cleared and one untimed process imports every module
first), so import times are those of an installed package.

Per row: the import time, the first call's wall time and CPU time (the child's own
``process_time``, every thread), and the whole process's wall and CPU time (the parent's
``getrusage(RUSAGE_CHILDREN)`` delta: the machine is shared, so CPU time is the steadier
number). A goal is met when ``min(wall, CPU)`` of the timed part is within it: numba compiles
on one thread, so on an idle machine wall ~ CPU, and under other tenants' load CPU time is
what an idle machine would show.

The worker table is issue 24's: ``RandomizedSearchCV(n_jobs=2)`` against ``n_jobs=1`` over
the booster with a warm cache (each loky worker is a new process that imports and loads
kernels), XGBoost beside it; and, in one new warm process, the import times and the first
fit against a second identical fit (the difference is the per-process kernel load).

    python benchmarks/cold_start.py                 # every case (tens of minutes cold)
    python benchmarks/cold_start.py --quick         # fewer estimators, no segm / keypoints
    python benchmarks/cold_start.py --quick --smoke # imports + DenseFeatures (CI)
    python benchmarks/cold_start.py --cases newton coco_bbox --json out.json
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import print_table

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT.parent / "shared" / "data" / "coco_val2014_fake100"
COCO_GT = COCO / "instances_val2014_100.json"
COCO_DT = {
    "bbox": COCO / "instances_val2014_fakebbox100_results.json",
    "segm": COCO / "instances_val2014_fakesegm100_results.json",
}
TREE_GOAL, CALL_GOAL, IMPORT_GOAL, WORKER_GOAL = 5.0, 2.0, 0.5, 0.5

# 2,000 x 10, a non-linear binary target: numpy only, so no library is imported early.
TREE_DATA = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 10))
y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.standard_normal(2000) > 0).astype(np.int64)
"""
FIT = "model.fit(X, y).predict_proba(X)"
TREES = {  # case: (our class, scikit-learn's peer, its parameters)
    "newton": ("NewtonBoostingClassifier", "HistGradientBoostingClassifier", "max_iter=10"),
    "gradient_boosting": ("GradientBoostingClassifier", "GradientBoostingClassifier", None),
    "adaboost": ("AdaBoostClassifier", "AdaBoostClassifier", None),
    "random_forest": ("RandomForestClassifier", "RandomForestClassifier", None),
    "extra_trees": ("ExtraTreesClassifier", "ExtraTreesClassifier", None),
}
QUIET = "import contextlib, io\n_quiet = contextlib.redirect_stdout(io.StringIO())\n"
COCOAPI = """
with _quiet:
    gt = COCO({gt!r})
    ev = Eval(gt, gt.loadRes({dt!r}), {iou_type!r})
    ev.evaluate(); ev.accumulate(); ev.summarize()
"""


@dataclass
class Case:
    """One row: ``phases`` are (label, code) run in order in the child; label ``None`` runs
    untimed (data), ``"import"`` and ``"call"`` are timed; ``argv`` instead runs a command."""

    name: str
    library: str
    phases: list = field(default_factory=list)
    goal: float | None = None
    goal_on: str = "call"
    cached: bool = True  # skextras: cold and warm rows; peers: one row
    argv: list | None = None


def tree_cases(name):
    ours, peer, params = TREES[name]
    params = params or "n_estimators=10"
    cases = [
        Case(name, "skextras", [
            ("import", f"from skextras.ensemble import {ours}"),
            (None, TREE_DATA + f"model = {ours}(n_estimators=10, random_state=0)"),
            ("call", FIT)], goal=TREE_GOAL),
        Case(name, "sklearn", [
            ("import", f"from sklearn.ensemble import {peer}"),
            (None, TREE_DATA + f"model = {peer}({params}, random_state=0)"),
            ("call", FIT)], cached=False),
    ]  # fmt: skip
    if name == "newton":
        cases += [
            Case(name, "xgboost", [
                ("import", "from xgboost import XGBClassifier"),
                (None, TREE_DATA + "model = XGBClassifier(n_estimators=10, random_state=0)"),
                ("call", FIT)], cached=False),
            Case(name, "lightgbm", [
                ("import", "from lightgbm import LGBMClassifier"),
                (None, TREE_DATA + "model = LGBMClassifier(n_estimators=10, verbose=-1)"),
                ("call", FIT)], cached=False),
        ]  # fmt: skip
    return cases


def coco_cases(iou_type, files):
    gt, dt = str(files[0]), str(files[1])
    call = f"coco_evaluate({gt!r}, {dt!r}, iou_type={iou_type!r})"
    cases = [Case(f"coco_{iou_type}", "skextras", [
        ("import", "from skextras.metrics import coco_evaluate"), ("call", call)],
        goal=CALL_GOAL)]  # fmt: skip
    peers = {
        "pycocotools": "from pycocotools.coco import COCO\n"
        "from pycocotools.cocoeval import COCOeval as Eval",
        "faster-coco-eval": "from faster_coco_eval import COCO, COCOeval_faster as Eval",
    }
    for library, imports in peers.items():
        code = COCOAPI.format(gt=gt, dt=dt, iou_type=iou_type)
        cases.append(Case(f"coco_{iou_type}", library, [
            ("import", imports), (None, QUIET), ("call", code)], cached=False))  # fmt: skip
    return cases


def dense_case():
    data = (
        f"import sys\nsys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "import feature_columns as bench\ndata = bench.make_data(1000)"
    )
    call = "fc.DenseFeatures(bench.columns(fc), random_state=0).fit(data).transform(data)"
    imports = "from skextras import feature_columns as fc\nfc.DenseFeatures, fc.embedding_column"
    phases = [("import", imports), (None, data), ("call", call)]
    return [Case("dense_features", "skextras", phases, goal=CALL_GOAL)]


def import_cases():
    """Imports compile nothing: one run each."""
    rows = [("import skextras", IMPORT_GOAL), ("import skextras.ensemble", IMPORT_GOAL),
            ("import skextras.metrics", None), ("import skextras.feature_columns", None),
            ("from skextras.ensemble import NewtonBoostingClassifier", None),
            ("from skextras.metrics import coco_evaluate", None),
            ("from skextras.feature_columns import DenseFeatures", None),
            ("import sklearn.base", None)]  # fmt: skip
    return [Case(code, code.split()[1].split(".")[0], [("import", code)], goal=goal,
                 goal_on="import", cached=False) for code, goal in rows]  # fmt: skip


def cli_case():
    argv = ["-m", "skextras.cli", "map", "--gt", str(COCO_GT), "--dt", str(COCO_DT["bbox"])]
    return [Case("skextras map (CLI, bbox)", "skextras", argv=argv)]


# Counts the functions numba compiles (ours and the numpy / builtin implementations they
# reach) during the call: a number the machine's load does not change.
COUNT_COMPILES = """
from numba.core import event as _event
class _Compiles(_event.Listener):
    n = 0
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        _Compiles.n += 1
_event.register("numba:compile", _Compiles())
"""


def child_source(case):
    """The child's program: run the phases, print the timed ones as one JSON line."""
    lines = ["import json as _json, time as _time", "_t = {}"]
    count = case.library == "skextras" and case.cached
    for label, code in case.phases:
        if label is None:
            lines.append(code)
            continue
        if label == "call" and count:
            lines.append(COUNT_COMPILES)  # after the import phase: numba is imported
        lines.append("_w, _c = _time.perf_counter(), _time.process_time()")
        lines.append(code)
        lines.append(f"_t[{label!r}] = [_time.perf_counter() - _w, _time.process_time() - _c]")
        if label == "call" and count:
            lines.append("_t['compiled'] = [_Compiles.n, _Compiles.n]")
    lines.append("print('@@' + _json.dumps(_t))")
    return "\n".join(lines)


def child_env(cache_dir):
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    return env


def run_child(args, cache_dir):
    """(timed phases, process wall s, process CPU s, stdout) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=child_env(cache_dir), cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)[:200]} failed:\n{proc.stderr[-3000:]}")
    marks = [line for line in proc.stdout.splitlines() if line.startswith("@@")]
    return (json.loads(marks[-1][2:]) if marks else {}), wall, cpu, proc.stdout


def run_case(case, cache_dir):
    cold = not any(Path(cache_dir).rglob("*.nbi"))
    phases, wall, cpu, _ = run_child(case.argv or ["-c", child_source(case)], cache_dir)
    row = {"case": case.name, "library": case.library}
    row["cache"] = ("cold" if cold else "warm") if case.cached else "-"
    if "import" in phases:
        row["import s"] = phases["import"][0]
        row["import CPU s"] = phases["import"][1]
    if "call" in phases:
        row["call s"], row["call CPU s"] = phases["call"]
    if phases.get("compiled"):
        row["compiled"] = phases["compiled"][0]
    row["process s"], row["process CPU s"] = wall, cpu
    if case.goal is not None:
        timed = phases[case.goal_on]
        row["goal"] = f"{case.goal_on} ≤ {case.goal:g} s"
        row["met"] = "met" if min(timed) <= case.goal else "not met"
    return row


def run_cases(cases):
    """Each case cold then warm (skextras) or once (peers), one new cache folder per case."""
    rows = []
    for case in cases:
        cache_dir = Path(tempfile.mkdtemp(prefix="skextras-cold-"))
        try:
            for _ in range(2 if case.cached else 1):
                try:
                    row = run_case(case, cache_dir)
                except RuntimeError as exc:
                    if "ModuleNotFoundError" not in str(exc):
                        raise
                    row = {"case": case.name, "library": case.library, "met": "not installed"}
                print(f"  {row}", file=sys.stderr, flush=True)
                rows.append(row)
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)
    return rows


WORKER_SEARCH = """
import numpy as np
from scipy.stats import loguniform, randint
from sklearn.model_selection import RandomizedSearchCV
{imports}
rng = np.random.default_rng(0)
X = rng.standard_normal(({n}, 10))
y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.standard_normal({n}) > 0).astype(np.int64)
space = {{"max_depth": randint(2, 7), "learning_rate": loguniform(0.02, 0.3)}}
search = RandomizedSearchCV({model}, space, n_iter={n_iter}, cv=3, random_state=0,
                            n_jobs={n_jobs})
"""
WORKER_FIRST_FIT = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.standard_normal((2000, 10))
y = (X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * rng.standard_normal(2000) > 0).astype(np.int64)
"""
WORKER_MODELS = {
    "skextras": ("from skextras.ensemble import NewtonBoostingClassifier as Model",
                 "Model(n_estimators={trees}, n_jobs=1, random_state=0)"),
    "xgboost": ("from xgboost import XGBClassifier as Model",
                "Model(n_estimators={trees}, n_jobs=1, random_state=0)"),
    "lightgbm": ("from lightgbm import LGBMClassifier as Model",
                 "Model(n_estimators={trees}, n_jobs=1, verbose=-1, random_state=0)"),
}  # fmt: skip


def worker_rows(quick, smoke):
    """Issue 24: the search in parallel vs serial, and one warm process's start-up parts."""
    n, n_iter, trees = (2000, 4, 20) if smoke else (5000, 8, 50) if quick else (10_000, 16, 100)
    cache_dir = Path(tempfile.mkdtemp(prefix="skextras-cold-"))
    search_rows, startup_rows = [], []
    try:
        for library, (imports, model) in WORKER_MODELS.items():
            first_fit = [
                ("import", "import sklearn.base"),
                ("import skextras.ensemble", "import skextras.ensemble")
                if library == "skextras" else (None, ""),
                ("import model", imports),
                (None, WORKER_FIRST_FIT + "model = " + model.format(trees=10)),
                ("first fit", "model.fit(X, y)"),
                ("second fit", "model.fit(X, y)"),
            ]  # fmt: skip
            try:  # the first run compiles into the new cache; the rows are the warm run
                for _ in range(2 if library == "skextras" else 1):
                    phases, wall, cpu, _ = run_child(
                        ["-c", child_source(Case("", "", first_fit))], cache_dir
                    )
            except RuntimeError as exc:
                if "ModuleNotFoundError" in str(exc):
                    continue
                raise
            startup_rows.append(startup_row(library, phases, wall, cpu))
            for n_jobs in (1, 2):
                code = WORKER_SEARCH.format(imports=imports, n=n, n_iter=n_iter, n_jobs=n_jobs,
                                            model=model.format(trees=trees))  # fmt: skip
                search = Case("", "", [(None, code), ("call", "search.fit(X, y)")])
                phases, wall, cpu, _ = run_child(["-c", child_source(search)], cache_dir)
                search_rows.append({
                    "library": library, "n_jobs": n_jobs,
                    "search": f"{n_iter} x 3 folds, {n} x 10, {trees} trees",
                    "search s": phases["call"][0], "search CPU s (parent)": phases["call"][1],
                    "process s": wall, "process CPU s (all workers)": cpu})  # fmt: skip
                print(f"  {search_rows[-1]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return search_rows, startup_rows


def startup_row(library, phases, wall, cpu):
    first, second = phases["first fit"], phases["second fit"]
    overhead = [first[0] - second[0], first[1] - second[1]]
    row = {"library": library, "import sklearn.base s": phases["import"][0],
           "import sklearn.base CPU s": phases["import"][1]}  # fmt: skip
    if "import skextras.ensemble" in phases:
        row["import skextras.ensemble s"] = phases["import skextras.ensemble"][0]
    row.update({"import model s": phases["import model"][0],
                "import model CPU s": phases["import model"][1], "first fit s": first[0],
                "second fit s": second[0], "first - second s": overhead[0],
                "first - second CPU s": overhead[1], "process s": wall,
                "process CPU s": cpu})  # fmt: skip
    if library == "skextras":
        row["goal"] = f"first - second ≤ {WORKER_GOAL:g} s"
        row["met"] = "met" if min(overhead) <= WORKER_GOAL else "not met"
    return row


def keypoint_files(folder):
    """The map benchmark's synthetic people (100 images) as COCO json files in ``folder``."""
    from map import make_keypoint_data

    gt, dt = make_keypoint_data(100, 8, 12)
    paths = folder / "keypoints_gt.json", folder / "keypoints_dt.json"
    for path, obj in zip(paths, (gt, dt)):
        path.write_text(json.dumps(obj))
    return paths


ALL_CASES = ["imports", "newton", "gradient_boosting", "adaboost", "random_forest",
             "extra_trees", "coco_bbox", "coco_segm", "coco_keypoints", "dense_features",
             "cli", "workers"]  # fmt: skip
QUICK_CASES = ["imports", "newton", "random_forest", "coco_bbox", "dense_features", "workers"]
SMOKE_CASES = ["imports", "dense_features"]
COLUMNS = ["case", "library", "cache", "import s", "call s", "call CPU s", "compiled",
           "process s", "process CPU s", "goal", "met"]  # fmt: skip


def build_cases(names, scratch, smoke=False):
    cases = []
    for name in names:
        if name == "imports":
            cases += import_cases()[:2] if smoke else import_cases()
        elif name in TREES:
            cases += tree_cases(name)
        elif name in ("coco_bbox", "coco_segm", "cli") and not COCO.is_dir():
            print(f"{name}: skipped, {COCO} not found", file=sys.stderr)
        elif name in ("coco_bbox", "coco_segm"):
            iou_type = name.split("_")[1]
            cases += coco_cases(iou_type, (COCO_GT, COCO_DT[iou_type]))
        elif name == "coco_keypoints":
            cases += coco_cases("keypoints", keypoint_files(scratch))
        elif name == "dense_features":
            cases += dense_case()
        elif name == "cli":
            cases += cli_case()
    return cases


def prime_bytecode(scratch):
    """Write the .pyc files of every module the cases import (pip install does the same)."""
    code = "import skextras.ensemble, skextras.metrics, skextras.feature_columns, skextras.cli"
    subprocess.run([sys.executable, "-c", code], env=child_env(scratch), cwd=ROOT, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases (minutes)")
    parser.add_argument("--smoke", action="store_true", help="imports + one small case (CI)")
    parser.add_argument("--cases", nargs="+", choices=ALL_CASES, help="run only these")
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args(argv)
    names = args.cases or (SMOKE_CASES if args.smoke else QUICK_CASES if args.quick
                           else ALL_CASES)  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="skextras-cold-"))
    try:
        prime_bytecode(scratch)
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
        rows = run_cases(build_cases(names, scratch, args.smoke))
        print_table(rows, COLUMNS)
        result = {"load_average": load, "cases": rows}
        if "workers" in names:
            search, startup = worker_rows(args.quick, args.smoke)
            print("\nRandomizedSearchCV over the booster, warm numba cache:")
            print_table(search, list(search[0]))
            print("\nOne new process with a warm cache (a loky worker's start-up):")
            print_table(startup, list(dict.fromkeys(k for row in startup for k in row)))
            result.update(search=search, startup=startup)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
