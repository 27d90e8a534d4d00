"""The API reference lists every public name: each module's ``__all__`` (found by walking the
package, not from the docs' own list) appears in the generated autosummary index and resolves
to the object it names; after a site build (``SKEXTRAS_BUILT_DOCS=docs/_build/html``) every
name has its HTML page."""

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
from sphinx.ext.autosummary import import_by_name  # noqa: E402
from sphinx.ext.autosummary.generate import find_autosummary_in_files  # noqa: E402

import skextras  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "sphinxext"))
import api_index  # noqa: E402


def public_names():
    """``{module: names}`` of every importable public skextras module that has ``__all__``."""
    found = {}
    for info in pkgutil.walk_packages(skextras.__path__, "skextras.", onerror=lambda name: None):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra (torch, gymnasium, dask) is not installed
            continue
        names = [
            n
            for n in getattr(module, "__all__", ())
            if n != "__version__" and not hasattr(getattr(module, n), "__path__")
        ]
        if names:
            found[info.name] = names
    return found


@pytest.fixture(scope="module")
def index_entries(tmp_path_factory):
    path = api_index.write_api_index(tmp_path_factory.mktemp("api") / "index.rst")
    return find_autosummary_in_files([str(path)]), path.read_text()


def test_public_modules_found_include_every_subpackage():
    found = public_names()
    for sub in ("datasets", "ensemble", "feature_columns", "io", "metrics", "online"):
        assert f"skextras.{sub}" in found
    assert sum(map(len, found.values())) >= 60


def test_api_index_lists_every_public_name_once_per_module(index_entries):
    entries, text = index_entries
    listed = {}
    module = None
    for line in text.splitlines():
        if line.startswith(".. currentmodule:: "):
            module = line.split()[-1]
        elif line.startswith("   ") and line.strip() and not line.strip().startswith(":"):
            listed.setdefault(module, []).append(line.strip())
    for module, names in public_names().items():
        assert module in listed, f"{module} has no section in the API index"
        missing = sorted(set(names) - set(listed[module]))
        assert not missing, f"{module}: not in the API index: {missing}"
        assert len(listed[module]) == len(set(listed[module]))
    assert {e.template for e in entries} == {"object.rst"}
    assert all(Path(e.path).name == "generated" for e in entries)


def test_api_index_entries_resolve_to_the_public_objects(index_entries):
    _, text = index_entries
    module = None
    checked = 0
    for line in text.splitlines():
        if line.startswith(".. currentmodule:: "):
            module = line.split()[-1]
        elif line.startswith("   ") and line.strip() and not line.strip().startswith(":"):
            name = line.strip()
            full, obj, _, modname = import_by_name(name, prefixes=[module])
            assert obj is getattr(importlib.import_module(module), name)
            assert full == f"{module}.{name}"
            checked += 1
    assert checked >= sum(map(len, public_names().values()))


def test_every_public_class_and_function_in_the_api_index_has_examples():
    # numpydoc "Examples" section (run by tests/test_docs_doctests.py); data such as a
    # dict of scorers has no docstring of its own and is not held to it
    missing, checked = [], 0
    for modname, _, _, names in api_index.api_sections():
        if names is None:  # the module's optional extra is not installed
            continue
        module = importlib.import_module(modname)
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            checked += 1
            lines = (inspect.getdoc(obj) or "").splitlines()
            has_examples = any(
                line == "Examples" and nxt.startswith("--------")
                for line, nxt in zip(lines, lines[1:], strict=False)
            )
            if not has_examples:
                missing.append(f"{modname}.{name}")
    assert checked >= 60
    assert not missing, f"public names without an Examples section: {missing}"


def test_built_site_has_an_api_page_per_public_name():
    built = os.environ.get("SKEXTRAS_BUILT_DOCS")
    if not built:
        pytest.skip("set SKEXTRAS_BUILT_DOCS=docs/_build/html after building the site")
    generated = Path(built) / "api" / "generated"
    index = (Path(built) / "api" / "index.html").read_text()
    for module, names in public_names().items():
        for name in names:
            page = generated / f"{module}.{name}.html"
            assert page.is_file(), f"no API page {page}"
            assert name in page.read_text()
            assert f"generated/{module}.{name}.html" in index
