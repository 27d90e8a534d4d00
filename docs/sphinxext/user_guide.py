"""Write the user guide's table of contents from the Markdown guides in ``docs/``.

Every ``docs/*.md`` guide is listed, the known ones in reading order and any new guide after
them alphabetically, so a guide added by another change is never an orphan page (which the
``-W`` build would reject).
"""

from pathlib import Path

ORDER = [
    "newton_boosting",
    "ensembles",
    "architecture",
    "scale",
    "metrics",
    "feature_columns",
    "nn",
    "vision",
    "sequence",
    "online_rl",
    "rl",
    "benchmarks",
    "security",
]


def write_user_guide(docs_dir):
    docs_dir = Path(docs_dir)
    found = {p.stem for p in docs_dir.glob("*.md")} - {"README"}
    names = [n for n in ORDER if n in found] + sorted(found - set(ORDER))
    lines = ["User guide", "==========", "", ".. toctree::", "   :maxdepth: 2", ""]
    text = "\n".join(lines + [f"   {n}" for n in names]) + "\n"
    page = docs_dir / "user_guide.rst"
    if not page.exists() or page.read_text() != text:
        page.write_text(text)
    return page
