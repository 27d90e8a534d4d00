"""Write the benchmark results page from the JSON the benchmark scripts write with ``--json``.

Each ``benchmarks/results/<script>.json`` holds the tables one run printed (see
``benchmarks/_common.py``). The page shows every table and, for tables with a ``library``
column, a bar chart of each timing column (``... s`` or ``ms``) per data set, ours beside the
peers, so a reader sees ratios at a glance. Figures are drawn with matplotlib's Agg backend
into ``docs/_generated_benchmarks/``.
"""

import json
from pathlib import Path

_INTRO = """\
.. _benchmark-results:

Benchmark results
=================

Drawn from the JSON files in ``benchmarks/results/``, which the benchmark scripts write with
``--json`` (for example ``python benchmarks/boosting.py --quick --json
benchmarks/results/boosting.json``). Each run says its mode, thread count and the machine's
load average; wall times on the shared 2-core development machine move by up to 2x between
runs, so read the ratios within one run. The discussion of every benchmark is in
:doc:`benchmarks`.
"""


def _is_time_column(name):
    return name.endswith(" s") or name.endswith(" ms") or name in {"s", "ms"}


def _numeric(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _group_column(columns):
    return next((c for c in columns if c not in {"library"} and not _is_time_column(c)), None)


def _plot(table, column, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in table["rows"] if _numeric(r.get(column))]
    group = _group_column(table["columns"])
    groups = list(dict.fromkeys(str(r.get(group, "")) for r in rows))
    libraries = list(dict.fromkeys(str(r["library"]) for r in rows))
    width = 0.8 / max(len(libraries), 1)
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(groups) * len(libraries)))
    for i, library in enumerate(libraries):
        ys, xs = [], []
        for j, g in enumerate(groups):
            match = [r for r in rows if str(r["library"]) == library and str(r.get(group)) == g]
            if match:
                ys.append(j + i * width)
                xs.append(match[0][column])
        color = "C3" if library.startswith("skextras") else f"C{i % 3}"
        ax.barh(ys, xs, height=width * 0.9, label=library, color=color)
    ax.set_yticks([j + width * (len(libraries) - 1) / 2 for j in range(len(groups))], groups)
    ax.invert_yaxis()
    ax.set_xlabel(column + " (lower is better)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _rst_table(table):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for i, row in enumerate([dict(zip(table["columns"], table["columns"])), *table["rows"]]):
        for k, column in enumerate(table["columns"]):
            value = row.get(column, "")
            if i and _numeric(value) and not isinstance(value, int):
                value = f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
            text = str(value).replace("|", "\\|") or " "
            lines.append(f"   {'* -' if k == 0 else '  -'} {text}")
    return lines + [""]


def render(results_dir, figures_dir, docs_dir):
    """Return the page's reST text, drawing the figures into ``figures_dir``."""
    lines = [_INTRO]
    files = sorted(Path(results_dir).glob("*.json"))
    if not files:
        lines.append("No results recorded yet.\n")
    for path in files:
        doc = json.loads(path.read_text())
        title = f"``benchmarks/{doc['script']}``"
        lines += [title, "-" * len(title), ""]
        lines += [
            f"{doc['mode']} mode, {doc['threads']} threads, {doc['date']}, "
            f"load average {doc['load_average']}.",
            "",
        ]
        if doc["mode"] == "smoke" or doc["load_average"] > 4:
            lines += [
                ".. warning::",
                "   A smoke-mode run or a loaded machine: tiny data or other jobs dominate these",
                "   times, so they check the pipeline, not the speed. Rerun in full mode on an",
                "   idle machine for numbers to compare.",
                "",
            ]
        for t, table in enumerate(doc["tables"]):
            if "library" in table["columns"]:
                for column in filter(_is_time_column, table["columns"]):
                    figure = Path(figures_dir) / f"{path.stem}_{t}_{column.split()[0]}.png"
                    _plot(table, column, figure)
                    lines += [
                        f".. image:: /{figure.relative_to(docs_dir).as_posix()}",
                        f"   :alt: {column} per library, {path.stem}",
                        "",
                    ]
            lines += _rst_table(table)
    return "\n".join(lines)


def write_benchmarks_page(results_dir, page):
    page = Path(page)
    figures = page.parent / "_generated_benchmarks"
    figures.mkdir(exist_ok=True)
    text = render(results_dir, figures, page.parent)
    if not page.exists() or page.read_text() != text:
        page.write_text(text)
    return page
