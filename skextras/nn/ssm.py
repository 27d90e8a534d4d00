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
Euler input matrix of the paper). Two decay structures are offered. With ``n_heads`` (the
default, Mamba-2, Dao & Gu, 2024) the inner channels form heads sharing one step ``dt`` and
one scalar decay ``A`` per head; ``mode="parallel"`` is then the state-space-duality scan:
inside chunks of ``chunk_size`` steps the output is a masked ``c x c`` product of
``C_t . B_s`` with the decays ``exp(a_{s+1} + ... + a_t)`` (differences of one cumulative
sum of log-decays, all <= 0), batched over every chunk and head; the chunk-end states are one
batched contraction, the states entering each chunk take ``L / c`` small updates, and each
position adds its carried state. No ``(L, d_inner, d_state)`` tensor is formed. With
``n_heads=None`` (Mamba-1) every channel and state has its own decay, which no ``c x c``
matrix can share; its parallel mode is a two-level chunked scan: inside chunks the state is
advanced for all chunks at once (``chunk_size`` steps), the states carried between chunks
take ``L / chunk_size`` steps, and each position adds its carried state decayed by the
cumulative ``exp(sum dt A)`` of its chunk. ``mode="sequential"`` is the reference loop of
both (the same as ``selective_scan_ref`` of the authors: ``exp(dt A)`` and ``dt B u``
precomputed, one state update per step). Every form gives the same output to rounding.
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
        if not needs_grad:  # a kernel built with gradients leaves the cached one in place
            self._cache = (key, K)
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
        if cache is not None and cache[1] is K:
            self._spectrum = (K, spectrum)
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

    Two forms of the decay, told apart by the shape of ``A``:

    * per channel and state (Mamba-1): ``A`` of shape (D_inner, N), ``dt`` of shape
      (batch, L, D_inner); each of the ``D_inner x N`` states has its own decay;
    * one scalar per head (Mamba-2): ``A`` of shape (H,), ``dt`` of shape (batch, L, H); the
      ``D_inner = H P`` channels form ``H`` heads of ``P`` consecutive channels that share
      ``dt`` and ``A``. ``mode="parallel"`` is then the state-space-duality scan (see the
      module docstring).

    Parameters
    ----------
    u : Tensor of shape (batch, L, D_inner)
    dt : Tensor of shape (batch, L, D_inner) or (batch, L, H)
        Positive step sizes.
    A : Tensor of shape (D_inner, N) or (H,), negative
    B, C : Tensor of shape (batch, L, N)
    D : Tensor of shape (D_inner,)
    mode : {"parallel", "sequential"}, default="parallel"
        The chunked scan, or the reference loop (one state update per step).
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

    One decay per head (2 heads of 2 channels): the same loop with ``A`` repeated per channel.

    >>> dt2, A2 = torch.rand(1, 6, 2), -torch.rand(2)
    >>> u4, D4 = torch.randn(1, 6, 4), torch.randn(4)
    >>> heads = selective_scan(u4, dt2, A2, B, C, D4, chunk_size=4)
    >>> per_channel = selective_scan(
    ...     u4, dt2.repeat_interleave(2, -1), A2.repeat_interleave(2)[:, None].expand(4, 2),
    ...     B, C, D4, mode="sequential")
    >>> torch.allclose(heads, per_channel, atol=1e-5)
    True
    """
    _check_choice("mode", mode, SELECTIVE_MODES)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be >= 1")
    b, L, d = u.shape
    if A.dim() == 2:
        if A.shape[0] != d or dt.shape != u.shape:
            raise ValueError(
                f"per-state decays: A {tuple(A.shape)} must be (D_inner={d}, N) and dt "
                f"{tuple(dt.shape)} must have the shape of u {tuple(u.shape)}"
            )
        if mode == "sequential":
            y = _sequential_scan(u, dt[..., None] * A, dt, B, C)
        else:
            y = _chunked_scan(u, dt, A, B, C, int(chunk_size))
        return y + D * u
    heads = A.shape[0]
    if A.dim() != 1 or dt.shape != (b, L, heads) or d % heads:
        raise ValueError(
            f"per-head decays: A {tuple(A.shape)} must be (H,), dt {tuple(dt.shape)} must be "
            f"(batch, L, H) and H must divide D_inner={d}"
        )
    x = u.reshape(b, L, heads, d // heads)
    if mode == "sequential":
        y = _sequential_scan(x, (dt * A)[..., None, None], dt[..., None], B, C)
    else:
        y = _ssd_scan(x, dt, A, B, C, int(chunk_size))
    return y.reshape(b, L, d) + D * u


def _sequential_scan(x, log_decay, dt, B, C):
    """The reference loop: ``exp(dt A)`` and ``dt B x`` precomputed, one update per step.

    ``x`` (b, L, *S) and ``dt`` broadcastable to it; ``log_decay`` broadcastable to the
    states (b, L, *S, N); ``B, C`` (b, L, N). Each step is one multiply-add on the states and
    one batched matrix-vector product with ``C_t``.
    """
    b, L, n = B.shape
    decay = torch.exp(log_decay)
    bu = (dt * x)[..., None] * B.view(b, L, *(1,) * (x.dim() - 2), n)  # (b, L, *S, N)
    h = x.new_zeros(bu.shape[:1] + bu.shape[2:])
    outputs = []
    for t in range(L):
        h = decay[:, t] * h + bu[:, t]
        outputs.append((h.view(b, -1, n) @ C[:, t, :, None]).view(h.shape[:-1]))
    return torch.stack(outputs, dim=1) if outputs else x


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


def _ssd_scan(x, dt, A, B, C, chunk_size):
    """State-space duality (Dao & Gu, 2024): the scan of scalar-decay heads by chunks.

    ``x`` (b, L, H, P), ``dt`` (b, L, H), ``A`` (H,), ``B, C`` (b, L, N). Inside each chunk of
    ``c`` steps the output is a masked ``c x c`` attention-like product,
    ``y_t = sum_{s<=t} (C_t . B_s) exp(a_{s+1} + ... + a_t) dt_s x_s`` with ``a = dt A``, for
    all chunks and heads at once; the state each chunk leaves behind is one batched
    contraction ``sum_s exp(a_{s+1} + ... + a_end) dt_s x_s B_s^T``; the states entering the
    chunks follow by ``L / c`` updates ``E_{k+1} = exp(sum_k a) E_k + S_k`` on (b, H, P, N)
    tensors, and each position adds ``exp(a_1 + ... + a_t) C_t . E_k``. The decays are
    exponentials of differences of cumulative log-decays (never ratios of cumulative
    products, which overflow), taken in float64 so that long chunks of large ``dt A`` do not
    cancel digits; every exponent is <= 0. No (L, H, P, N) tensor is formed: the states exist
    at chunk ends only.
    """
    b, L, heads, p = x.shape
    c = max(1, min(chunk_size, L))
    pad = -L % c
    if pad:  # dt = 0 past the end: decay 1, no input, so the padding changes nothing
        x, dt, B, C = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, dt, B, C))
    K = (L + pad) // c
    n = B.shape[-1]
    dt = dt.reshape(b, K, c, heads).transpose(2, 3)  # (b, K, H, c)
    cum = torch.cumsum(dt.to(torch.float64) * A.to(torch.float64)[:, None], dim=-1)
    # exp(a_{s+1} + ... + a_t) for s <= t: the difference is taken in float64 (no cancellation
    # when the cumulative sums are large) and is <= 0; above the diagonal it is clamped to 0
    # (no overflow) and the masked scores zero those entries and their gradients.
    within = (cum[..., :, None] - cum[..., None, :]).clamp_max_(0.0)
    decay_within = torch.exp_(within.to(x.dtype))  # (b, K, H, c, c)
    to_end = (torch.exp(cum[..., -1:] - cum).to(x.dtype) * dt)[..., None]  # (b, K, H, c, 1)
    from_start = torch.exp(cum).to(x.dtype)[..., None]  # (b, K, H, c, 1)
    chunk_decay = torch.exp(cum[..., -1]).to(x.dtype)[..., None, None]  # (b, K, H, 1, 1)

    x = x.reshape(b, K, c, heads, p).transpose(2, 3)  # (b, K, H, c, P), one copy below
    B = B.reshape(b, K, 1, c, n)
    C = C.reshape(b, K, 1, c, n)
    scores = (C @ B.transpose(-1, -2)).tril_()  # (b, K, 1, c, c): C_t . B_s for s <= t
    x = x.contiguous()
    intra = torch.matmul((scores * decay_within).mul_(dt[..., None, :]), x)  # (b, K, H, c, P)
    # the state each chunk leaves behind: sum_s exp(a_{s+1} + ... + a_end) dt_s B_s x_s^T
    states = (B * to_end).transpose(-1, -2) @ x  # (b, K, H, N, P)
    entering = [states.new_zeros(states[:, 0].shape)]
    for k in range(K - 1):
        entering.append(torch.addcmul(states[:, k], chunk_decay[:, k], entering[-1]))
    entering = torch.stack(entering, dim=1)  # (b, K, H, N, P)
    y = torch.matmul(C * from_start, entering).add_(intra)  # carried state + intra-chunk
    return y.transpose(2, 3).reshape(b, K * c, heads, p)[:, :L]


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
    n_heads : int or None, default=2
        ``H``: the inner channels form ``H`` heads that share one input-dependent step
        ``dt`` and one scalar decay ``A`` per head (Mamba-2); the parallel mode is then the
        state-space-duality scan. ``None``: a decay per channel and state and a step per
        channel (Mamba-1), scanned by the two-level chunked loop. Must divide
        ``expand * d_model``.

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

    def __init__(
        self, d_model, d_state=16, mode="parallel", expand=2, d_conv=4, chunk_size=64, n_heads=2
    ):
        super().__init__()
        _check_choice("mode", mode, SELECTIVE_MODES)
        inner = expand * d_model
        if n_heads is not None and (int(n_heads) < 1 or inner % int(n_heads)):
            raise ValueError(
                f"n_heads={n_heads!r} must be a positive divisor of expand * d_model = {inner}"
            )
        self.mode, self.chunk_size, self.n_heads = mode, chunk_size, n_heads
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = torch.nn.Linear(d_model, 2 * inner)
        self.conv = torch.nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = torch.nn.Linear(inner, self.dt_rank + 2 * d_state, bias=False)
        steps = inner if n_heads is None else int(n_heads)
        self.dt_proj = torch.nn.Linear(self.dt_rank, steps)
        dt = torch.exp(torch.rand(steps) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        if n_heads is None:  # S4D-Real: A_n = -(n + 1) for every channel
            A_log = torch.log(torch.arange(1, d_state + 1).float()).repeat(inner, 1)
        else:  # Mamba-2: one decay rate per head, spread over [1, 16]
            A_log = torch.log(torch.linspace(1.0, 16.0, steps))
        self.A_log = torch.nn.Parameter(A_log)
        self.D = torch.nn.Parameter(torch.ones(inner))
        self.out_proj = torch.nn.Linear(inner, d_model)

    def forward(self, x, mask=None):
        n = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self.conv(u.transpose(1, 2))[..., :n].transpose(1, 2))
        d_state = (self.x_proj.out_features - self.dt_rank) // 2
        dt, B, C = self.x_proj(u).split([self.dt_rank, d_state, d_state], -1)
        dt = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log.to(x.dtype))
        y = selective_scan(u, dt, A, B, C, self.D, self.mode, self.chunk_size)
        return self.out_proj(y * F.silu(z))
