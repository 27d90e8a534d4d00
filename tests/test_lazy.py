"""The lazy subpackage namespaces of skextras/_lazy.py."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["skextras.ensemble", "skextras.metrics", "skextras.feature_columns"]


def test_package_import_loads_no_heavy_dependency_in_a_new_process():
    code = (
        "import sys\n"
        f"for name in {PACKAGES!r}:\n"
        "    __import__(name)\n"
        "heavy = {'sklearn', 'numba', 'pandas', 'scipy', 'dask', 'torch'} & set(sys.modules)\n"
        "assert not heavy, sorted(heavy)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT), "PATH": ""})  # fmt: skip


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_to_its_defining_module(package):
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__) and dir(module) == module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        if hasattr(value, "__module__"):
            assert value.__module__.startswith(package), (name, value.__module__)
        assert getattr(module, name) is value


def test_from_import_of_a_lazy_name_gives_the_class():
    from skextras.ensemble import NewtonBoostingClassifier
    from skextras.ensemble._newton_boosting import NewtonBoostingClassifier as defined

    assert NewtonBoostingClassifier is defined


@pytest.mark.parametrize("package", PACKAGES)
def test_unknown_name_raises_attribute_error_naming_it(package):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match=f"{package}.*no_such_name"):
        module.no_such_name
    with pytest.raises(ImportError, match="no_such_name"):
        exec(f"from {package} import no_such_name")
