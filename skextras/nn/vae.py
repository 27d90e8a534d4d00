"""Variational auto-encoders: a Gaussian latent and a categorical (Gumbel-softmax) latent.

Both maximise the evidence lower bound ``E_q[log p(x|z)] - beta KL(q(z|x) || p(z))`` with a
reparameterised sample of ``z``: ``mu + sigma * eps`` for the Gaussian (Kingma & Welling,
2014), the Gumbel-softmax relaxation ``softmax((logits + g) / tau)`` for the categorical
latent (Jang et al., 2017; Maddison et al., 2017), optionally straight-through (one-hot
forward, relaxed gradient backward).
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skextras.nn._base import TorchEstimator, TorchTransformerMixin, base_params, seeded_torch
from skextras.nn.mlp import ACTIVATIONS, MLP

_LOG_2PI = math.log(2 * math.pi)


def reconstruction_nll(output, x, likelihood, log_scale):
    """``-log p(x | z)`` per sample: Bernoulli on logits, or Gaussian with per-feature scale."""
    if likelihood == "bernoulli":
        nll = torch.nn.functional.binary_cross_entropy_with_logits(output, x, reduction="none")
    else:
        nll = 0.5 * ((x - output) * torch.exp(-log_scale)) ** 2 + log_scale + 0.5 * _LOG_2PI
    return nll.sum(1)


class _VAEModule(torch.nn.Module):
    """Encoder, decoder and decoder noise scale shared by both VAEs."""

    def __init__(self, n_features, n_code, n_encoder_out, hidden, activation, likelihood, beta):
        super().__init__()
        self.encoder = MLP(n_features, n_encoder_out, hidden, activation)
        self.decoder = MLP(n_code, n_features, tuple(reversed(hidden)), activation)
        # Learned per-feature noise of the Gaussian likelihood, bounded below so that
        # constant features cannot drive the likelihood to infinity.
        self.log_scale = torch.nn.Parameter(torch.zeros(n_features))
        self.likelihood = likelihood
        self.beta = beta

    def decoded_mean(self, code):
        out = self.decoder(code)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def negative_elbo(self, x, code, kl):
        log_scale = self.log_scale.clamp(min=math.log(1e-2))
        return (
            reconstruction_nll(self.decoder(code), x, self.likelihood, log_scale) + self.beta * kl
        )


class GaussianVAEModule(_VAEModule):
    """``q(z|x) = N(mu(x), diag sigma(x)^2)``, prior ``N(0, I)``; ``forward`` is -ELBO."""

    def __init__(self, n_features, n_components, hidden, activation, likelihood, beta):
        super().__init__(
            n_features, n_components, 2 * n_components, hidden, activation, likelihood, beta
        )

    def encode(self, x):
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        return mu, log_var

    def forward(self, x):
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(1)
        return self.negative_elbo(x, z, kl)


class CategoricalVAEModule(_VAEModule):
    """``n_latents`` categorical variables of ``n_categories`` each, uniform prior;
    ``forward`` is -ELBO with a Gumbel-softmax sample at ``temperature``."""

    def __init__(
        self, n_features, n_latents, n_categories, hidden, activation, likelihood, beta, hard
    ):
        n_code = n_latents * n_categories
        super().__init__(n_features, n_code, n_code, hidden, activation, likelihood, beta)
        self.shape = (n_latents, n_categories)
        self.hard = hard
        self.temperature = 1.0

    def logits(self, x):
        return self.encoder(x).reshape(len(x), *self.shape)

    def forward(self, x):
        logits = self.logits(x)
        code = torch.nn.functional.gumbel_softmax(logits, tau=self.temperature, hard=self.hard)
        log_q = torch.log_softmax(logits, -1)
        kl = (log_q.exp() * (log_q + math.log(self.shape[1]))).sum((1, 2))
        return self.negative_elbo(x, code.flatten(1), kl)


_VAE_CONSTRAINTS = {
    **TorchEstimator._parameter_constraints,
    "hidden_layer_sizes": [tuple, list],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "likelihood": [StrOptions({"gaussian", "bernoulli"})],
    "beta": [Interval(Real, 0, None, closed="left")],
}


class _VAEEstimator(TorchTransformerMixin, TorchEstimator):
    """Fit / ELBO / reconstruction plumbing shared by both VAEs."""

    def _make_fit_data(self, X, y, reset):
        (X,) = super()._make_fit_data(X, y, reset)
        if self.likelihood == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"likelihood='bernoulli' needs X in [0, 1]; got values in "
                f"[{X.min():.3g}, {X.max():.3g}] (scale X, e.g. with MinMaxScaler)"
            )
        return (X,)

    def _compute_loss(self, module, batch):
        return module(batch[0]).mean()

    def elbo(self, X, random_state=0):
        """Evidence lower bound of each sample (nats; one reparameterised draw, seeded)."""
        X = self._validated(X)
        with seeded_torch(random_state, self.device_):
            return -self._apply(self.module_, X).astype(np.float64)

    def score(self, X, y=None):
        """Mean ELBO of ``X`` (higher is better), so model selection can compare fits."""
        return float(np.mean(self.elbo(X)))

    def inverse_transform(self, Z):
        """Decoded data means (probabilities for ``likelihood="bernoulli"``) of codes ``Z``."""
        return self._apply(self.module_.decoded_mean, self._validated_codes(Z)).astype(float)

    def _fitted_state(self):
        return {"_n_features_out": self._n_features_out}


class VAE(_VAEEstimator):
    """Variational auto-encoder with a Gaussian latent (Kingma & Welling, 2014).

    Parameters
    ----------
    n_components : int, default=2
        Latent dimension.
    hidden_layer_sizes : tuple of int, default=(128,)
        Encoder widths (the decoder mirrors them).
    activation : str, default="relu"
        Activation of encoder and decoder.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder distribution: Gaussian with a learned per-feature scale (bounded below by
        0.01), or Bernoulli on logits for data in [0, 1].
    beta : float, default=1.0
        Weight of the KL term (beta-VAE).
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    module_ : GaussianVAEModule
    history_ : list of dict
        Per-epoch mean negative ELBO (``train_loss``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skextras.nn import VAE
    >>> X = load_digits().data / 16
    >>> vae = VAE(2, likelihood="bernoulli", max_epochs=3, random_state=0).fit(X)
    >>> vae.transform(X[:5]).shape, vae.sample(3, random_state=0).shape
    ((5, 2), (3, 64))
    """

    _parameter_constraints = {
        **_VAE_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        hidden_layer_sizes=(128,),
        activation="relu",
        *,
        likelihood="gaussian",
        beta=1.0,
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
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.beta = beta
        TorchEstimator.__init__(self, **base_params(locals()))

    def _make_fit_data(self, X, y, reset):
        if reset:
            self._n_features_out = self.n_components
        return super()._make_fit_data(X, y, reset)

    def _build_module(self):
        return GaussianVAEModule(
            self.n_features_in_,
            self.n_components,
            tuple(self.hidden_layer_sizes),
            self.activation,
            self.likelihood,
            self.beta,
        )

    def transform(self, X):
        """Posterior means ``mu(x)``, shape (n_samples, n_components)."""
        return self._apply(lambda x: self.module_.encode(x)[0], self._validated(X)).astype(float)

    def sample(self, n_samples=1, random_state=None):
        """Decoded means of ``z ~ N(0, I)``, shape (n_samples, n_features_in_)."""
        check_is_fitted(self)
        with seeded_torch(random_state, self.device_):
            z = torch.randn(n_samples, self.n_components).numpy()
        return self._apply(self.module_.decoded_mean, z).astype(float)


class GumbelSoftmaxVAE(_VAEEstimator):
    """VAE with categorical latents trained through the Gumbel-softmax relaxation.

    The temperature is annealed per epoch, ``tau = max(min_temperature,
    temperature * exp(-anneal_rate * epoch))``.

    Parameters
    ----------
    n_latents : int, default=8
        Number of categorical latent variables.
    n_categories : int, default=8
        Categories per latent variable.
    hidden_layer_sizes : tuple of int, default=(128,)
        Encoder widths (the decoder mirrors them).
    activation : str, default="relu"
        Activation of encoder and decoder.
    temperature : float, default=1.0
        Initial Gumbel-softmax temperature.
    min_temperature : float, default=0.5
        Floor of the annealed temperature.
    anneal_rate : float, default=0.01
        Exponential decay rate of the temperature per epoch.
    straight_through : bool, default=False
        Use one-hot samples in the forward pass with the relaxed gradient (straight-through
        Gumbel-softmax).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder distribution, as in :class:`VAE`.
    beta : float, default=1.0
        Weight of the KL term to the uniform prior.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    module_ : CategoricalVAEModule
    temperature_ : float
        Temperature of the last epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skextras.nn import GumbelSoftmaxVAE
    >>> X = load_digits().data / 16
    >>> vae = GumbelSoftmaxVAE(4, 4, likelihood="bernoulli", max_epochs=3, random_state=0)
    >>> codes = vae.fit(X).transform(X[:5])
    >>> codes.shape, vae.inverse_transform(codes).shape
    ((5, 16), (5, 64))
    """

    _parameter_constraints = {
        **_VAE_CONSTRAINTS,
        "n_latents": [Interval(Integral, 1, None, closed="left")],
        "n_categories": [Interval(Integral, 2, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "min_temperature": [Interval(Real, 0, None, closed="neither")],
        "anneal_rate": [Interval(Real, 0, None, closed="left")],
        "straight_through": ["boolean"],
    }

    def __init__(
        self,
        n_latents=8,
        n_categories=8,
        hidden_layer_sizes=(128,),
        activation="relu",
        *,
        temperature=1.0,
        min_temperature=0.5,
        anneal_rate=0.01,
        straight_through=False,
        likelihood="gaussian",
        beta=1.0,
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
        self.n_latents = n_latents
        self.n_categories = n_categories
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.temperature = temperature
        self.min_temperature = min_temperature
        self.anneal_rate = anneal_rate
        self.straight_through = straight_through
        self.likelihood = likelihood
        self.beta = beta
        TorchEstimator.__init__(self, **base_params(locals()))

    def _make_fit_data(self, X, y, reset):
        if reset:
            self._n_features_out = self.n_latents * self.n_categories
            self.temperature_ = self.temperature
        return super()._make_fit_data(X, y, reset)

    def _build_module(self):
        module = CategoricalVAEModule(
            self.n_features_in_,
            self.n_latents,
            self.n_categories,
            tuple(self.hidden_layer_sizes),
            self.activation,
            self.likelihood,
            self.beta,
            self.straight_through,
        )
        module.temperature = self.temperature_
        return module

    def _on_epoch_start(self, module, epoch):
        decayed = self.temperature * math.exp(-self.anneal_rate * epoch)
        self.temperature_ = module.temperature = max(self.min_temperature, decayed)

    def transform(self, X):
        """Posterior probabilities ``q(z_l = k | x)``, shape (n_samples, n_latents *
        n_categories), latent-major: columns ``l * n_categories + k``."""
        X = self._validated(X)
        proba = self._apply(lambda x: torch.softmax(self.module_.logits(x), -1).flatten(1), X)
        return proba.astype(float)

    def predict_codes(self, X):
        """Most probable category of each latent, shape (n_samples, n_latents)."""
        codes = self.transform(X).reshape(-1, self.n_latents, self.n_categories)
        return codes.argmax(-1)

    def sample(self, n_samples=1, random_state=None):
        """Decoded means of uniformly drawn one-hot codes, shape (n_samples, n_features_in_)."""
        check_is_fitted(self)
        rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
        draws = rng.integers(self.n_categories, size=(n_samples, self.n_latents))
        codes = np.eye(self.n_categories, dtype=np.float32)[draws].reshape(n_samples, -1)
        return self._apply(self.module_.decoded_mean, codes).astype(float)

    def _fitted_state(self):
        return {**super()._fitted_state(), "temperature_": self.temperature_}
