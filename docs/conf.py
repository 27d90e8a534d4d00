"""Sphinx configuration of the skextras site: user guide (the Markdown guides in this folder,
read by myst-parser), API reference (autosummary pages generated from ``__all__``), gallery
(sphinx-gallery over ``examples/``) and the benchmarks page.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` from the repository
root (needs the ``docs`` extra; the gallery needs the ``torch`` and ``rl`` extras too).
The build never touches the network: intersphinx links to scikit-learn, numpy, pandas and
torch are made only from inventories found in ``docs/_intersphinx/`` (``<name>.inv``), or
from the live sites when ``SKEXTRAS_DOCS_ONLINE=1`` is set.
"""

import os
import re
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "sphinxext"))

from api_index import write_api_index  # noqa: E402
from benchmarks_page import write_benchmarks_page  # noqa: E402
from user_guide import write_user_guide  # noqa: E402

import skextras  # noqa: E402

project = "skextras"
author = "the skextras developers"
copyright = "2026, the skextras developers"  # noqa: A001
version = release = skextras.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "sphinxext", "**/README.md", "auto_examples/*.ipynb"]

# -- generated sources ------------------------------------------------------------------------
write_api_index(DOCS / "api" / "index.rst")
write_user_guide(DOCS)
write_benchmarks_page(ROOT / "benchmarks" / "results", DOCS / "benchmark_results.rst")

# -- autodoc / autosummary / numpydoc ---------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- myst (the Markdown guides) ---------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 4

# -- intersphinx, offline unless asked ---------------------------------------------------------
_INTERSPHINX = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "sklearn": "https://scikit-learn.org/stable",
    "pandas": "https://pandas.pydata.org/docs",
    "torch": "https://docs.pytorch.org/docs/stable",
}
_ONLINE = os.environ.get("SKEXTRAS_DOCS_ONLINE") == "1"
intersphinx_mapping = {}
for _name, _url in _INTERSPHINX.items():
    _local = DOCS / "_intersphinx" / f"{_name}.inv"
    if _local.is_file():
        intersphinx_mapping[_name] = (_url, str(_local))
    elif _ONLINE:
        intersphinx_mapping[_name] = (_url, None)
intersphinx_timeout = 5

# -- sphinx-gallery ----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "backreferences_dir": "api/backreferences",
    "doc_module": ("skextras",),
    "reference_url": {"skextras": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": False,
}
if os.environ.get("SKEXTRAS_DOCS_NO_GALLERY") == "1":
    sphinx_gallery_conf["plot_gallery"] = "False"

# numba announces its cache misses and matplotlib its Agg backend as UserWarnings; neither is
# a documentation problem.
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skextras {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "benchmark_results": []}
html_show_sourcelink = True


# -- docstring hygiene for reST --------------------------------------------------------------
# Docstrings are written to read well as plain text (``help()``); in reST a word ending in
# ``_`` is a hyperlink reference (``n_features_in_``) and ``*x`` opens emphasis. Escape both
# outside literals, and leave out the methods scikit-learn adds to every estimator for
# metadata routing (documented by scikit-learn itself).
_LITERAL = re.compile(r"(``.*?``|`[^`]*`)")
_TRAILING_UNDERSCORE = re.compile(r"(?<![\\\w`])([A-Za-z]\w*?)_(?=[\s,.;:)\]]|$)")
_LONE_STAR = re.compile(r"(?<=[(,\s])\*(?=\w)")


def _escape_rest(line):
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):
        parts[i] = _TRAILING_UNDERSCORE.sub(r"\1\\_", parts[i])
        parts[i] = _LONE_STAR.sub(r"\\*", parts[i])
    return "".join(parts)


def _process_docstring(app, what, name, obj, options, lines):
    block_indent = None  # indentation of the line that opened a literal block ("::")
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and (not stripped or indent > block_indent):
            continue
        block_indent = indent if stripped.endswith("::") else None
        if not stripped.startswith((">>>", "...", "..")):
            lines[i] = _escape_rest(line)


def _skip_member(app, what, name, obj, skip, options):
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn.") or name == "get_metadata_routing":
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    app.connect("autodoc-skip-member", _skip_member)
