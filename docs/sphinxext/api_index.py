"""Write the API reference index from the package itself, so no public name is forgotten.

Every public module that defines ``__all__`` (the subpackages, ``skextras.metrics.mask`` and
``skextras.ensemble.dask``) gets one section with an ``autosummary`` table whose entries
sphinx.ext.autosummary turns into one generated page per class or function. The torch
building blocks of ``skextras.nn`` (modules without ``__all__``) are listed from the public
functions and classes they define. Modules whose optional extra is missing are skipped with
a note instead of failing the build.
"""

import importlib
import inspect
from pathlib import Path

# (module, title, one-line description); the order is the reference's order.
SECTIONS = [
    ("skextras.ensemble", "Tree ensembles", "Estimators built on the histogram tree engine."),
    ("skextras.ensemble.dask", "Dask estimators", "The booster on a ``dask.distributed`` cluster."),
    ("skextras.callback", "Training callbacks", "XGBoost's callback protocol for every loop."),
    ("skextras.metrics", "Metrics", "COCO / VOC detection mAP, multilabel mAP, readers."),
    ("skextras.metrics.mask", "Mask API", "pycocotools' run-length-encoding functions."),
    ("skextras.feature_columns", "Feature columns", "TensorFlow-exact feature columns."),
    ("skextras.io", "TFRecord I/O", "TFRecord framing and the tf.Example codec."),
    ("skextras.datasets", "Datasets", "Small real data sets that ship in the wheel."),
    ("skextras.online", "Online estimation", "Stochastic approximation and streaming stats."),
    ("skextras.nn", "Torch estimators", "scikit-learn estimators trained by one torch loop."),
    ("skextras.nn.losses", "Losses", "Differentiable classification losses."),
    ("skextras.nn.attention", "Attention", "Softmax, linear and Performer attention, GAU."),
    ("skextras.nn.ssm", "State-space models", "S4D and the selective (Mamba) scan."),
    ("skextras.nn.vision", "Vision blocks", "EfficientNet, deformable conv, RoI ops."),
    ("skextras.nn.contrastive", "Contrastive learning", "InfoNCE and CPC."),
    ("skextras.nn.preference", "Preference optimisation", "DPO / IPO losses and policies."),
    ("skextras.rl", "Reinforcement learning", "GridWorld, planners, Monte Carlo, DDPG."),
]


def module_public_names(module):
    """The names a module publishes: its ``__all__``, else the classes and functions it
    defines whose names do not start with an underscore."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if n != "__version__" and not inspect.ismodule(getattr(module, n))]
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__
    )


def api_sections():
    """``[(module name, title, description, names or None if the extra is missing)]``."""
    sections = []
    for modname, title, description in SECTIONS:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            names = None
        else:
            names = module_public_names(module)
        sections.append((modname, title, description, names))
    return sections


def _sort_key(name):
    # classes first (CapWords), then functions, each alphabetically
    return (not name[:1].isupper(), name.lower())


def render_api_index():
    lines = [
        ".. _api:",
        "",
        "API reference",
        "=============",
        "",
        "One page per public class and function, generated from the docstrings. This index is",
        "itself generated from each module's ``__all__`` when the site is built.",
        "",
    ]
    for modname, title, description, names in api_sections():
        heading = f"{title}: :mod:`{modname}`"
        lines += [heading, "-" * len(heading), "", f".. module:: {modname}", "", description, ""]
        if names is None:
            note = f"   ``{modname}`` needs an optional extra that is not installed here."
            lines += [".. note::", note, ""]
            continue
        lines += [
            f".. currentmodule:: {modname}",
            "",
            ".. autosummary::",
            "   :toctree: generated/",
            "   :template: object.rst",
            "",
        ]
        lines += [f"   {name}" for name in sorted(names, key=_sort_key)]
        lines.append("")
    return "\n".join(lines)


def write_api_index(path):
    """Write the index to ``path`` only if its text changed (keeps incremental builds fast)."""
    path = Path(path)
    text = render_api_index()
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path
