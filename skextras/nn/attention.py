"""Attention token mixers: softmax, linear (three computations), FAVOR+, GAU / FLASH, TransNormer.

Every function takes ``q, k, v`` of shape ``(batch, heads, n, d)`` and returns
``(batch, heads, n, d_v)``; an optional ``key_mask`` of shape ``(batch, n)`` (``True`` = a real
token) removes padded keys, so a right-padded batch gives, at every real position, exactly the
outputs of each sequence alone.

Linear attention (Katharopoulos et al., 2020) replaces ``exp(q.k)`` by ``phi(q).phi(k)``:

  out_i = phi(q_i) S_i / phi(q_i) z_i,  S_i = sum_{j<=i} phi(k_j) v_j^T,  z_i = sum_{j<=i} phi(k_j)

(the sums run over every ``j`` when not causal). The causal result has three computations that
agree to rounding: ``"parallel"`` (the masked ``n x n`` product: the reference), ``"recurrent"``
(the RNN form, one state update per step: constant memory, for generation) and ``"chunked"``
(quadratic inside chunks of ``chunk_size`` plus the state carried across chunks by an exclusive
cumulative sum: ``O(n c d + n d^2)`` work in a handful of batched matmuls, the training form).
In the parallel and recurrent forms the denominator ``z`` is computed by the same code as the
numerator, as one extra column of ones appended to ``v``; the chunked form reads it from the
row sums of its masked intra-chunk scores plus the carried key sums, which saves a copy of
``v`` and keeps the matmuls at width ``d_v``. The tests hold all three forms to each other.

FAVOR+ (Choromanski et al., 2021) estimates ``exp(q.k / sqrt(d))`` without bias by positive
random features ``phi(x) = exp(w.x - |x|^2 / 2) / sqrt(m)`` with ``m`` orthogonal Gaussian
directions ``w`` (rows rescaled to chi-distributed norms); the attention error falls like
``1 / sqrt(m)``. The causal form reuses the chunked linear attention.

:class:`GAU` is the Gated Attention Unit of "Transformer Quality in Linear Time" (Hua et al.,
2022): one shared low-rank ``z`` gives queries and keys by per-dimension scale and offset,
the attention kernel is ``relu(q.k / n)^2`` and the output is gated by ``u``. ``kind="flash"``
is FLASH: that quadratic kernel inside chunks plus linear attention across chunks.

:class:`TransNormerLayer` (Qin et al., 2022) is a full pre-norm layer whose token mixer is
either NormAttention (linear attention whose denominator is replaced by an RMS normalisation of
the output: the denominator is what makes linear-attention gradients unbounded) or
DiagAttention (softmax attention inside non-overlapping blocks, for the lower layers), and
whose channel mixer is a gated linear unit.
"""

import math

import torch
import torch.nn.functional as F

FEATURE_MAPS = {
    "elu": lambda x: F.elu(x).add_(1.0),  # in place on elu's fresh output (its grad uses x)
    "relu": F.relu,
    "identity": lambda x: x,
}
LINEAR_MODES = ("parallel", "recurrent", "chunked")


def _check_choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name}={value!r} is not one of {tuple(options)}")


def chunk_length(chunk_size, n, d):
    """The chunk length of the chunked causal sums: ``chunk_size``, or for ``"auto"`` the power
    of two nearest the feature width ``d`` within [16, 256], at most ``n``.

    The intra-chunk product costs ``n c d`` and the carried state ``n d d_v`` multiply-adds
    plus ``n / c`` chunk summaries of ``d x d_v``: ``c ~ d`` balances them, and timing agrees
    (n = 8192, 4 heads, 2 threads, causal SDPA as the yardstick: d = 32 is fastest at
    c = 32, d = 64 at c = 64, d = 128 at c = 128).

    Examples
    --------
    >>> from skextras.nn.attention import chunk_length
    >>> chunk_length("auto", 8192, 64), chunk_length("auto", 8192, 100), chunk_length(32, 8192, 64)
    (64, 128, 32)
    >>> chunk_length("auto", 40, 64)
    40
    """
    if isinstance(chunk_size, str):
        if chunk_size != "auto":
            raise ValueError(f"chunk_size={chunk_size!r} must be 'auto' or an int >= 1")
        c = 2 ** round(math.log2(max(d, 1)))
        return max(1, min(n, 256, max(16, c)))
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be 'auto' or an int >= 1")
    return max(1, min(int(chunk_size), n))


def _check_qkv(q, k, v):
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError(
            "q, k, v must have shape (batch, heads, n, d); got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[:-1] != v.shape[:-1]:
        raise ValueError(
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}: q and k must share d "
            "and k and v the (batch, heads, n) dimensions"
        )


def _boolean_mask(q, k, causal, key_mask):
    """``(batch, 1, n_q, n_k)`` boolean mask (True = attend) or None when nothing is masked.

    A query may always attend to itself: padded query rows then stay finite (their values are
    discarded) and real rows are unchanged, because a real query's own key is real.
    """
    if not causal and key_mask is None:
        return None
    n_q, n_k = q.shape[-2], k.shape[-2]
    allowed = torch.ones(n_q, n_k, dtype=torch.bool, device=q.device)
    if causal:
        allowed = torch.tril(allowed)
    allowed = allowed[None, None]
    if key_mask is not None:
        own = torch.eye(n_q, n_k, dtype=torch.bool, device=q.device)
        allowed = allowed & (key_mask[:, None, None, :].bool() | own)
    return allowed


def softmax_attention(q, k, v, causal=False, key_mask=None):
    """Scaled dot-product softmax attention (torch SDPA): the reference mixer.

    Parameters
    ----------
    q, k : Tensor of shape (batch, heads, n, d)
    v : Tensor of shape (batch, heads, n, d_v)
    causal : bool, default=False
        Position ``i`` attends to positions ``<= i`` only.
    key_mask : bool Tensor of shape (batch, n) or None, default=None
        ``False`` marks padded keys, which receive no attention.

    Returns
    -------
    Tensor of shape (batch, heads, n, d_v)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import softmax_attention
    >>> _ = torch.manual_seed(0)
    >>> q, k, v = torch.randn(3, 1, 2, 5, 4)
    >>> out = softmax_attention(q, k, v, causal=True)
    >>> tuple(out.shape)
    (1, 2, 5, 4)
    >>> future = torch.ones(5, 5, dtype=torch.bool).triu(1)
    >>> scores = (q @ k.transpose(-1, -2) / 2).masked_fill(future, float("-inf"))
    >>> ref = torch.softmax(scores, dim=-1) @ v
    >>> torch.allclose(out, ref, atol=1e-6)
    True
    >>> torch.allclose(out[..., 0, :], v[..., 0, :])
    True
    """
    _check_qkv(q, k, v)
    mask = _boolean_mask(q, k, causal, key_mask)
    if mask is None or (causal and key_mask is None):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def _linear_sums(fq, fk, v, causal, mode, chunk_size):
    """``sum_j (fq_i . fk_j) v_j`` over ``j <= i`` (causal) or all ``j``: the numerator."""
    if not causal:
        return fq @ (fk.transpose(-1, -2) @ v)
    if mode == "parallel":
        scores = fq @ fk.transpose(-1, -2)
        return torch.tril(scores) @ v
    if mode == "recurrent":
        state = fq.new_zeros(*fq.shape[:-2], fq.shape[-1], v.shape[-1])
        outputs = []
        for t in range(fq.shape[-2]):
            state = state + fk[..., t, :, None] * v[..., t, None, :]
            outputs.append((fq[..., t, None, :] @ state)[..., 0, :])
        return torch.stack(outputs, dim=-2)
    return _chunked_sums(fq, fk, v, chunk_size)


class _ExclusiveCumsum(torch.autograd.Function):
    """``out[:, j] = sum_{i < j} x[:, i]`` along dim 1 of a 3-D tensor (``reverse``: ``i > j``).

    ``torch.cumsum`` along a dimension other than the last runs a scalar, strided loop; the
    few chunk summaries of linear attention are summed faster by one vectorised row addition
    per chunk. The backward pass is the same sum in the other direction.
    """

    @staticmethod
    def forward(ctx, x, reverse):
        ctx.reverse = reverse
        out = torch.empty_like(x)
        order = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
        previous = None
        for j in order:
            if previous is None:
                out.select(1, j).zero_()
            else:
                torch.add(out.select(1, previous), x.select(1, previous), out=out.select(1, j))
            previous = j
        return out

    @staticmethod
    def backward(ctx, grad):
        return _ExclusiveCumsum.apply(grad.contiguous(), not ctx.reverse), None


def _chunked_sums(fq, fk, v, chunk_size, denominator=False):
    """Causal linear-attention sums by chunks: intra-chunk quadratic + carried state.

    Returns the numerator ``sum_{j<=i} (fq_i . fk_j) v_j`` of shape (..., n, d_v) and, with
    ``denominator=True``, also ``sum_{j<=i} fq_i . fk_j`` of shape (..., n, 1). Inside a chunk
    the masked scores give both (the row sums of the scores are the denominator); across
    chunks, each position adds ``fq_i`` times the exclusive prefix sum of the earlier chunks'
    ``fk^T v`` (and of their key sums). Four batched matmuls (the intra-chunk product and its
    carried-state term fused in one ``baddbmm``), no copy of ``v`` and no ``n x n`` tensor.
    """
    *lead, n, d = fq.shape
    d_v = v.shape[-1]
    chunk_size = chunk_length(chunk_size, n, d)
    pad = -n % chunk_size
    if pad:
        fq, fk, v = (F.pad(t, (0, 0, 0, pad)) for t in (fq, fk, v))
    n_chunks = (n + pad) // chunk_size
    batch = math.prod(lead)
    fq = fq.reshape(batch * n_chunks, chunk_size, d)
    fk = fk.reshape(batch * n_chunks, chunk_size, d)
    v = v.reshape(batch * n_chunks, chunk_size, d_v)
    fk_t = fk.transpose(1, 2)
    scores = torch.bmm(fq, fk_t).tril_()  # (chunks, c, c): causal inside each chunk
    states = torch.bmm(fk_t, v).view(batch, n_chunks, d * d_v)  # each chunk's own k^T v
    carried = _ExclusiveCumsum.apply(states, False).view(batch * n_chunks, d, d_v)
    numerator = torch.baddbmm(torch.bmm(fq, carried), scores, v)
    numerator = numerator.view(*lead, n_chunks * chunk_size, d_v)[..., :n, :]
    if not denominator:
        return numerator
    key_sums = fk.sum(1).view(batch, n_chunks, d)
    carried_sums = _ExclusiveCumsum.apply(key_sums, False).view(batch * n_chunks, d, 1)
    total = torch.bmm(fq, carried_sums).add_(scores.sum(-1, keepdim=True))
    return numerator, total.view(*lead, n_chunks * chunk_size, 1)[..., :n, :]


def _masked_keys(fk, v, key_mask):
    if key_mask is None:
        return fk, v
    keep = key_mask[:, None, :, None].to(fk.dtype)
    return fk * keep, v * keep


def linear_attention(
    q,
    k,
    v,
    causal=False,
    feature_map="elu",
    mode="parallel",
    chunk_size="auto",
    key_mask=None,
    eps=1e-6,
):
    """Linear attention ``phi(q) S / phi(q) z`` (Katharopoulos et al., 2020).

    Parameters
    ----------
    q, k : Tensor of shape (batch, heads, n, d)
    v : Tensor of shape (batch, heads, n, d_v)
    causal : bool, default=False
        Sum over keys ``j <= i`` only.
    feature_map : {"elu", "relu", "identity"}, default="elu"
        ``phi``: ``elu(x) + 1`` (positive, the paper's choice), ``relu`` or the identity
        (the denominator may then cross zero; use it only for linear algebra checks).
    mode : {"parallel", "recurrent", "chunked"}, default="parallel"
        How the causal sums are computed (see the module docstring); all three agree to
        1e-5 in float64 and 1e-4 in float32. Ignored when ``causal=False`` (one product).
    chunk_size : int or "auto", default="auto"
        Chunk length of ``mode="chunked"``; "auto" picks it from ``n`` and ``d``
        (:func:`chunk_length`: the power of two nearest ``d``, at most ``n``).
    key_mask : bool Tensor of shape (batch, n) or None, default=None
        ``False`` marks padded keys.
    eps : float, default=1e-6
        Added to the denominator.

    Returns
    -------
    Tensor of shape (batch, heads, n, d_v)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import linear_attention
    >>> _ = torch.manual_seed(0)
    >>> q, k, v = torch.randn(3, 1, 2, 16, 4)
    >>> parallel = linear_attention(q, k, v, causal=True, mode="parallel")
    >>> chunked = linear_attention(q, k, v, causal=True, mode="chunked", chunk_size=4)
    >>> tuple(parallel.shape)
    (1, 2, 16, 4)
    >>> torch.allclose(parallel, chunked, atol=1e-5)
    True
    """
    _check_qkv(q, k, v)
    _check_choice("feature_map", feature_map, FEATURE_MAPS)
    _check_choice("mode", mode, LINEAR_MODES)
    chunk_length(chunk_size, 1, 1)  # validates
    if not causal and feature_map == "elu":
        return _elu_linear(q, k, v, key_mask, eps)
    phi = FEATURE_MAPS[feature_map]
    return _normalised_linear(phi(q), phi(k), v, causal, mode, chunk_size, key_mask, eps)


def _elu_linear(q, k, v, key_mask, eps):
    """Non-causal ``elu + 1`` linear attention with the ``+ 1`` folded into small matrices.

    ``(elu(q) + 1) M = elu(q) M + 1^T M`` and ``(elu(k) + 1)^T v = elu(k)^T v + 1^T v``: the
    ``n x d`` feature maps are never shifted, and the numerator and denominator come from one
    fused multiply-add against ``M = [S | z]`` (``d x (d_v + 1)``), so the only full-size
    passes are the two ``elu`` calls, two products and the division.
    """
    ek = F.elu(k)
    ek, v = _masked_keys(ek, v, key_mask)
    n_keys = k.shape[-2] if key_mask is None else key_mask.sum(-1).to(v.dtype)[:, None, None]
    ones = torch.ones_like(v[..., :1, :1]).expand(*v.shape[:-2], 1, v.shape[-2])
    state = ek.transpose(-1, -2) @ v + (ones @ v)  # (..., d, d_v): sum_j phi(k_j) v_j^T
    z = (ones @ ek).transpose(-1, -2) + (n_keys if key_mask is None else n_keys[..., None])
    m = torch.cat([state, z], dim=-1)  # (..., d, d_v + 1)
    bias = m.sum(-2, keepdim=True)
    bias[..., -1] += eps
    eq = F.elu(q)
    lead = eq.shape[:-2]
    sums = torch.baddbmm(
        bias.expand(*lead, 1, m.shape[-1]).reshape(-1, 1, m.shape[-1]),
        eq.reshape(-1, *eq.shape[-2:]),
        m.expand(*lead, *m.shape[-2:]).reshape(-1, *m.shape[-2:]),
    ).reshape(*lead, eq.shape[-2], m.shape[-1])
    return sums[..., :-1] / sums[..., -1:]


def _normalised_linear(fq, fk, v, causal, mode, chunk_size, key_mask, eps):
    """Numerator and denominator in one pass: a column of ones appended to ``v``."""
    fk, v = _masked_keys(fk, v, key_mask)
    if not causal:
        # One state product and one key sum (padded keys are already zero in ``fk``): the
        # column of ones below would cost an extra copy of ``v`` and an odd-width matmul.
        numerator = fq @ (fk.transpose(-1, -2) @ v)
        denominator = fq @ fk.sum(-2)[..., None]
        return numerator / denominator.add_(eps)
    if mode == "chunked":  # padded keys are zero in ``fk``: they add to neither sum
        numerator, denominator = _chunked_sums(fq, fk, v, chunk_size, denominator=True)
        return numerator / denominator.add_(eps)
    ones = torch.ones_like(v[..., :1])
    if key_mask is not None:
        ones = ones * key_mask[:, None, :, None].to(v.dtype)
    sums = _linear_sums(fq, fk, torch.cat([v, ones], dim=-1), causal, mode, chunk_size)
    return sums[..., :-1] / (sums[..., -1:] + eps)


def orthogonal_features(n_features, d, generator=None, device=None, dtype=torch.float32):
    """``(n_features, d)`` Gaussian directions, orthogonal in blocks of ``d``, chi norms.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import orthogonal_features
    >>> w = orthogonal_features(8, 4, generator=torch.Generator().manual_seed(0))
    >>> tuple(w.shape)
    (8, 4)
    >>> block = w[:4] / w[:4].norm(dim=1, keepdim=True)
    >>> torch.allclose(block @ block.T, torch.eye(4), atol=1e-5)
    True
    """
    blocks = []
    for _ in range(math.ceil(n_features / d)):
        gaussian = torch.randn(d, d, generator=generator, device=device, dtype=torch.float64)
        blocks.append(torch.linalg.qr(gaussian).Q.T)
    directions = torch.cat(blocks)[:n_features]
    norms = torch.randn(n_features, d, generator=generator, device=device, dtype=torch.float64)
    return (directions * norms.norm(dim=1, keepdim=True)).to(dtype)


def _favor_features(x, projection, is_query):
    """Positive random features of ``x / d^(1/4)``; shifted by a max that cancels in the ratio."""
    x = x * x.shape[-1] ** -0.25
    logits = x @ projection.T - 0.5 * (x * x).sum(-1, keepdim=True)
    # The shift is per query row, and one constant for all keys of a (batch, head): both
    # cancel between the numerator and the denominator of the attention.
    if is_query:
        shift = logits.amax(dim=-1, keepdim=True)
    else:
        shift = logits.amax(dim=(-1, -2), keepdim=True)
    return torch.exp(logits - shift.detach()) * projection.shape[0] ** -0.5


_PROJECTIONS = {}


def performer_attention(
    q,
    k,
    v,
    n_features=256,
    causal=False,
    redraw=True,
    generator=None,
    key_mask=None,
    projection=None,
    chunk_size="auto",
):
    """FAVOR+ attention (Performer): an unbiased random-feature estimate of softmax attention.

    Parameters
    ----------
    q, k : Tensor of shape (batch, heads, n, d)
    v : Tensor of shape (batch, heads, n, d_v)
    n_features : int, default=256
        Number ``m`` of random features; the error falls like ``1 / sqrt(m)``.
    causal : bool, default=False
        Prefix sums by the chunked linear attention.
    redraw : bool, default=True
        Draw new features on this call; ``False`` reuses the last features drawn for this
        ``(d, n_features, device, dtype)``.
    generator : torch.Generator or None, default=None
        Source of the random features (on the device of ``q``).
    key_mask : bool Tensor of shape (batch, n) or None, default=None
        ``False`` marks padded keys.
    projection : Tensor of shape (n_features, d) or None, default=None
        Fixed features to use instead of drawing (what :class:`MultiHeadAttention` keeps).
    chunk_size : int or "auto", default="auto"
        Chunk length of the causal prefix sums (:func:`chunk_length` of the feature count).

    Returns
    -------
    Tensor of shape (batch, heads, n, d_v)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import performer_attention, softmax_attention
    >>> _ = torch.manual_seed(0)
    >>> q, k, v = 0.5 * torch.randn(3, 1, 2, 8, 4)
    >>> g = torch.Generator().manual_seed(0)
    >>> approx = performer_attention(q, k, v, n_features=4096, generator=g)
    >>> tuple(approx.shape)
    (1, 2, 8, 4)
    >>> bool((approx - softmax_attention(q, k, v)).abs().max() < 0.1)
    True
    """
    _check_qkv(q, k, v)
    if int(n_features) < 1:
        raise ValueError(f"n_features={n_features!r} must be >= 1")
    d = q.shape[-1]
    if projection is None:
        key = (d, int(n_features), q.device, q.dtype)
        if redraw or key not in _PROJECTIONS:
            _PROJECTIONS[key] = orthogonal_features(n_features, d, generator, q.device, q.dtype)
        projection = _PROJECTIONS[key]
    fq = _favor_features(q, projection, is_query=True)
    fk = _favor_features(k, projection, is_query=False)
    return _normalised_linear(fq, fk, v, causal, "chunked", chunk_size, key_mask, 1e-12)


ATTENTION_KINDS = ("softmax", "linear", "performer")


class MultiHeadAttention(torch.nn.Module):
    """Multi-head attention with a softmax, linear or FAVOR+ kernel.

    Parameters
    ----------
    d_model : int
        Model width; must be divisible by ``n_heads``.
    n_heads : int
        Number of heads of width ``d_model // n_heads``.
    kind : {"softmax", "linear", "performer"}, default="softmax"
    causal : bool, default=False
    n_features : int, default=64
        Random features per head for ``kind="performer"`` (redrawn at every training step,
        fixed in eval mode).
    chunk_size : int or "auto", default="auto"
        Chunk length of causal linear / performer attention (:func:`chunk_length`).

    ``forward(x, mask=None)``: ``x`` of shape (batch, n, d_model), ``mask`` (batch, n) bool
    with ``False`` at padded positions; returns (batch, n, d_model).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import MultiHeadAttention
    >>> _ = torch.manual_seed(0)
    >>> mha = MultiHeadAttention(d_model=8, n_heads=2, kind="linear", causal=True)
    >>> x = torch.randn(2, 6, 8)
    >>> y = mha(x)
    >>> tuple(y.shape)
    (2, 6, 8)
    >>> torch.allclose(mha(x[:, :3]), y[:, :3], atol=1e-6)
    True
    """

    def __init__(
        self, d_model, n_heads, kind="softmax", causal=False, n_features=64, chunk_size="auto"
    ):
        super().__init__()
        _check_choice("kind", kind, ATTENTION_KINDS)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.kind, self.causal = n_heads, kind, causal
        self.chunk_size = chunk_size
        self.qkv = torch.nn.Linear(d_model, 3 * d_model)
        self.out = torch.nn.Linear(d_model, d_model)
        if kind == "performer":
            features = orthogonal_features(n_features, d_model // n_heads)
            self.register_buffer("projection", features)

    def forward(self, x, mask=None):
        q, k, v = split_heads(self.qkv(x), 3, self.n_heads)
        if self.kind == "softmax":
            out = softmax_attention(q, k, v, self.causal, mask)
        elif self.kind == "linear":
            mode = "chunked" if self.causal else "parallel"
            out = linear_attention(
                q, k, v, self.causal, mode=mode, chunk_size=self.chunk_size, key_mask=mask
            )
        else:
            if self.training:
                self.projection = orthogonal_features(
                    *self.projection.shape, device=x.device, dtype=self.projection.dtype
                )
            out = performer_attention(
                q, k, v, causal=self.causal, key_mask=mask, projection=self.projection.to(q.dtype)
            )
        return self.out(merge_heads(out))


def split_heads(x, n_parts, n_heads):
    """``(b, n, n_parts * d_model)`` -> ``n_parts`` tensors of shape ``(b, heads, n, d_head)``.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import merge_heads, split_heads
    >>> x = torch.arange(2 * 3 * 24.0).reshape(2, 3, 24)
    >>> q, k, v = split_heads(x, 3, 2)
    >>> tuple(q.shape)
    (2, 2, 3, 4)
    >>> torch.equal(merge_heads(q), x[..., :8])
    True
    """
    b, n, _ = x.shape
    parts = x.reshape(b, n, n_parts, n_heads, -1).permute(2, 0, 3, 1, 4)
    return parts.unbind(0)


def merge_heads(x):
    """``(b, heads, n, d_head)`` -> ``(b, n, heads * d_head)``.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import merge_heads
    >>> x = torch.arange(2 * 2 * 3 * 4.0).reshape(2, 2, 3, 4)
    >>> tuple(merge_heads(x).shape)
    (2, 3, 8)
    >>> torch.equal(merge_heads(x)[0, 1], torch.cat([x[0, 0, 1], x[0, 1, 1]]))
    True
    """
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


class _OffsetScale(torch.nn.Module):
    """``z * gamma_i + beta_i`` for ``i`` heads: cheap queries and keys from one ``z``."""

    def __init__(self, dim, n_heads):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.randn(n_heads, dim) * 0.02 + 1.0)
        self.beta = torch.nn.Parameter(torch.zeros(n_heads, dim))

    def forward(self, z):
        return (z[..., None, :] * self.gamma + self.beta).unbind(-2)


GAU_KINDS = ("quad", "flash")


class GAU(torch.nn.Module):
    """Gated Attention Unit with squared-ReLU attention; ``kind="flash"`` is FLASH.

    ``out = (u * A v) W_o`` with ``u = silu(x W_u)``, ``v = silu(x W_v)`` of width
    ``expansion * d_model``, a shared ``z = silu(x W_z)`` of width ``s`` and
    ``A = relu(q k^T / n)^2`` (``q, k`` = per-dimension scale and offset of ``z``). ``n`` is
    the number of real tokens of the sequence (FLASH: the chunk length inside chunks).

    Parameters
    ----------
    d_model : int
    expansion : int, default=2
    s : int, default=128
        Width of the shared query / key projection.
    kind : {"quad", "flash"}, default="quad"
        Full quadratic attention, or FLASH: quadratic inside chunks of ``chunk_size``
        plus linear attention (``q_lin (K_lin^T V)``) across chunks.
    chunk_size : int, default=256
    causal : bool, default=False

    ``forward(x, mask=None)`` maps (batch, n, d_model) to (batch, n, d_model).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import GAU
    >>> _ = torch.manual_seed(0)
    >>> gau = GAU(d_model=8, s=4, kind="flash", chunk_size=4, causal=True)
    >>> x = torch.randn(2, 8, 8)
    >>> y = gau(x)
    >>> tuple(y.shape)
    (2, 8, 8)
    >>> torch.allclose(gau(x[:, :4]), y[:, :4], atol=1e-6)
    True
    """

    def __init__(self, d_model, expansion=2, s=128, kind="quad", chunk_size=256, causal=False):
        super().__init__()
        _check_choice("kind", kind, GAU_KINDS)
        self.kind, self.chunk_size, self.causal = kind, int(chunk_size), causal
        self.e = expansion * d_model
        self.proj = torch.nn.Linear(d_model, 2 * self.e + s)
        self.scales = _OffsetScale(s, 4 if kind == "flash" else 2)
        self.out = torch.nn.Linear(self.e, d_model)

    def forward(self, x, mask=None):
        u, v, z = F.silu(self.proj(x)).split(
            [self.e, self.e, self.proj.out_features - 2 * self.e], -1
        )
        keep = None if mask is None else mask[..., None].to(x.dtype)
        if keep is not None:
            v = v * keep
        if self.kind == "quad":
            q, k = self.scales(z)
            n = x.new_full((x.shape[0], 1, 1), x.shape[1])
            if mask is not None:
                n = mask.sum(-1).clamp(min=1).to(x.dtype)[:, None, None]
            kernel = F.relu(q @ k.transpose(-1, -2) / n) ** 2
            if self.causal:
                kernel = torch.tril(kernel)
            return self.out(u * (kernel @ v))
        return self.out(u * self._flash(z, v, mask, keep))

    def _flash(self, z, v, mask, keep):
        quad_q, quad_k, lin_q, lin_k = self.scales(z)
        if keep is not None:
            lin_k = lin_k * keep
        b, n, _ = z.shape
        c = self.chunk_size
        pad = -n % c
        chunked = [
            F.pad(t, (0, 0, 0, pad)).reshape(b, -1, c, t.shape[-1])
            for t in (quad_q, quad_k, lin_q, lin_k, v)
        ]
        quad_q, quad_k, lin_q, lin_k, v = chunked
        kernel = F.relu(quad_q @ quad_k.transpose(-1, -2) / c) ** 2
        if self.causal:
            kernel = torch.tril(kernel)
        quadratic = kernel @ v
        states = lin_k.transpose(-1, -2) @ v  # (b, chunks, s, e)
        if self.causal:
            linear = lin_q @ ((torch.cumsum(states, dim=1) - states) / c)
        else:
            length = torch.full((b, 1, 1, 1), float(n), dtype=z.dtype, device=z.device)
            if mask is not None:
                length = mask.sum(-1).clamp(min=1).to(z.dtype)[:, None, None, None]
            linear = lin_q @ (states.sum(dim=1, keepdim=True) / length)
        return (quadratic + linear).reshape(b, -1, v.shape[-1])[:, :n]


class RMSNorm(torch.nn.Module):
    """``x / rms(x) * g`` over the last dimension.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import RMSNorm
    >>> x = torch.tensor([[3.0, 4.0]])
    >>> RMSNorm(2)(x)
    tensor([[0.8485, 1.1314]], grad_fn=<MulBackward0>)
    >>> y = RMSNorm(2)(torch.randn(5, 2))
    >>> torch.allclose(y.pow(2).mean(-1), torch.ones(5), atol=1e-4)
    True
    """

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


TRANSNORMER_ATTENTIONS = ("norm", "diag")


class TransNormerLayer(torch.nn.Module):
    """One TransNormer layer: ``x + Attn(norm(x))`` then ``x + GLU(norm(x))``.

    Parameters
    ----------
    d_model : int
    n_heads : int
    attention : {"norm", "diag"}, default="norm"
        NormAttention ``RMSNorm(phi(Q) (phi(K)^T V))`` with ``phi = elu + 1`` (no
        denominator), or DiagAttention: softmax attention inside blocks of ``block_size``.
    block_size : int, default=64
    causal : bool, default=False
    chunk_size : int, default=64
        Chunk length of causal NormAttention.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import TransNormerLayer
    >>> _ = torch.manual_seed(0)
    >>> norm = TransNormerLayer(d_model=8, n_heads=2, attention="norm", causal=True)
    >>> diag = TransNormerLayer(d_model=8, n_heads=2, attention="diag", block_size=4)
    >>> x = torch.randn(2, 8, 8)
    >>> tuple(norm(x).shape), tuple(diag(x).shape)
    ((2, 8, 8), (2, 8, 8))
    >>> torch.allclose(norm(x[:, :5]), norm(x)[:, :5], atol=1e-5)
    True
    """

    def __init__(
        self, d_model, n_heads, attention="norm", block_size=64, causal=False, chunk_size=64
    ):
        super().__init__()
        _check_choice("attention", attention, TRANSNORMER_ATTENTIONS)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads, self.attention, self.causal = n_heads, attention, causal
        self.block_size, self.chunk_size = int(block_size), int(chunk_size)
        self.norm1, self.norm2 = RMSNorm(d_model), RMSNorm(d_model)
        self.qkv = torch.nn.Linear(d_model, 3 * d_model)
        self.out_norm = RMSNorm(d_model // n_heads)
        self.out = torch.nn.Linear(d_model, d_model)
        self.glu = torch.nn.Linear(d_model, 2 * d_model)
        self.glu_out = torch.nn.Linear(d_model, d_model)

    def forward(self, x, mask=None):
        q, k, v = split_heads(self.qkv(self.norm1(x)), 3, self.n_heads)
        if self.attention == "norm":
            fk, v = _masked_keys(F.elu(k) + 1, v, mask)
            mode = "chunked" if self.causal else "parallel"
            mixed = self.out_norm(
                _linear_sums(F.elu(q) + 1, fk, v, self.causal, mode, self.chunk_size)
            )
        else:
            mixed = block_diagonal_attention(q, k, v, self.block_size, self.causal, mask)
        x = x + self.out(merge_heads(mixed))
        a, b = self.glu(self.norm2(x)).chunk(2, dim=-1)
        return x + self.glu_out(F.silu(a) * b)


def block_diagonal_attention(q, k, v, block_size, causal=False, key_mask=None):
    """Softmax attention restricted to non-overlapping blocks of ``block_size`` positions.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.attention import block_diagonal_attention, softmax_attention
    >>> _ = torch.manual_seed(0)
    >>> q, k, v = torch.randn(3, 1, 2, 8, 4)
    >>> out = block_diagonal_attention(q, k, v, block_size=4)
    >>> tuple(out.shape)
    (1, 2, 8, 4)
    >>> second = softmax_attention(q[:, :, 4:], k[:, :, 4:], v[:, :, 4:])
    >>> torch.allclose(out[:, :, 4:], second, atol=1e-6)
    True
    """
    b, h, n, _ = q.shape
    pad = -n % block_size
    if key_mask is None:
        key_mask = torch.ones(b, n, dtype=torch.bool, device=q.device)
    key_mask = F.pad(key_mask.bool(), (0, pad), value=False)
    q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    blocks = (n + pad) // block_size
    q, k, v = (t.reshape(b, h * blocks, block_size, t.shape[-1]) for t in (q, k, v))
    block_mask = key_mask.reshape(b, 1, blocks, block_size).expand(b, h, blocks, block_size)
    allowed = _boolean_mask(q, k, causal, None)
    own = torch.eye(block_size, dtype=torch.bool, device=q.device)
    keys = block_mask.reshape(b, h * blocks, 1, block_size) | own
    allowed = keys if allowed is None else allowed & keys
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    return out.reshape(b, h, blocks * block_size, -1)[..., :n, :]
