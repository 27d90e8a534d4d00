"""Torch-backed estimators (needs the ``torch`` extra: ``pip install "skextras[torch]"``).

Every model here is a scikit-learn estimator trained by one loop,
:class:`~skextras.nn.TorchEstimator`: AdamW, learning-rate schedules, early stopping with
best-weight restore, gradient clipping, reproducible seeding, ``partial_fit``, devices,
``save`` / ``load`` of state dicts and distributed data-parallel training.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'skextras.nn needs torch: install it with pip install "skextras[torch]"'
    ) from exc

from skextras.nn._base import (
    TorchClassifier,
    TorchClassifierMixin,
    TorchDensityMixin,
    TorchEstimator,
    TorchRegressor,
    TorchRegressorMixin,
    TorchTransformerMixin,
)
from skextras.nn.contrastive import CPC
from skextras.nn.diffusion import DiffusionModel, RectifiedFlow
from skextras.nn.flows import GlowFlow, NICEFlow, RealNVPFlow
from skextras.nn.mlp import MLPClassifier, MLPRegressor
from skextras.nn.preference import DPOPolicy
from skextras.nn.sequence import SequenceClassifier, SequenceRegressor
from skextras.nn.vae import VAE, GumbelSoftmaxVAE
from skextras.nn.vision import ImageClassifier

__all__ = [
    "CPC",
    "DiffusionModel",
    "DPOPolicy",
    "RectifiedFlow",
    "GlowFlow",
    "GumbelSoftmaxVAE",
    "ImageClassifier",
    "NICEFlow",
    "RealNVPFlow",
    "SequenceClassifier",
    "SequenceRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "TorchClassifier",
    "TorchClassifierMixin",
    "TorchDensityMixin",
    "TorchEstimator",
    "TorchRegressor",
    "TorchRegressorMixin",
    "TorchTransformerMixin",
    "VAE",
]
