"""Normalizing flows as density estimators: NICE, RealNVP and Glow.

A flow is an invertible map ``z = f(x)`` onto a standard normal latent, so the exact
log-likelihood is ``log N(f(x); 0, I) + log |det df/dx|``. Every layer here returns its
output and the per-sample log-determinant of its Jacobian, and knows its inverse.
The estimators first standardise the data with a fixed affine layer (its log-determinant is
included), so ``score_samples`` is the log-density of the raw ``X``.
"""

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skextras.nn._base import (
    TorchDensityMixin,
    TorchEstimator,
    TorchTransformerMixin,
    base_params,
    seeded_torch,
)
from skextras.nn.mlp import ACTIVATIONS, MLP

_LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z):
    """Log-density of N(0, I) summed over all but the first axis."""
    return -0.5 * (z.pow(2) + _LOG_2PI).flatten(1).sum(1)


# ---------------------------------------------------------------------- vector layers
class Standardize(torch.nn.Module):
    """Fixed ``(x - mean) / scale``, set from the data before training."""

    def __init__(self, shape):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("log_scale", torch.zeros(shape))

    def data_init(self, x):
        self.mean.copy_(x.mean(0))
        self.log_scale.copy_(x.std(0).clamp_min(1e-6).log())

    def forward(self, x):
        z = (x - self.mean) * torch.exp(-self.log_scale)
        return z, -self.log_scale.sum().expand(len(x))

    def inverse(self, z):
        return z * torch.exp(self.log_scale) + self.mean


class _Coupling(torch.nn.Module):
    """Transforms the coordinates outside ``mask`` conditioned on those inside it."""

    def __init__(self, mask, n_params, hidden, activation):
        super().__init__()
        self.register_buffer("cond", torch.nonzero(mask).flatten())
        self.register_buffer("free", torch.nonzero(~mask).flatten())
        n_free = len(self.free)
        self.net = MLP(len(self.cond), n_params * n_free, hidden, activation, zero_last=True)

    def _couple(self, x, transform):
        y = x.clone()
        y[:, self.free], logdet = transform(x[:, self.free], self.net(x[:, self.cond]))
        return y, logdet


class AdditiveCoupling(_Coupling):
    """NICE coupling ``y_free = x_free + m(x_cond)`` (volume preserving)."""

    def __init__(self, mask, hidden, activation):
        super().__init__(mask, 1, hidden, activation)

    def forward(self, x):
        return self._couple(x, lambda v, shift: (v + shift, x.new_zeros(len(x))))

    def inverse(self, y):
        return self._couple(y, lambda v, shift: (v - shift, None))[0]


class AffineCoupling(_Coupling):
    """RealNVP coupling ``y_free = x_free * exp(s(x_cond)) + t(x_cond)``.

    ``s = scale * tanh(raw)`` keeps the log-scale bounded early in training.
    """

    def __init__(self, mask, hidden, activation):
        super().__init__(mask, 2, hidden, activation)
        self.scale = torch.nn.Parameter(torch.ones(len(self.free)))

    def _split(self, params):
        raw, shift = params.chunk(2, dim=1)
        return self.scale * torch.tanh(raw), shift

    def forward(self, x):
        def transform(v, params):
            s, t = self._split(params)
            return v * torch.exp(s) + t, s.sum(1)

        return self._couple(x, transform)

    def inverse(self, y):
        def transform(v, params):
            s, t = self._split(params)
            return (v - t) * torch.exp(-s), None

        return self._couple(y, transform)[0]


class DiagonalScaling(torch.nn.Module):
    """NICE's last layer ``y = x * exp(s)``: the only volume change of a NICE flow."""

    def __init__(self, n_features):
        super().__init__()
        self.log_scale = torch.nn.Parameter(torch.zeros(n_features))

    def forward(self, x):
        return x * torch.exp(self.log_scale), self.log_scale.sum().expand(len(x))

    def inverse(self, y):
        return y * torch.exp(-self.log_scale)


class ActNorm(torch.nn.Module):
    """Glow's per-channel affine ``y = (x + b) * exp(s)``, initialised to unit variance.

    ``channel_dim`` is 1 and the log-determinant counts every spatial position for images.
    """

    def __init__(self, n_channels, n_spatial_dims=0):
        super().__init__()
        shape = (n_channels,) + (1,) * n_spatial_dims
        self.bias = torch.nn.Parameter(torch.zeros(shape))
        self.log_scale = torch.nn.Parameter(torch.zeros(shape))

    def data_init(self, x):
        dims = [0, *range(2, x.dim())]
        with torch.no_grad():
            self.bias.copy_(-x.mean(dims).reshape(self.bias.shape))
            std = x.std(dims).clamp_min(1e-6).reshape(self.bias.shape)
            self.log_scale.copy_(-std.log())

    def _spatial(self, x):
        return int(np.prod(x.shape[2:])) if x.dim() > 2 else 1

    def forward(self, x):
        logdet = self.log_scale.sum() * self._spatial(x)
        return (x + self.bias) * torch.exp(self.log_scale), logdet.expand(len(x))

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.bias


class InvertibleLinearLU(torch.nn.Module):
    """Glow's invertible linear map / 1x1 convolution with ``W = P L (U + diag(s))``.

    The LU parametrisation makes ``log |det W| = sum log |s|`` cost O(d). On images
    (4-D input) it mixes channels at every pixel: the invertible 1x1 convolution.
    """

    def __init__(self, n_channels, generator=None):
        super().__init__()
        if torch.empty(()).is_meta:  # load checking shapes: no values, no memory
            noise = torch.empty(n_channels, n_channels)
        else:
            noise = torch.randn(n_channels, n_channels, generator=generator)
        q, _ = torch.linalg.qr(noise)
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones_like(q), -1))
        self.lower = torch.nn.Parameter(lower)
        self.upper = torch.nn.Parameter(torch.triu(upper, 1))
        self.log_s = torch.nn.Parameter(torch.log(torch.abs(s)))

    def _factors(self):
        eye = torch.eye(len(self.log_s), dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return lower, upper

    def forward(self, x):
        lower, upper = self._factors()
        weight = self.perm @ lower @ upper
        spatial = int(np.prod(x.shape[2:])) if x.dim() > 2 else 1
        y = torch.einsum("ij,bj...->bi...", weight, x)
        return y, (self.log_s.sum() * spatial).expand(len(x))

    def inverse(self, y):
        lower, upper = self._factors()
        flat = y.movedim(1, -1).reshape(-1, y.shape[1]).T
        a = torch.linalg.solve_triangular(
            lower, self.perm.T @ flat, upper=False, unitriangular=True
        )
        x = torch.linalg.solve_triangular(upper, a, upper=True).T
        return x.reshape(*y.movedim(1, -1).shape).movedim(-1, 1)


class FlowSequence(torch.nn.Module):
    """A chain of flow layers on (n, d) vectors; ``forward`` returns the log-likelihood."""

    def __init__(self, n_features, layers):
        super().__init__()
        self.standardize = Standardize((n_features,))
        self.layers = torch.nn.ModuleList(layers)

    def data_init(self, x):
        self.standardize.data_init(x)
        h, _ = self.standardize(x)
        for layer in self.layers:
            if hasattr(layer, "data_init"):
                layer.data_init(h)
            h, _ = layer(h)

    def encode(self, x):
        z, logdet = self.standardize(x)
        for layer in self.layers:
            z, step = layer(z)
            logdet = logdet + step
        return z, logdet

    def decode(self, z):
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return self.standardize.inverse(z)

    def forward(self, x):
        z, logdet = self.encode(x)
        return standard_normal_log_prob(z) + logdet


# ---------------------------------------------------------------------- image layers (Glow)
def squeeze(x):
    """(n, c, h, w) -> (n, 4c, h/2, w/2): every 2x2 block becomes 4 channels."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    """Inverse of :func:`squeeze`."""
    n, c, h, w = x.shape
    x = x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, 2 * h, 2 * w)


class ConvAffineCoupling(torch.nn.Module):
    """Glow's affine coupling on channels: the second half is scaled and shifted by a CNN
    of the first half (3x3 conv, 1x1 conv, zero-initialised 3x3 conv)."""

    def __init__(self, n_channels, width, activation):
        super().__init__()
        half = n_channels // 2
        last = torch.nn.Conv2d(width, 2 * (n_channels - half), 3, padding=1)
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
        act = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU}.get(activation, torch.nn.SiLU)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(half, width, 3, padding=1),
            act(),
            torch.nn.Conv2d(width, width, 1),
            act(),
            last,
        )
        self.half = half

    def _params(self, cond):
        raw, shift = self.net(cond).chunk(2, dim=1)
        return torch.tanh(raw), shift

    def forward(self, x):
        cond, free = x[:, : self.half], x[:, self.half :]
        s, t = self._params(cond)
        return torch.cat([cond, free * torch.exp(s) + t], 1), s.flatten(1).sum(1)

    def inverse(self, y):
        cond, free = y[:, : self.half], y[:, self.half :]
        s, t = self._params(cond)
        return torch.cat([cond, (free - t) * torch.exp(-s)], 1)


class MultiScaleGlow(torch.nn.Module):
    """Glow on images: per level squeeze, ``n_steps`` x (actnorm, 1x1 conv, coupling), then
    half of the channels are factored out to the latent (all of them at the last level)."""

    def __init__(self, image_shape, n_levels, n_steps, width, activation, generator):
        super().__init__()
        c, h, w = image_shape
        if h % 2**n_levels or w % 2**n_levels:
            raise ValueError(
                f"image_shape={tuple(image_shape)} must have height and width divisible by "
                f"2**n_levels = {2**n_levels}"
            )
        self.image_shape = tuple(image_shape)
        self.standardize = Standardize(self.image_shape)
        self.levels = torch.nn.ModuleList()
        for _ in range(n_levels):
            c *= 4
            steps = []
            for _ in range(n_steps):
                steps += [
                    ActNorm(c, 2),
                    InvertibleLinearLU(c, generator),
                    ConvAffineCoupling(c, width, activation),
                ]
            self.levels.append(torch.nn.ModuleList(steps))
            c //= 2

    def _image(self, x):
        return x.reshape(len(x), *self.image_shape)

    def data_init(self, x):
        self.standardize.data_init(self._image(x))
        h, _ = self.standardize(self._image(x))
        for i, level in enumerate(self.levels):
            h = squeeze(h)
            for layer in level:
                if hasattr(layer, "data_init"):
                    layer.data_init(h)
                h, _ = layer(h)
            if i < len(self.levels) - 1:
                h = h[:, : h.shape[1] // 2]

    def encode(self, x):
        h, logdet = self.standardize(self._image(x))
        latents = []
        for i, level in enumerate(self.levels):
            h = squeeze(h)
            for layer in level:
                h, step = layer(h)
                logdet = logdet + step
            if i < len(self.levels) - 1:
                h, out = h.chunk(2, dim=1)
                latents.append(out.flatten(1))
        latents.append(h.flatten(1))
        return torch.cat(latents, 1), logdet

    def decode(self, z):
        shapes, c, size = [], self.image_shape[0], self.image_shape[1:]
        for i in range(len(self.levels)):
            c, size = c * 4, (size[0] // 2, size[1] // 2)
            last = i == len(self.levels) - 1
            shapes.append((c if last else c // 2, *size))
            c = c if last else c // 2
        sizes = [int(np.prod(s)) for s in shapes]
        parts = list(torch.split(z, sizes, dim=1))
        h = parts[-1].reshape(len(z), *shapes[-1])
        for i in reversed(range(len(self.levels))):
            if i < len(self.levels) - 1:
                h = torch.cat([h, parts[i].reshape(len(z), *shapes[i])], 1)
            for layer in reversed(self.levels[i]):
                h = layer.inverse(h)
            h = unsqueeze(h)
        return self.standardize.inverse(h).flatten(1)

    def forward(self, x):
        z, logdet = self.encode(x)
        return standard_normal_log_prob(z) + logdet


# ---------------------------------------------------------------------- estimators
def _masks(n_features, n_layers):
    """Alternating even / odd coordinate masks: a coordinate changes every other layer."""
    # On the CPU even while load builds the network on the meta device (nonzero needs values).
    parity = torch.arange(n_features, device="cpu") % 2
    return [parity == (k % 2) for k in range(n_layers)]


_FLOW_CONSTRAINTS = {
    **TorchEstimator._parameter_constraints,
    "hidden_layer_sizes": [tuple, list],
    "activation": [StrOptions(set(ACTIVATIONS))],
}


class _FlowEstimator(TorchDensityMixin, TorchTransformerMixin, TorchEstimator):
    """Density estimation, sampling and the latent transform every flow shares."""

    def _make_fit_data(self, X, y, reset):
        (X,) = TorchDensityMixin._make_fit_data(self, X, y, reset)
        if reset:
            self._check_n_features(X.shape[1])
            self._n_features_out = X.shape[1]
        return (X,)

    def _check_n_features(self, n_features):
        if n_features < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 features to couple; got "
                f"n_features={n_features}"
            )

    def _data_init(self, module, data):
        module.data_init(data[0][:4096])

    def _compute_loss(self, module, batch):
        return -module(batch[0]).mean()

    def score_samples(self, X):
        """Log-likelihood of each sample (nats), shape (n_samples,)."""
        return self._apply(self.module_, self._validated(X)).astype(np.float64)

    def transform(self, X):
        """Latent code ``z = f(x)`` (standard normal under the model), same width as ``X``."""
        return self._apply(lambda x: self.module_.encode(x)[0], self._validated(X)).astype(float)

    def inverse_transform(self, Z):
        """Data ``x = f^{-1}(z)`` of latent codes ``Z`` of shape (n_samples, n_features_in_)."""
        return self._apply(self.module_.decode, self._validated_codes(Z)).astype(float)

    def sample(self, n_samples=1, random_state=None):
        """Draw ``n_samples`` from the model: decode standard normal latents.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        with seeded_torch(random_state, self.device_):
            z = torch.randn(n_samples, self._n_features_out).numpy()
        return self._apply(self.module_.decode, z).astype(float)

    def _fitted_state(self):
        return {"_n_features_out": self._n_features_out}


class NICEFlow(_FlowEstimator):
    """NICE (Dinh et al., 2015): additive couplings followed by a diagonal scaling.

    Additive couplings preserve volume, so the diagonal scaling is the only change of
    density and the couplings must bend the space by shears alone. In two dimensions each
    coordinate gets ``n_couplings / 2`` shears: with 4 (the paper's choice for images) the
    flow reaches a good likelihood on two-moons but leaves a low-density bridge of mass
    between the moons, and its samples are further from the data than a fitted Gaussian's
    (energy distance 0.021 vs 0.018). This is the model's density, not a sampling defect:
    the off-data samples have log-densities about 2 nats below the on-data ones, and
    truncating the latent draws (``|z| < 2``) makes the energy distance worse, not better.
    8 couplings give 0.004 (see docs/nn.md), hence the default.

    Parameters
    ----------
    n_couplings : int, default=8
        Number of additive coupling layers (alternating halves of the coordinates).
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of each coupling network.
    activation : str, default="relu"
        Activation of the coupling networks (see :class:`~skextras.nn.MLPClassifier`).
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    module_ : FlowSequence
        ``module_(x)`` is the log-likelihood; ``encode`` / ``decode`` map to / from latents.
    history_ : list of dict
        Per-epoch mean negative log-likelihood (``train_loss``, nats per sample).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import NICEFlow
    >>> X, _ = make_moons(256, noise=0.05, random_state=0)
    >>> flow = NICEFlow(n_couplings=2, hidden_layer_sizes=(16,), max_epochs=5,
    ...                 random_state=0).fit(X)
    >>> flow.score_samples(X[:3]).shape, flow.sample(4, random_state=0).shape
    ((3,), (4, 2))
    """

    _parameter_constraints = {
        **_FLOW_CONSTRAINTS,
        "n_couplings": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_couplings=8,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        *,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.n_couplings = n_couplings
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        d, hidden = self.n_features_in_, tuple(self.hidden_layer_sizes)
        layers = [AdditiveCoupling(m, hidden, self.activation) for m in _masks(d, self.n_couplings)]
        return FlowSequence(d, [*layers, DiagonalScaling(d)])


class RealNVPFlow(_FlowEstimator):
    """RealNVP (Dinh et al., 2017): affine couplings on alternating halves.

    Parameters
    ----------
    n_couplings : int, default=6
        Number of affine coupling layers.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of each coupling network (it outputs log-scale and shift).
    activation : str, default="relu"
        Activation of the coupling networks.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import RealNVPFlow
    >>> X, _ = make_moons(256, noise=0.05, random_state=0)
    >>> flow = RealNVPFlow(n_couplings=2, hidden_layer_sizes=(16,), max_epochs=5,
    ...                    random_state=0).fit(X)
    >>> flow.transform(X).shape
    (256, 2)
    """

    _parameter_constraints = NICEFlow._parameter_constraints

    def __init__(
        self,
        n_couplings=6,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        *,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.n_couplings = n_couplings
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        d, hidden = self.n_features_in_, tuple(self.hidden_layer_sizes)
        masks = _masks(d, self.n_couplings)
        return FlowSequence(d, [AffineCoupling(m, hidden, self.activation) for m in masks])


class GlowFlow(_FlowEstimator):
    """Glow (Kingma & Dhariwal, 2018): steps of actnorm, invertible linear map, affine coupling.

    On vectors a step is ``ActNorm -> InvertibleLinearLU -> AffineCoupling``. With
    ``image_shape=(C, H, W)`` (``X`` holds flattened images, C-major) the model is the
    multi-scale architecture: per level a squeeze, ``n_steps`` steps with invertible 1x1
    convolutions and convolutional couplings, then half of the channels are factored out.

    Parameters
    ----------
    n_steps : int, default=4
        Flow steps (per level for images).
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Coupling network widths (for images, the first is the number of conv channels).
    activation : str, default="relu"
        Coupling network activation.
    image_shape : tuple of 3 int or None, default=None
        ``(channels, height, width)`` of flattened image rows; ``None`` for vectors.
    n_levels : int, default=2
        Number of scales of the image architecture (height and width divisible by
        ``2**n_levels``).
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import GlowFlow
    >>> X, _ = make_moons(256, noise=0.05, random_state=0)
    >>> flow = GlowFlow(n_steps=2, hidden_layer_sizes=(16,), max_epochs=5, random_state=0).fit(X)
    >>> flow.inverse_transform(flow.transform(X[:2])).shape
    (2, 2)
    """

    _parameter_constraints = {
        **_FLOW_CONSTRAINTS,
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_steps=4,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        *,
        image_shape=None,
        n_levels=2,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.n_steps = n_steps
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.image_shape = image_shape
        self.n_levels = n_levels
        TorchEstimator.__init__(self, **base_params(locals()))

    def _check_n_features(self, n_features):
        if self.image_shape is None:
            return super()._check_n_features(n_features)
        if len(self.image_shape) != 3 or int(np.prod(self.image_shape)) != n_features:
            raise ValueError(
                f"image_shape={tuple(self.image_shape)} does not match X with {n_features} features"
            )

    def _build_module(self):
        generator = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, (), device="cpu")))
        hidden = tuple(self.hidden_layer_sizes)
        if self.image_shape is not None:
            return MultiScaleGlow(
                self.image_shape, self.n_levels, self.n_steps, hidden[0], self.activation, generator
            )
        d = self.n_features_in_
        half = torch.arange(d, device="cpu") < d // 2
        layers = []
        for _ in range(self.n_steps):
            layers += [
                ActNorm(d),
                InvertibleLinearLU(d, generator),
                AffineCoupling(half, hidden, self.activation),
            ]
        return FlowSequence(d, layers)
