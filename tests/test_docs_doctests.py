"""Run the ``Examples`` sections of the public docstrings as doctests.

Every public module of skextras is collected; modules whose optional extra (torch,
gymnasium, dask, matplotlib) is not installed are skipped, so the default suite never
imports them.
Each module's examples run in a fresh namespace, torch (when installed) on one thread.
"""

import doctest
import importlib
import pkgutil

import pytest

import skextras

_EXTRAS = {
    "skextras.nn": "torch",
    "skextras.rl": "gymnasium",
    "skextras.ensemble.dask": "dask",
    "skextras.ensemble._plot": "matplotlib",
}


def _modules():
    names = []
    for info in pkgutil.walk_packages(skextras.__path__, "skextras.", onerror=lambda name: None):
        names.append(info.name)
    return sorted(names)


def _needs(modname):
    for prefix, extra in _EXTRAS.items():
        if modname == prefix or modname.startswith(prefix + "."):
            return extra
    return None


@pytest.fixture(autouse=True)
def _doctest_environment():
    try:
        import torch
    except ImportError:
        torch = None
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    yield
    if torch is not None:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("modname", _modules())
def test_docstring_examples_run_in_module(modname):
    extra = _needs(modname)
    if extra is not None:
        pytest.importorskip(extra)
    if extra == "matplotlib":
        import matplotlib

        matplotlib.use("Agg")  # the plotting examples draw off screen
    if modname.startswith("skextras.rl.ddpg"):
        pytest.importorskip("torch")
    module = importlib.import_module(modname)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = [t for t in finder.find(module, modname) if t.examples]
    for test in tests:
        # only docstrings of objects defined in this module (re-exports run where defined)
        runner.run(test)
    failures = runner.summarize(verbose=False).failed
    assert failures == 0, f"{failures} doctest example(s) failed in {modname}"
