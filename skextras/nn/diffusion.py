"""Generative ODE / SDE models: rectified flow and diffusion (DDPM, DDIM, EDM).

Both learn a time-conditioned network on standardised data and sample by integrating from
Gaussian noise. Diffusion models share one interface, the denoiser ``D(x, sigma)`` on the
variance-exploding scale ``x = x0 + sigma * noise`` (Karras et al. 2022): a DDPM network
predicting the noise of ``x_t = sqrt(abar) x0 + sqrt(1 - abar) eps`` is one with
``sigma = sqrt((1 - abar) / abar)`` and ``x = x_t / sqrt(abar)``, so every sampler works
with every training objective. Log-likelihoods come from the probability-flow ODE with the
instantaneous change of variables, ``d log p(x_t) / dt = -div f(x_t, t)``.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skextras.nn._base import TorchDensityMixin, TorchEstimator, base_params, seeded_torch
from skextras.nn.flows import Standardize, standard_normal_log_prob
from skextras.nn.mlp import ACTIVATIONS, MLP

_EXACT_DIVERGENCE_MAX_DIM = 32
# EDM training noise distribution, log sigma ~ N(P_MEAN, P_STD^2) (Karras et al. 2022, table 1).
_P_MEAN, _P_STD = -1.2, 1.2


class TimeConditionedMLP(torch.nn.Module):
    """``net(x, t)``: an MLP on ``x`` concatenated with sinusoidal features of the scalar ``t``."""

    def __init__(self, n_features, hidden, activation, n_frequencies=16):
        super().__init__()
        self.register_buffer("frequencies", torch.logspace(0, 3, n_frequencies))
        n_in = n_features + 2 * n_frequencies + 1
        self.net = MLP(n_in, n_features, hidden, activation)

    def forward(self, x, t):
        t = t.reshape(-1, 1).expand(len(x), 1)
        angles = t * self.frequencies
        return self.net(torch.cat([x, t, torch.sin(angles), torch.cos(angles)], 1))


def divergence(fn, x, n_probes=4):
    """Divergence of ``fn`` at each row of ``x``: exact (one backward pass per dimension) up to
    32 dimensions, Hutchinson's estimator with Rademacher probes beyond."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = fn(x)
        d = x.shape[1]
        if d <= _EXACT_DIVERGENCE_MAX_DIM:
            rows = [
                torch.autograd.grad(out[:, i].sum(), x, retain_graph=True)[0][:, i]
                for i in range(d)
            ]
            return out.detach(), torch.stack(rows, 1).sum(1)
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for _ in range(n_probes):
            v = torch.randint(0, 2, x.shape, device=x.device).to(x.dtype) * 2 - 1
            (grad,) = torch.autograd.grad((out * v).sum(), x, retain_graph=True)
            total += (grad * v).sum(1)
        return out.detach(), total / n_probes


def integrate_log_density(drift, x, grid):
    """Heun-integrate ``dx/ds = drift(x, s)`` along ``grid`` and accumulate ``int div drift ds``.

    Returns the end point and the integral of the divergence along the path.
    """
    integral = torch.zeros(len(x), dtype=x.dtype, device=x.device)
    for s, s_next in zip(grid[:-1], grid[1:], strict=True):
        h = s_next - s
        k1, div1 = divergence(lambda v, s=s: drift(v, s), x)
        x_euler = x + h * k1
        k2, div2 = divergence(lambda v, s=s_next: drift(v, s), x_euler)
        x = x + h * (k1 + k2) / 2
        integral += h * (div1 + div2) / 2
    return x, integral


def _ode_log_likelihood(estimator, X, drift, grid, prior_log_prob):
    """Log-likelihood (nats) of validated ``X`` under a fitted ODE model.

    Standardises ``X`` with the model, integrates ``drift`` along ``grid`` and adds the log
    prior of the end point to the divergence integral and the standardisation's log-det.
    """

    def log_density(x):
        z, logdet = estimator.module_.standardize(x)
        end, integral = integrate_log_density(drift, z, grid)
        return prior_log_prob(end) + integral + logdet

    return estimator._apply(log_density, X).astype(np.float64)


# ---------------------------------------------------------------------- rectified flow
class VelocityField(torch.nn.Module):
    """``v(x, t)`` of a rectified flow; ``forward`` is the flow-matching loss per sample.

    Noise ``x0 ~ N(0, I)`` sits at ``t = 0`` and (standardised) data ``x1`` at ``t = 1``;
    along ``x_t = t x1 + (1 - t) x0`` the target velocity is ``x1 - x0``.
    """

    def __init__(self, n_features, hidden, activation):
        super().__init__()
        self.standardize = Standardize((n_features,))
        self.net = TimeConditionedMLP(n_features, hidden, activation)

    def data_init(self, x):
        self.standardize.data_init(x)

    def forward(self, x1, x0=None):
        x1, _ = self.standardize(x1)
        x0 = torch.randn_like(x1) if x0 is None else x0
        t = torch.rand(len(x1), 1, device=x1.device, dtype=x1.dtype)
        xt = t * x1 + (1 - t) * x0
        return (self.net(xt, t) - (x1 - x0)).pow(2).mean(1)


class RectifiedFlow(TorchDensityMixin, TorchEstimator):
    """Rectified flow / flow matching with straight-line interpolation (Liu et al., 2023).

    Trains ``v(x_t, t)`` to regress ``x1 - x0`` on ``x_t = t x1 + (1 - t) x0``; sampling
    integrates ``dx/dt = v`` from Gaussian noise at ``t = 0`` to data at ``t = 1``. Each
    ``reflow`` round draws ``(noise, sample)`` pairs from the current model and retrains on
    them, which straightens the paths so that few Euler steps suffice.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(128, 128)
        Hidden widths of the velocity network.
    activation : str, default="silu"
        Activation of the velocity network.
    sampler : {"euler", "heun"}, default="heun"
        ODE integrator of :meth:`sample` (Heun: 2 network calls per step, second order).
    n_steps : int, default=50
        Default number of integration steps of :meth:`sample` and :meth:`score_samples`.
    reflow : int, default=0
        Number of reflow rounds after the first fit.
    reflow_epochs : int or None, default=None
        Epochs per reflow round; ``None`` uses ``max_epochs``.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`. The defaults differ in
        three places: ``lr=1e-2``, ``lr_schedule="cosine"`` and ``n_iter_no_change=None``,
        because the flow-matching loss is a noisy Monte-Carlo estimate that plateaus long
        before the samples stop improving (with ``lr=1e-3``, 200 epochs on two-moons give
        samples no better than a fitted Gaussian; see docs/nn.md).

    Attributes
    ----------
    module_ : VelocityField
    history_ : list of dict
        Per-epoch flow-matching loss (all rounds, in order).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import RectifiedFlow
    >>> X, _ = make_moons(256, noise=0.05, random_state=0)
    >>> rf = RectifiedFlow(hidden_layer_sizes=(32,), max_epochs=5, random_state=0).fit(X)
    >>> rf.sample(10, steps=8, random_state=0).shape
    (10, 2)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "hidden_layer_sizes": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "sampler": [StrOptions({"euler", "heun"})],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "reflow": [Interval(Integral, 0, None, closed="left")],
        "reflow_epochs": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128, 128),
        activation="silu",
        *,
        sampler="heun",
        n_steps=50,
        reflow=0,
        reflow_epochs=None,
        lr=1e-2,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="cosine",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=None,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.sampler = sampler
        self.n_steps = n_steps
        self.reflow = reflow
        self.reflow_epochs = reflow_epochs
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        return VelocityField(self.n_features_in_, tuple(self.hidden_layer_sizes), self.activation)

    def _data_init(self, module, data):
        module.data_init(data[0])

    def _compute_loss(self, module, batch):
        return module(*batch).mean()

    def fit(self, X, y=None):
        """Fit the velocity field on ``X``, then run ``reflow`` rounds. Returns self."""
        super().fit(X)
        for _ in range(self.reflow):
            self.reflow_step()
        return self

    def reflow_step(self, n_pairs=None, epochs=None):
        """One reflow round: couple noise with the model's own samples, retrain on the pairs.

        Parameters
        ----------
        n_pairs : int or None, default=None
            Number of (noise, sample) pairs; ``None`` uses the size of the last fit's data.
        epochs : int or None, default=None
            Training epochs; ``None`` uses ``reflow_epochs`` (or ``max_epochs``).
        """
        check_is_fitted(self)
        n_pairs = n_pairs or self._n_fit_samples
        with seeded_torch(self._random_state, self.device_):
            x0 = torch.randn(n_pairs, self.n_features_in_)
        x1 = self._integrate(x0.to(self.device_), self.n_steps, self.sampler)
        raw = self.module_.standardize.inverse(x1).cpu().numpy()
        epochs = epochs or self.reflow_epochs or self.max_epochs
        self.best_loss_, self._no_improvement = np.inf, 0
        self._restart_schedule(epochs)
        self._train((raw, x0.numpy()), epochs)
        return self

    def _make_fit_data(self, X, y, reset):
        arrays = super()._make_fit_data(X, y, reset)
        self._n_fit_samples = len(arrays[0])
        return arrays

    def _integrate(self, x, steps, sampler, return_path=False):
        """Integrate the ODE from ``t = 0`` (noise, standardised scale) to ``t = 1``."""
        self.module_.eval()
        path = [x]
        with torch.no_grad():
            for k in range(steps):
                t, h = k / steps, 1.0 / steps
                v = self.module_.net(x, torch.tensor(t, device=x.device))
                if sampler == "heun":
                    v_next = self.module_.net(x + h * v, torch.tensor(t + h, device=x.device))
                    v = (v + v_next) / 2
                x = x + h * v
                path.append(x)
        return (x, path) if return_path else x

    def sample(self, n_samples=1, steps=None, sampler=None, random_state=None):
        """Draw ``n_samples`` by integrating from Gaussian noise.

        Parameters
        ----------
        n_samples : int, default=1
        steps : int or None, default=None
            Integration steps (``None``: ``n_steps``).
        sampler : {"euler", "heun"} or None, default=None
            ``None`` uses the ``sampler`` parameter.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        with seeded_torch(random_state, self.device_):
            x0 = torch.randn(n_samples, self.n_features_in_, device=self.device_)
        x1 = self._integrate(x0, steps or self.n_steps, sampler or self.sampler)
        return self.module_.standardize.inverse(x1).cpu().numpy().astype(float)

    def straightness(self, n_samples=1000, steps=None, random_state=0):
        """Mean ``E_t ||(x1 - x0) - v(x_t, t)||^2`` along Euler-integrated paths.

        Zero means straight paths (one Euler step is exact); reflow lowers it. Measured on
        the standardised scale.
        """
        check_is_fitted(self)
        steps = steps or self.n_steps
        with seeded_torch(random_state, self.device_):
            x0 = torch.randn(n_samples, self.n_features_in_, device=self.device_)
        x1, path = self._integrate(x0, steps, "euler", return_path=True)
        # On an Euler path the velocity used at step k is (x_{k+1} - x_k) * steps.
        velocities = [(b - a) * steps for a, b in zip(path[:-1], path[1:], strict=True)]
        return float(torch.stack([(x1 - x0 - v).pow(2).sum(1) for v in velocities]).mean())

    def score_samples(self, X, steps=None):
        """Log-likelihood (nats) from the probability-flow ODE, integrated back to noise with
        Heun steps; the divergence is exact up to 32 features, Hutchinson's beyond."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        grid = np.linspace(1.0, 0.0, (steps or self.n_steps) + 1).tolist()
        drift = lambda v, t: self.module_.net(v, torch.tensor(t, device=v.device))  # noqa: E731
        return _ode_log_likelihood(self, X, drift, grid, standard_normal_log_prob)

    def _fitted_state(self):
        return {"_n_fit_samples": self._n_fit_samples}


# ---------------------------------------------------------------------- diffusion
def ddpm_alpha_bar(schedule, n_timesteps):
    """Cumulative signal fraction ``abar_t`` for t = 1..T.

    ``"linear"``: betas from 1e-4 to 0.02 (Ho et al. 2020), rescaled for T != 1000;
    ``"cosine"``: ``abar(t) = cos^2(pi/2 (t/T + s) / (1 + s))``, s = 0.008, betas clipped at
    0.999 (Nichol & Dhariwal 2021).
    """
    if schedule == "linear":
        scale = 1000 / n_timesteps
        betas = torch.linspace(1e-4 * scale, 0.02 * scale, n_timesteps, dtype=torch.float64)
        return torch.cumprod(1 - betas, 0)
    s = 0.008
    t = torch.arange(n_timesteps + 1, dtype=torch.float64) / n_timesteps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0)


class Denoiser(torch.nn.Module):
    """``denoise(x, sigma)``: the estimate of clean (standardised) data from
    ``x = x0 + sigma * noise``, for a DDPM epsilon-network or an EDM-preconditioned one.

    Both networks see the noise level as ``log(sigma) / 4`` (EDM's c_noise); for DDPM that
    is a monotone relabelling of the timestep ``t`` which lets the sampler query any sigma.

    ``forward(x0)`` returns the training loss per sample of the chosen objective.
    """

    def __init__(self, n_features, hidden, activation, objective, schedule, n_timesteps):
        super().__init__()
        self.objective = objective
        self.standardize = Standardize((n_features,))
        self.net = TimeConditionedMLP(n_features, hidden, activation)
        if objective == "ddpm":
            alpha_bar = ddpm_alpha_bar(schedule, n_timesteps)
            self.register_buffer("alpha_bar", alpha_bar.float())
            self.register_buffer(
                "log_sigmas", (0.5 * torch.log((1 - alpha_bar) / alpha_bar)).float()
            )

    def data_init(self, x):
        self.standardize.data_init(x)

    def sigma_range(self):
        """Smallest and largest noise level the model was trained on (EDM: its defaults)."""
        if self.objective == "ddpm":
            return self.log_sigmas[0].exp().item(), self.log_sigmas[-1].exp().item()
        return None

    def denoise(self, x, sigma):
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)
        sigma = sigma.expand(len(x), 1)
        if self.objective == "ddpm":
            x_vp = x / torch.sqrt(1 + sigma**2)
            return x - sigma * self.net(x_vp, sigma.log() / 4)
        # EDM preconditioning with sigma_data = 1 (the data are standardised).
        total = torch.sqrt(sigma**2 + 1)
        c_skip, c_out, c_in = 1 / total**2, sigma / total, 1 / total
        return c_skip * x + c_out * self.net(c_in * x, sigma.log() / 4)

    def forward(self, x0):
        x0, _ = self.standardize(x0)
        noise = torch.randn_like(x0)
        if self.objective == "ddpm":
            t = torch.randint(0, len(self.alpha_bar), (len(x0),), device=x0.device)
            abar = self.alpha_bar[t].reshape(-1, 1)
            x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
            eps = self.net(x_t, self.log_sigmas[t].reshape(-1, 1) / 4)
            return (eps - noise).pow(2).mean(1)
        sigma = torch.exp(_P_MEAN + _P_STD * torch.randn(len(x0), 1, device=x0.device))
        weight = (sigma**2 + 1) / sigma**2
        return (weight * (self.denoise(x0 + sigma * noise, sigma) - x0).pow(2)).mean(1)


def karras_sigmas(sigma_min, sigma_max, steps, rho=7.0):
    """EDM noise levels ``(s_max^(1/rho) + i/(N-1) (s_min^(1/rho) - s_max^(1/rho)))^rho``,
    decreasing, with a final 0 appended."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    inv = sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
    return torch.cat([inv**rho, torch.zeros(1, dtype=torch.float64)]).tolist()


class DiffusionModel(TorchDensityMixin, TorchEstimator):
    """Diffusion model with interchangeable samplers: DDPM, DDIM and EDM.

    Training objective ``"ddpm"`` (Ho et al. 2020) predicts the noise of
    ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` on ``n_timesteps`` discrete steps with a
    linear or cosine schedule; ``"edm"`` (Karras et al. 2022) trains a preconditioned denoiser
    with ``log sigma ~ N(-1.2, 1.2^2)``. Either model is used through the denoiser
    ``D(x, sigma)``, so every sampler works with both:

    - ``"ddpm"``: ancestral sampling (the DDPM posterior step; with fewer steps than
      ``n_timesteps`` the strided form, DDIM with eta = 1);
    - ``"ddim"``: deterministic DDIM (eta = 0) on uniformly strided timesteps. DDIM is
      Euler's method on ``dx/dsigma = (x - D) / sigma``, so with ``objective="edm"`` (no
      discrete timesteps: the Karras grid) ``"ddim"`` gives exactly the samples of
      ``"euler"``;
    - ``"euler"`` / ``"heun"``: the EDM probability-flow ODE solvers on the Karras sigma grid
      (``rho = 7``).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(128, 128)
        Hidden widths of the denoising network.
    activation : str, default="silu"
        Activation of the denoising network.
    objective : {"ddpm", "edm"}, default="ddpm"
        Training objective and parametrisation.
    schedule : {"linear", "cosine"}, default="cosine"
        DDPM noise schedule (``objective="ddpm"``).
    n_timesteps : int, default=1000
        DDPM diffusion steps.
    sampler : {"ddpm", "ddim", "euler", "heun"}, default="heun"
        Default sampler of :meth:`sample`.
    n_steps : int, default=50
        Default number of sampling / likelihood integration steps.
    sigma_min, sigma_max : float, default=0.002, 80.0
        Noise range of the samplers and the likelihood for ``objective="edm"``. A DDPM model
        uses the range of its schedule, capped at ``sigma_max``.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`; as for
        :class:`RectifiedFlow` the defaults are ``lr=1e-2``, ``lr_schedule="cosine"`` and
        ``n_iter_no_change=None`` (the denoising loss is noisy; with ``lr=1e-3`` two-moons
        samples are no better than a fitted Gaussian after 200 epochs, see docs/nn.md).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import DiffusionModel
    >>> X, _ = make_moons(256, noise=0.05, random_state=0)
    >>> model = DiffusionModel(hidden_layer_sizes=(32,), max_epochs=5, random_state=0).fit(X)
    >>> model.sample(10, steps=10, sampler="ddim", random_state=0).shape
    (10, 2)
    """

    _parameter_constraints = {
        **RectifiedFlow._parameter_constraints,
        "objective": [StrOptions({"ddpm", "edm"})],
        "schedule": [StrOptions({"linear", "cosine"})],
        "n_timesteps": [Interval(Integral, 2, None, closed="left")],
        "sampler": [StrOptions({"ddpm", "ddim", "euler", "heun"})],
        "sigma_min": [Interval(Real, 0, None, closed="neither")],
        "sigma_max": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128, 128),
        activation="silu",
        *,
        objective="ddpm",
        schedule="cosine",
        n_timesteps=1000,
        sampler="heun",
        n_steps=50,
        sigma_min=0.002,
        sigma_max=80.0,
        lr=1e-2,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="cosine",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=None,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.objective = objective
        self.schedule = schedule
        self.n_timesteps = n_timesteps
        self.sampler = sampler
        self.n_steps = n_steps
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        if self.sigma_min >= self.sigma_max:
            raise ValueError(f"sigma_min={self.sigma_min} must be below sigma_max={self.sigma_max}")
        return Denoiser(
            self.n_features_in_,
            tuple(self.hidden_layer_sizes),
            self.activation,
            self.objective,
            self.schedule,
            self.n_timesteps,
        )

    def _data_init(self, module, data):
        module.data_init(data[0])

    def _compute_loss(self, module, batch):
        return module(batch[0]).mean()

    def _sigma_range(self):
        """Noise range of sampling and likelihoods. A DDPM schedule's own range is capped at
        ``sigma_max``: the cosine schedule ends near sigma = 2e4, where the VE-scale step
        multiplies the noise-prediction error by sigma, while at sigma = 80 the signal
        fraction sqrt(abar) is already 0.0125."""
        trained = self.module_.sigma_range()
        if trained is None:
            return self.sigma_min, self.sigma_max
        return trained[0], min(trained[1], self.sigma_max)

    def _grid(self, steps, sampler):
        """Decreasing noise levels, ending at 0, for ``sampler``."""
        sigma_min, sigma_max = self._sigma_range()
        if sampler in ("euler", "heun") or self.objective == "edm":
            return karras_sigmas(sigma_min, sigma_max, steps)
        sigmas = self.module_.log_sigmas.exp().cpu().double().numpy()
        last = int(np.searchsorted(sigmas, sigma_max, side="right")) - 1
        index = np.linspace(last, 0, steps).round().astype(int)
        return [*sigmas[index].tolist(), 0.0]

    def _step(self, x, sigma, sigma_next, sampler):
        denoised = self.module_.denoise(x, sigma)
        if sampler == "ddpm":
            if sigma_next == 0:
                return denoised
            abar, abar_next = 1 / (1 + sigma**2), 1 / (1 + sigma_next**2)
            # DDPM posterior std (eta = 1) on the VP scale, from abar_t and abar_prev.
            std = math.sqrt((1 - abar_next) / (1 - abar) * (1 - abar / abar_next))
            eps = (x - denoised) / sigma
            x_vp = (
                math.sqrt(abar_next) * denoised
                + math.sqrt(max(1 - abar_next - std**2, 0.0)) * eps
                + std * torch.randn_like(x)
            )
            return x_vp / math.sqrt(abar_next)
        # DDIM (eta = 0) is Euler on dx/dsigma = (x - D) / sigma; Heun adds EDM's correction.
        slope = (x - denoised) / sigma
        x_next = x + (sigma_next - sigma) * slope
        if sampler == "heun" and sigma_next > 0:
            slope_next = (x_next - self.module_.denoise(x_next, sigma_next)) / sigma_next
            x_next = x + (sigma_next - sigma) * (slope + slope_next) / 2
        return x_next

    def sample(self, n_samples=1, steps=None, sampler=None, random_state=None):
        """Draw ``n_samples`` from noise with ``steps`` denoising steps of ``sampler``.

        Parameters
        ----------
        n_samples : int, default=1
        steps : int or None, default=None
            ``None`` uses ``n_steps``.
        sampler : {"ddpm", "ddim", "euler", "heun"} or None, default=None
            ``None`` uses the ``sampler`` parameter.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        sampler = sampler or self.sampler
        if sampler not in ("ddpm", "ddim", "euler", "heun"):
            raise ValueError(f"sampler={sampler!r} is not one of ddpm, ddim, euler, heun")
        grid = self._grid(steps or self.n_steps, sampler)
        self.module_.eval()
        with seeded_torch(random_state, self.device_), torch.no_grad():
            x = torch.randn(n_samples, self.n_features_in_, device=self.device_)
            x = x * math.sqrt(1 + grid[0] ** 2)
            for sigma, sigma_next in zip(grid[:-1], grid[1:], strict=True):
                x = self._step(x, sigma, sigma_next, sampler)
            return self.module_.standardize.inverse(x).cpu().numpy().astype(float)

    def score_samples(self, X, steps=None):
        """Log-likelihood (nats) from the probability-flow ODE ``dx/dsigma = (x - D) / sigma``,
        integrated with Heun steps from ``sigma_min`` to ``sigma_max`` on a log-spaced grid;
        the end point is scored under ``N(0, (1 + sigma_max^2) I)``. Exact divergence up to
        32 features, Hutchinson's estimator beyond."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        sigma_min, sigma_max = self._sigma_range()
        grid = np.geomspace(sigma_min, sigma_max, (steps or self.n_steps) + 1).tolist()
        drift = lambda v, s: (v - self.module_.denoise(v, s)) / s  # noqa: E731
        var = 1 + sigma_max**2

        def prior_log_prob(end):
            scaled = end / math.sqrt(var)
            return standard_normal_log_prob(scaled) - 0.5 * end.shape[1] * math.log(var)

        return _ode_log_likelihood(self, X, drift, grid, prior_log_prob)
