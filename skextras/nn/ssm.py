"""State-space token mixers: S4D (diagonal, ZOH) and the selective SSM of Mamba.

Both are causal linear recurrences ``h_t = a_t * h_{t-1} + b_t u_t``, ``y_t = Re(C_t h_t) +
D u_t`` with a diagonal state matrix, and both offer two computations of the same output.

:class:`S4D` (Gu et al., 2022, "On the Parameterization and Initialization of Diagonal State
Space Models") has time-invariant ``A = -exp(log_a) + i a_imag`` (S4D-Lin initialisation),
discretised by zero-order hold: ``dA = exp(dt A)``, ``dB = (exp(dt A) - 1) / A``. The output
is then the causal convolution of ``u`` with the kernel ``K_l = 2 Re(sum_n C_n dB_n dA_n^l)``:
``mode="conv"`` builds ``K`` (a Vandermonde product) and convolves by FFT in
``O(L log L)``; ``mode="scan"`` runs the recurrence one step at a time (the form used to
generate). They agree to 1e-5 in float64. When gradients are not needed, the kernel of a
sequence length is cached and reused until a parameter changes (detected through the
parameters' version counters, which every in-place optimiser step bumps).

:class:`SelectiveSSM` is the Mamba block (Gu & Dao, 2023): ``dt, B, C`` depend on the input,
``A = -exp(A_log)`` is real, ``a_t = exp(dt_t A)`` and ``b_t = dt_t B_t`` (the simplified
Euler input matrix of the paper). Its ``mode="sequential"`` is the reference loop (the same
as ``selective_scan_ref`` of the authors: ``exp(dt A)`` and ``dt B u`` precomputed, one state
update per step); ``mode="parallel"`` is a two-level chunked scan: inside chunks of
``chunk_size`` the state is advanced for all chunks at once (``chunk_size`` steps), the states
carried between chunks take ``L / chunk_size`` steps, and each position adds its carried state
decayed by the cumulative ``exp(sum dt A)`` of its chunk, so ``2 sqrt(L)`` Python steps do the
work of ``L``. Both give the same output to rounding.
"""

import math

import torch
import torch.nn.functional as F

from skextras.nn.attention import _check_choice

S4D_MODES = ("conv", "scan")
SELECTIVE_MODES = ("parallel", "sequential")


class S4D(torch.nn.Module):
    """Diagonal state-space layer with ZOH discretisation (S4D-Lin initialisation).

    Parameters
    ----------
    d_model : int
        Number of channels ``H``; each has its own SSM.
    d_state : int, default=64
        State size ``N`` (``N / 2`` complex-conjugate pairs are kept).
    mode : {"conv", "scan"}, default="conv"
        FFT convolution with the materialised kernel, or the step-by-step recurrence.
    dt_min, dt_max : float, default=1e-3, 1e-1
        Range of the log-uniform initial step sizes.

    ``forward(x, mask=None)``: ``x`` (batch, n, d_model) -> (batch, n, d_model); the SSM output
    plus ``D x``, then GELU and a gated linear output projection, as in the S4D reference.
    Padded positions (``mask`` False) are zeroed; being causal, they never reach real ones.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.ssm import S4D
    >>> _ = torch.manual_seed(0)
    >>> layer = S4D(d_model=4, d_state=8, mode="conv")
    >>> x = torch.randn(2, 10, 4)
    >>> y = layer(x)
    >>> tuple(y.shape)
    (2, 10, 4)
    >>> torch.allclose(layer(x[:, :6]), y[:, :6], atol=1e-5)
    True
    """

    def __init__(self, d_model, d_state=64, mode="conv", dt_min=1e-3, dt_max=1e-1):
        super().__init__()
        _check_choice("mode", mode, S4D_MODES)
        if d_state < 2 or d_state % 2:
            raise ValueError(f"d_state={d_state} must be an even number >= 2")
        self.mode = mode
        n = d_state // 2
        log_dt = torch.rand(d_model) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = torch.nn.Parameter(log_dt)
        self.C = torch.nn.Parameter(torch.randn(d_model, n, 2) * math.sqrt(0.5))
        self.log_a_real = torch.nn.Parameter(torch.log(0.5 * torch.ones(d_model, n)))
        self.a_imag = torch.nn.Parameter(math.pi * torch.arange(n).float().repeat(d_model, 1))
        self.D = torch.nn.Parameter(torch.randn(d_model))
        self.output = torch.nn.Linear(d_model, 2 * d_model)
        self._cache = None
        self._spectrum = None

    def discretised(self, dtype=torch.float32):
        """``(dA, dB C, C)`` of shape (H, N/2), complex: the ZOH discretisation."""
        ctype = torch.complex128 if dtype == torch.float64 else torch.complex64
        dt = torch.exp(self.log_dt.to(dtype))
        A = torch.complex(-torch.exp(self.log_a_real.to(dtype)), self.a_imag.to(dtype))
        C = torch.view_as_complex(self.C.to(dtype).contiguous()).to(ctype)
        dtA = A * dt[:, None]
        dA = torch.exp(dtA)
        return dA, C * (dA - 1.0) / A, dtA

    def kernel(self, length, dtype=torch.float32):
        """The convolution kernel ``K`` of shape (H, length), cached when no gradient is needed."""
        needs_grad = torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters())
        key = (length, dtype, self.log_dt.device, tuple(p._version for p in self.parameters()))
        if not needs_grad and self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        _, weight, dtA = self.discretised(dtype)
        steps = torch.arange(length, device=dtA.device, dtype=dtype)
        vandermonde = torch.exp(dtA[..., None] * steps)  # (H, N/2, L)
        K = 2.0 * torch.einsum("hn,hnl->hl", weight, vandermonde).real
        self._cache = None if needs_grad else (key, K)
        return K

    def kernel_spectrum(self, length, dtype=torch.float32):
        """``rfft`` of the kernel zero-padded to ``2 length`` plus ``D``, shape (length + 1, H).

        ``D u`` is the convolution with ``D`` times a unit impulse, whose spectrum is ``D`` at
        every frequency, so the skip term costs nothing. Cached together with the kernel: a
        cached kernel's spectrum is computed once.
        """
        K = self.kernel(length, dtype)
        cached = getattr(self, "_spectrum", None)
        if cached is not None and cached[0] is K:
            return cached[1]
        spectrum = torch.fft.rfft(K, n=2 * length).transpose(0, 1) + self.D.to(dtype)
        cache = self._cache
        self._spectrum = (K, spectrum) if cache is not None and cache[1] is K else None
        return spectrum

    def ssm(self, u):
        """The raw SSM ``y = K * u + D u`` for ``u`` (batch, n, H), by ``self.mode``."""
        n = u.shape[1]
        if self.mode == "conv":
            size = 2 * n  # zero padding to 2n turns the circular convolution into a causal one
            spectrum = torch.fft.rfft(u, n=size, dim=1) * self.kernel_spectrum(n, u.dtype)
            return torch.fft.irfft(spectrum, n=size, dim=1)[:, :n]  # D u is in the spectrum
        dA, weight, _ = self.discretised(u.dtype)
        dB = weight  # C is folded into the input matrix: h carries C dB u
        h = torch.zeros(u.shape[0], *dA.shape, dtype=dA.dtype, device=u.device)
        outputs = []
        for t in range(n):
            h = dA * h + dB * u[:, t, :, None]
            outputs.append(2.0 * h.sum(-1).real)
        y = torch.stack(outputs, dim=1) if outputs else u[:, :0]
        return y + self.D.to(u.dtype) * u

    def forward(self, x, mask=None):
        if mask is not None:
            x = x * mask[..., None].to(x.dtype)
        return F.glu(self.output(F.gelu(self.ssm(x))), dim=-1)


def selective_scan(u, dt, A, B, C, D, mode="parallel", chunk_size=64):
    """``y_t = C_t^T h_t + D u_t``, ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t``.

    Parameters
    ----------
    u, dt : Tensor of shape (batch, L, D_inner)
    A : Tensor of shape (D_inner, N), negative
    B, C : Tensor of shape (batch, L, N)
    D : Tensor of shape (D_inner,)
    mode : {"parallel", "sequential"}, default="parallel"
    chunk_size : int, default=64
        Chunk length of the parallel scan.

    Returns
    -------
    Tensor of shape (batch, L, D_inner)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.ssm import selective_scan
    >>> _ = torch.manual_seed(0)
    >>> u, dt = torch.randn(1, 6, 3), torch.rand(1, 6, 3)
    >>> A, B, C, D = -torch.rand(3, 2), torch.randn(1, 6, 2), torch.randn(1, 6, 2), torch.randn(3)
    >>> y = selective_scan(u, dt, A, B, C, D, mode="parallel", chunk_size=4)
    >>> tuple(y.shape)
    (1, 6, 3)
    >>> h, ref = torch.zeros(1, 3, 2), []
    >>> for t in range(6):
    ...     step = dt[:, t, :, None]
    ...     h = torch.exp(step * A) * h + step * B[:, t, None] * u[:, t, :, None]
    ...     ref.append((h * C[:, t, None]).sum(-1) + D * u[:, t])
    ...
    >>> torch.allclose(y, torch.stack(ref, 1), atol=1e-5)
    True
    """
    _check_choice("mode", mode, SELECTIVE_MODES)
    if mode == "sequential":
        decay = torch.exp(dt[..., None] * A)  # (b, L, D, N)
        bu = (dt * u)[..., None] * B[:, :, None, :]
        h = u.new_zeros(u.shape[0], *A.shape)
        outputs = []
        for t in range(u.shape[1]):
            h = decay[:, t] * h + bu[:, t]
            outputs.append((h @ C[:, t, :, None])[..., 0])
        y = torch.stack(outputs, dim=1) if outputs else u
    else:
        y = _chunked_scan(u, dt, A, B, C, int(chunk_size))
    return y + D * u


def _chunked_scan(u, dt, A, B, C, chunk_size):
    """Two-level scan that never materialises the (L, D, N) states.

    Pass 1 advances the states of all chunks together from zero (``chunk_size`` steps);
    the states entering each chunk then follow from the chunk-end states and the whole-chunk
    decays (``L / chunk_size`` steps); pass 2 adds ``C_t . (exp(A sum_{s<=t} dt_s) h_in)``,
    the contribution of the state carried into the chunk.
    """
    b, L, d = u.shape
    chunk_size = max(1, min(chunk_size, L))
    pad = -L % chunk_size
    if pad:
        u, dt, B, C = (F.pad(t, (0, 0, 0, pad)) for t in (u, dt, B, C))
    chunks = (L + pad) // chunk_size
    dt = dt.reshape(b, chunks, chunk_size, d, 1)
    du = (u.reshape(b, chunks, chunk_size, d) * dt[..., 0])[..., None]
    B = B.reshape(b, chunks, chunk_size, 1, -1)
    C = C.reshape(b, chunks, chunk_size, 1, -1)
    h = u.new_zeros(b, chunks, *A.shape)
    local = []
    for t in range(chunk_size):
        decay = torch.exp_(dt[:, :, t] * A)  # in place on a fresh product
        h = torch.addcmul(du[:, :, t] * B[:, :, t], decay, h)
        local.append((h * C[:, :, t]).sum(-1))
    whole = torch.exp(dt.sum(2) * A)  # (b, chunks, D, N): decay across a whole chunk
    entering, state = [], h.new_zeros(b, *A.shape)
    for j in range(chunks):
        entering.append(state)
        state = torch.addcmul(h[:, j], whole[:, j], state)
    entering = torch.stack(entering, dim=1)
    elapsed = torch.cumsum(dt, dim=2)
    out = [
        (torch.exp_(elapsed[:, :, t] * A) * entering).mul_(C[:, :, t]).sum(-1) + y_t
        for t, y_t in enumerate(local)
    ]
    return torch.stack(out, dim=2).reshape(b, chunks * chunk_size, d)[:, :L]


class SelectiveSSM(torch.nn.Module):
    """Mamba block: input-dependent ``dt, B, C``, a depthwise causal convolution and a gate.

    Parameters
    ----------
    d_model : int
    d_state : int, default=16
        State size ``N`` per inner channel.
    mode : {"parallel", "sequential"}, default="parallel"
        Chunked parallel scan or the reference loop (same output).
    expand : int, default=2
        Inner width ``expand * d_model``.
    d_conv : int, default=4
        Width of the causal depthwise convolution.
    chunk_size : int, default=64
        Chunk length of the parallel scan.

    ``forward(x, mask=None)``: (batch, n, d_model) -> (batch, n, d_model). Causal: padded
    positions at the end never reach real ones.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.ssm import SelectiveSSM
    >>> _ = torch.manual_seed(0)
    >>> layer = SelectiveSSM(d_model=4, d_state=4, chunk_size=4)
    >>> x = torch.randn(2, 10, 4)
    >>> y = layer(x)
    >>> tuple(y.shape)
    (2, 10, 4)
    >>> torch.allclose(layer(x[:, :6]), y[:, :6], atol=1e-5)
    True
    """

    def __init__(self, d_model, d_state=16, mode="parallel", expand=2, d_conv=4, chunk_size=64):
        super().__init__()
        _check_choice("mode", mode, SELECTIVE_MODES)
        self.mode, self.chunk_size = mode, chunk_size
        inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = torch.nn.Linear(d_model, 2 * inner)
        self.conv = torch.nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = torch.nn.Linear(inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = torch.nn.Linear(self.dt_rank, inner)
        dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        self.A_log = torch.nn.Parameter(
            torch.log(torch.arange(1, d_state + 1).float()).repeat(inner, 1)
        )
        self.D = torch.nn.Parameter(torch.ones(inner))
        self.out_proj = torch.nn.Linear(inner, d_model)

    def forward(self, x, mask=None):
        n = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self.conv(u.transpose(1, 2))[..., :n].transpose(1, 2))
        dt, B, C = self.x_proj(u).split(
            [self.dt_rank, self.A_log.shape[1], self.A_log.shape[1]], -1
        )
        dt = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log.to(x.dtype))
        y = selective_scan(u, dt, A, B, C, self.D, self.mode, self.chunk_size)
        return self.out_proj(y * F.silu(z))
