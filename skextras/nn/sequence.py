"""Sequence models: mixture of experts, the residual stack, and the two estimators.

A network is ``embed -> n_layers x [x + mixer(norm(x)); x + ffn(norm(x))] -> norm -> pool ->
linear``. The token mixer is one of :mod:`skextras.nn.attention` or :mod:`skextras.nn.ssm`;
the channel mixer is a GELU MLP, or a :class:`MoE` when ``moe_experts > 0`` (GAU and the
TransNormer layer carry their own channel mixing and get no MLP). Attention mixers see
sinusoidal positions; state-space mixers are position-aware by construction.

Sequences of different lengths are right-padded and carry a mask (``True`` = real token) to
every mixer: keys at padded positions are removed from attention, causal mixers never look
ahead, pooling runs over real tokens only and the experts route real tokens only, so a padded
batch gives each sequence the outputs it gets alone. ``pooling="cls"`` inserts a learned
token right after the last real token, where causal and non-causal mixers alike let it see
the whole sequence.

:class:`MoE` is a softmax router over ``n_experts`` GELU experts with top-``k`` selection
plus ``n_shared`` always-on shared experts (DeepSeek-MoE; Moonlight, the language model of
Kimi-VL). The chosen (token, expert) pairs are sorted by expert so each expert runs one
matmul on its rows, then scattered back with their gate weights: the result equals the
per-token loop ``sum_{e in topk(x)} p_e(x) E_e(x) + sum_s S_s(x)``. ``aux_loss`` is the Switch
load-balancing loss ``n_experts * sum_i f_i P_i`` (``f_i`` the fraction of routed slots sent to
expert ``i``, ``P_i`` its mean router probability), 1 at perfect balance.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from skextras.nn._base import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    base_params,
)
from skextras.nn.attention import GAU, MultiHeadAttention, TransNormerLayer, _check_choice
from skextras.nn.ssm import S4D, SelectiveSSM

MIXERS = ("softmax", "linear", "performer", "gau", "flash", "transnormer", "s4d", "mamba")
CAUSAL_BY_DESIGN = ("s4d", "mamba")
POOLINGS = ("mean", "last", "cls")


class MoE(torch.nn.Module):
    """Top-k routed mixture of GELU experts with shared experts.

    Parameters
    ----------
    d_model : int
    n_experts : int, default=8
    top_k : int, default=2
    n_shared : int, default=1
        Experts applied to every token, unweighted.
    d_hidden : int or None, default=None
        Hidden width of each expert; ``None`` means ``2 * d_model``.
    capacity_factor : float or None, default=None
        When set, an expert takes at most ``ceil(capacity_factor * k * n_tokens / n_experts)``
        tokens per forward pass (first come, first served, as in Switch); the dropped slots
        contribute nothing. ``None`` drops nothing. With a capacity, a token's output depends
        on the other tokens of its batch.

    ``forward(x, mask=None)`` on (..., d_model); after it, ``aux_loss`` holds the
    load-balancing loss of the routed tokens and ``counts`` the tokens each expert ran.
    """

    def __init__(
        self, d_model, n_experts=8, top_k=2, n_shared=1, d_hidden=None, capacity_factor=None
    ):
        super().__init__()
        if not 1 <= top_k <= n_experts:
            raise ValueError(f"top_k={top_k} must be between 1 and n_experts={n_experts}")
        if capacity_factor is not None and capacity_factor <= 0:
            raise ValueError(f"capacity_factor={capacity_factor} must be > 0 or None")
        hidden = d_hidden or 2 * d_model
        self.n_experts, self.top_k, self.capacity_factor = n_experts, top_k, capacity_factor
        self.router = torch.nn.Linear(d_model, n_experts, bias=False)
        scale = 1 / math.sqrt(d_model)
        self.w_in = torch.nn.Parameter(
            torch.empty(n_experts, d_model, hidden).uniform_(-scale, scale)
        )
        self.b_in = torch.nn.Parameter(torch.zeros(n_experts, hidden))
        scale = 1 / math.sqrt(hidden)
        self.w_out = torch.nn.Parameter(
            torch.empty(n_experts, hidden, d_model).uniform_(-scale, scale)
        )
        self.b_out = torch.nn.Parameter(torch.zeros(n_experts, d_model))
        self.shared = torch.nn.ModuleList(_mlp(d_model, hidden) for _ in range(n_shared))
        self.aux_loss = torch.zeros(())
        self.counts = torch.zeros(n_experts, dtype=torch.long)

    def expert(self, e, x):
        """Expert ``e`` on rows ``x`` (n, d_model)."""
        hidden = F.gelu(torch.addmm(self.b_in[e], x, self.w_in[e]))
        return torch.addmm(self.b_out[e], hidden, self.w_out[e])

    def _run_experts(self, tokens, order, counts, gates, capacity):
        """Gate-weighted sum of each token's top_k expert outputs, shape (n_tokens, d_model).

        ``order`` lists the slots (token ``s // top_k``, choice ``s % top_k``) grouped by
        expert in token order; a slot at rank ``r`` of its expert is kept when
        ``r < capacity`` (dropped slots get gate 0). When routing is balanced enough, every
        expert runs in one batched matmul pair over its tokens padded to the busiest expert
        (no Python loop); otherwise each expert runs one matmul pair on its contiguous block.
        Either way the outputs return to slot order by one gather and each token mixes its
        top_k outputs in one batched product (no scatter-add).
        """
        n_slots, d = len(order), tokens.shape[-1]
        width = min(int(counts.max()), capacity)
        starts = torch.cumsum(counts, 0) - counts
        sorted_expert = torch.repeat_interleave(
            torch.arange(self.n_experts, device=tokens.device), counts
        )
        rank = torch.arange(n_slots, device=tokens.device) - starts[sorted_expert]
        kept = rank < width
        sorted_token = order // self.top_k
        if self.n_experts * width <= 2 * n_slots:  # padding costs at most 2x the routed work
            row = sorted_expert * width + rank.clamp(max=width - 1)
            token_of_row = torch.zeros(self.n_experts * width, dtype=order.dtype)
            token_of_row = token_of_row.to(tokens.device).index_copy_(
                0, row[kept], sorted_token[kept]
            )
            batch = tokens.index_select(0, token_of_row).view(self.n_experts, width, d)
            hidden = F.gelu(torch.baddbmm(self.b_in[:, None], batch, self.w_in))
            outputs = torch.baddbmm(self.b_out[:, None], hidden, self.w_out).view(-1, d)
        else:
            sorted_tokens = tokens.index_select(0, sorted_token)
            blocks, start = [], 0
            for e, count in enumerate(counts.tolist()):
                take = min(count, width)
                blocks.append(self.expert(e, sorted_tokens[start : start + take]))
                start += count
            outputs = torch.cat(blocks)
            row = (torch.cumsum(kept, 0) - 1).clamp(min=0)  # dropped slots read any row
        slot_row = torch.empty_like(row).scatter_(0, order, row)
        slot_kept = torch.empty_like(kept).scatter_(0, order, kept).view_as(gates)
        slot_out = outputs.index_select(0, slot_row).view(-1, self.top_k, d)
        return ((gates * slot_kept)[:, None, :] @ slot_out)[:, 0]

    def route(self, x):
        """Router probabilities (n, E), chosen experts (n, k) and their gate weights (n, k)."""
        probs = torch.softmax(self.router(x), dim=-1)
        gates, experts = probs.topk(self.top_k, dim=-1)
        return probs, experts, gates

    def forward(self, x, mask=None):
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        tokens, rows = flat, None  # without a mask every token is routed: no gather/scatter
        if mask is not None:
            rows = torch.arange(len(flat), device=x.device)[mask.reshape(-1).bool()]
            tokens = flat[rows]
        probs, experts, gates = self.route(tokens)
        slot_expert = experts.reshape(-1)
        order = torch.argsort(slot_expert, stable=True)  # slots grouped by expert, token order
        counts = torch.bincount(slot_expert, minlength=self.n_experts)
        self.counts = counts
        self.aux_loss = (
            self.n_experts
            * torch.sum(counts.to(x.dtype) / max(len(slot_expert), 1) * probs.mean(0))
            if len(tokens)
            else x.new_zeros(())
        )
        capacity = len(slot_expert)
        if self.capacity_factor is not None:
            capacity = math.ceil(self.capacity_factor * len(slot_expert) / self.n_experts)
        routed = torch.zeros_like(tokens)
        if len(slot_expert):
            routed = self._run_experts(tokens, order, counts, gates, capacity)
        for shared in self.shared:
            routed = routed + shared(tokens)
        if rows is None:
            return routed.reshape(shape)
        out = torch.zeros_like(flat).index_copy(0, rows, routed)
        return out.reshape(shape)


def _mlp(d_model, hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(d_model, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, d_model)
    )


def sinusoidal_positions(n, d, device=None, dtype=torch.float32):
    """(n, d) sine / cosine position codes of Vaswani et al. (2017)."""
    position = torch.arange(n, device=device, dtype=torch.float64)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, device=device) / d)
    codes = torch.zeros(n, d, device=device, dtype=torch.float64)
    codes[:, 0::2] = torch.sin(position * frequency)
    codes[:, 1::2] = torch.cos(position * frequency)[:, : d // 2]
    return codes.to(dtype)


def make_mixer(mixer, d_model, n_heads, causal, layer=0, n_layers=1):
    """The token mixer module named ``mixer`` (one of ``MIXERS``)."""
    _check_choice("mixer", mixer, MIXERS)
    if mixer in ("softmax", "linear", "performer"):
        return MultiHeadAttention(d_model, n_heads, mixer, causal)
    if mixer in ("gau", "flash"):
        kind = "quad" if mixer == "gau" else "flash"
        return GAU(d_model, s=min(128, d_model), kind=kind, chunk_size=64, causal=causal)
    if mixer == "transnormer":
        # The paper's recipe: block softmax in the lower half, NormAttention above.
        attention = "diag" if layer < n_layers // 2 else "norm"
        return TransNormerLayer(d_model, n_heads, attention, causal=causal)
    if mixer == "s4d":
        return S4D(d_model, d_state=32)
    return SelectiveSSM(d_model, d_state=16, n_heads=n_heads)


class _Block(torch.nn.Module):
    def __init__(self, mixer, d_model, n_heads, causal, moe, layer, n_layers):
        super().__init__()
        self.full_layer = mixer == "transnormer"
        self.norm1 = torch.nn.LayerNorm(d_model)
        self.mixer = make_mixer(mixer, d_model, n_heads, causal, layer, n_layers)
        self.norm2 = torch.nn.LayerNorm(d_model)
        self.ffn = None
        if moe is not None:
            self.ffn = MoE(d_model, **moe)
        elif mixer not in ("gau", "flash", "transnormer"):
            self.ffn = _mlp(d_model, 2 * d_model)

    def forward(self, x, mask):
        x = self.mixer(x, mask) if self.full_layer else x + self.mixer(self.norm1(x), mask)
        if isinstance(self.ffn, MoE):
            return x + self.ffn(self.norm2(x), mask)
        return x if self.ffn is None else x + self.ffn(self.norm2(x))


class SequenceNetwork(torch.nn.Module):
    """Embedding, a stack of residual blocks, masked pooling and a linear head.

    ``forward(packed)`` takes (batch, T, n_inputs + 1) float inputs whose last channel is the
    mask (1 = real token); with ``vocab_size`` the first channel holds token ids.
    """

    def __init__(
        self,
        n_inputs,
        n_outputs,
        mixer="softmax",
        d_model=32,
        n_layers=2,
        n_heads=4,
        moe=None,
        pooling="mean",
        causal=False,
        vocab_size=None,
    ):
        super().__init__()
        _check_choice("pooling", pooling, POOLINGS)
        self.pooling, self.vocab_size = pooling, vocab_size
        self.positions = mixer not in CAUSAL_BY_DESIGN
        if vocab_size:
            self.embed = torch.nn.Embedding(vocab_size, d_model)
        else:
            self.embed = torch.nn.Linear(n_inputs, d_model)
        self.cls = torch.nn.Parameter(torch.randn(d_model) * 0.02) if pooling == "cls" else None
        self.blocks = torch.nn.ModuleList(
            _Block(mixer, d_model, n_heads, causal, moe, i, n_layers) for i in range(n_layers)
        )
        self.norm = torch.nn.LayerNorm(d_model)
        self.head = torch.nn.Linear(d_model, n_outputs)

    def aux_loss(self):
        """Sum of the load-balancing losses of the MoE layers in the last forward pass."""
        losses = [b.ffn.aux_loss for b in self.blocks if isinstance(b.ffn, MoE)]
        return sum(losses) if losses else 0.0

    def forward(self, packed):
        mask = packed[..., -1] > 0.5
        x = packed[..., :-1]
        h = self.embed(x[..., 0].long()) if self.vocab_size else self.embed(x)
        lengths = mask.sum(-1)
        if self.cls is not None:
            h = torch.cat([h, h.new_zeros(h.shape[0], 1, h.shape[2])], dim=1)
            batch = torch.arange(len(h), device=h.device)
            h[batch, lengths] = self.cls.to(h.dtype)
            mask = torch.cat([mask, mask.new_zeros(len(h), 1)], dim=1)
            mask[batch, lengths] = True
        if self.positions:
            h = h + sinusoidal_positions(h.shape[1], h.shape[2], h.device, h.dtype)
        h = h * mask[..., None].to(h.dtype)
        for block in self.blocks:
            h = block(h, mask)
        h = self.norm(h)
        batch = torch.arange(len(h), device=h.device)
        if self.pooling == "mean":
            weights = mask[..., None].to(h.dtype)
            pooled = (h * weights).sum(1) / weights.sum(1).clamp(min=1)
        elif self.pooling == "last":
            pooled = h[batch, (lengths - 1).clamp(min=0)]
        else:
            pooled = h[batch, lengths]
        return self.head(pooled)


_SEQUENCE_CONSTRAINTS = {
    **TorchEstimator._parameter_constraints,
    "mixer": [StrOptions(set(MIXERS))],
    "d_model": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 1, None, closed="left")],
    "n_heads": [Interval(Integral, 1, None, closed="left")],
    "moe_experts": [Interval(Integral, 0, None, closed="left")],
    "moe_top_k": [Interval(Integral, 1, None, closed="left")],
    "moe_aux_weight": [Interval(Real, 0, None, closed="left")],
    "pooling": [StrOptions(set(POOLINGS))],
    "causal": ["boolean"],
    "vocab_size": [Interval(Integral, 1, None, closed="left"), None],
}


class _SequenceEstimator(TorchEstimator):
    """Input handling and the network shared by the classifier and the regressor."""

    def _sequence_init(self, local_vars):
        for name in (
            "mixer",
            "d_model",
            "n_layers",
            "n_heads",
            "moe_experts",
            "moe_top_k",
            "moe_aux_weight",
            "pooling",
            "causal",
            "vocab_size",
        ):
            setattr(self, name, local_vars[name])
        TorchEstimator.__init__(self, **base_params(local_vars))

    # ---------------------------------------------------------------- inputs
    def _packed(self, X, reset):
        """Validate ``X`` and pack it to (n, T, n_inputs + 1) float32 with the mask last."""
        kind = "sequences" if _is_ragged(X) or getattr(X, "ndim", 2) == 3 else "rows"
        if not reset and kind != self.input_kind_:
            raise ValueError(
                f"X holds {kind} but {type(self).__name__} was fitted on {self.input_kind_}"
            )
        if kind == "sequences":
            sequences = [self._check_sequence(x) for x in X]
            width = 1 if self.vocab_size else sequences[0].shape[1]
            if any(s.shape[1] != width for s in sequences):
                raise ValueError("every sequence of X must have the same number of features")
        else:
            dtype = None if self.vocab_size else np.float32
            X = validate_data(self, X, reset=reset, dtype=dtype)
            sequences, width = list(X[:, :, None]), 1
        if reset:
            self.input_kind_ = kind
            if kind == "sequences":
                self.n_features_in_ = width
        elif kind == "sequences" and width != self.n_features_in_:
            raise ValueError(
                f"X has {width} features per step, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features per step"
            )
        if self.vocab_size:
            sequences = [self._check_tokens(s) for s in sequences]
        length = max(len(s) for s in sequences)
        packed = np.zeros((len(sequences), length, width + 1), dtype=np.float32)
        for i, s in enumerate(sequences):
            packed[i, : len(s), :width] = s
            packed[i, : len(s), width] = 1.0
        return packed

    def _check_sequence(self, x):
        x = check_array(x, ensure_2d=False, dtype=None if self.vocab_size else np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(
                f"each sequence of X must be a non-empty (T, n_features) array; got shape {x.shape}"
            )
        return x

    def _check_tokens(self, s):
        if not np.issubdtype(s.dtype, np.number) or np.any(s != np.round(s)):
            raise ValueError(f"with vocab_size={self.vocab_size}, X must hold integer token ids")
        bad = (s < 0) | (s >= self.vocab_size)
        if bad.any():
            raise ValueError(
                f"token id {s[bad].flat[0]} is outside [0, vocab_size={self.vocab_size})"
            )
        return s.astype(np.float32)

    # ---------------------------------------------------------------- network
    def _build_module(self):
        if self.d_model % self.n_heads and self.mixer in ("softmax", "linear", "performer"):
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.mixer == "mamba" and (2 * self.d_model) % self.n_heads:
            raise ValueError(
                f"mixer='mamba' splits 2 * d_model = {2 * self.d_model} channels into "
                f"n_heads={self.n_heads} heads: not divisible"
            )
        moe = None
        if self.moe_experts:
            if self.moe_top_k > self.moe_experts:
                raise ValueError(
                    f"moe_top_k={self.moe_top_k} exceeds moe_experts={self.moe_experts}"
                )
            moe = {"n_experts": self.moe_experts, "top_k": self.moe_top_k}
        causal = self.causal or self.mixer in CAUSAL_BY_DESIGN
        return SequenceNetwork(
            1 if self.vocab_size else self.n_step_features_,
            self._n_network_outputs(),
            mixer=self.mixer,
            d_model=self.d_model,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            moe=moe,
            pooling=self.pooling,
            causal=causal,
            vocab_size=self.vocab_size,
            **self._module_params(),
        )

    def _with_aux(self, loss):
        return loss + self.moe_aux_weight * self.module_.aux_loss()

    def _fit_inputs(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        packed = self._packed(X, reset)
        if reset:
            self.n_step_features_ = packed.shape[2] - 1
        return packed

    def _predict_inputs(self, X):
        check_is_fitted(self)
        return self._packed(X, reset=False)

    def _fitted_state(self):
        return {"input_kind_": self.input_kind_, "n_step_features_": self.n_step_features_}


def _is_ragged(X):
    """A list / tuple of sequences, at least one of them 2-D or of a different length."""
    if not isinstance(X, (list, tuple)) or not X:
        return False
    shapes = {np.shape(x) for x in X}
    return len(shapes) > 1 or any(len(s) != 1 for s in shapes)


_SHARED_DOC = """
    Parameters
    ----------
    mixer : {"softmax", "linear", "performer", "gau", "flash", "transnormer", "s4d", \
"mamba"}, default="softmax"
        Token mixer of every layer (:mod:`skextras.nn.attention`, :mod:`skextras.nn.ssm`).
        "s4d" and "mamba" are causal whatever ``causal`` says.
    d_model : int, default=16
        Width of the residual stream.
    n_layers : int, default=1
    n_heads : int, default=2
        Heads of the attention mixers (``d_model`` must be divisible by it); for "mamba",
        the heads of one scalar decay each among the ``2 * d_model`` inner channels.
    moe_experts : int, default=0
        ``> 0`` replaces each MLP by a :class:`MoE` with this many routed experts and one
        shared expert.
    moe_top_k : int, default=2
    moe_aux_weight : float, default=0.01
        Weight of the load-balancing loss added to the training loss.
    pooling : {"mean", "last", "cls"}, default="mean"
        Mean over real tokens, the last real token, or a learned summary token.
    causal : bool, default=False
        Causal attention (each position sees only the past).
    vocab_size : int or None, default=None
        When set, ``X`` holds integer token ids in ``[0, vocab_size)``, embedded.
    lr, weight_decay, optimizer, lr_schedule, warmup_epochs, batch_size, max_epochs, \
validation_fraction, n_iter_no_change, tol, clip_grad_norm, random_state, verbose, device, \
distributed, **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator` (here ``lr=1e-2`` and
        ``max_epochs=100`` by default, sized for small data); ``module__*`` go to
        :class:`SequenceNetwork`.

    Inputs ``X``: a 3-D array (n_samples, T, n_features); a list of (T_i, n_features) arrays
    of different lengths T_i (padded and masked inside); or a 2-D array (n_samples, T), each
    row a sequence of T scalars (then ``n_features_in_ = T``, as scikit-learn expects of a
    table). With ``vocab_size``: a 2-D integer array or a list of 1-D integer arrays.

    Attributes
    ----------
    input_kind_ : {"rows", "sequences"}
        How ``X`` was read in ``fit``; ``predict`` needs the same kind.
    n_features_in_ : int
        Sequence length T for "rows", features per step for "sequences".
    module_ : SequenceNetwork
    history_ : list of dict
    n_epochs_ : int
"""


class SequenceClassifier(TorchClassifierMixin, _SequenceEstimator):
    __doc__ = (
        "Sequence classifier: attention, state-space or MoE layers behind the sklearn API.\n"
        + _SHARED_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skextras.nn import SequenceClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 10, 3)).astype(np.float32)
    >>> y = (X[:, :, 0].sum(1) > 0).astype(int)
    >>> clf = SequenceClassifier("linear", max_epochs=30, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (64, 2)
    """
    )

    _parameter_constraints = _SEQUENCE_CONSTRAINTS

    def __init__(
        self,
        mixer="softmax",
        *,
        d_model=16,
        n_layers=1,
        n_heads=2,
        moe_experts=0,
        moe_top_k=2,
        moe_aux_weight=0.01,
        pooling="mean",
        causal=False,
        vocab_size=None,
        lr=1e-2,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=100,
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
        self._sequence_init(locals())

    def _n_network_outputs(self):
        return len(self.classes_)

    def _make_fit_data(self, X, y, reset):
        packed = self._fit_inputs(X, y, reset)
        y = column_or_1d(y, warn=True)
        if len(y) != len(packed):
            raise ValueError(f"X has {len(packed)} samples but y has {len(y)}")
        return packed, self._encode_classes(y, reset)

    def _compute_loss(self, module, batch):
        X, y = batch
        return self._with_aux(F.cross_entropy(module(X), y))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        packed = self._predict_inputs(X)
        proba = self._apply(lambda x: torch.softmax(self.module_(x), dim=1), packed)
        return proba.astype(np.float64)

    def _fitted_state(self):
        return {
            **TorchClassifierMixin._fitted_state(self),
            **_SequenceEstimator._fitted_state(self),
        }


class SequenceRegressor(TorchRegressorMixin, _SequenceEstimator):
    __doc__ = (
        "Sequence regressor: attention, state-space or MoE layers behind the sklearn API.\n"
        + _SHARED_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skextras.nn import SequenceRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 10, 2)).astype(np.float32)
    >>> reg = SequenceRegressor("s4d", max_epochs=20, random_state=0).fit(X, X[:, :, 0].mean(1))
    >>> reg.predict(X).shape
    (64,)
    """
    )

    _parameter_constraints = _SEQUENCE_CONSTRAINTS
    __init__ = SequenceClassifier.__init__

    def _n_network_outputs(self):
        return self.n_outputs_

    def _make_fit_data(self, X, y, reset):
        packed = self._fit_inputs(X, y, reset)
        y = check_array(y, ensure_2d=False, dtype=np.float32)
        if len(y) != len(packed):
            raise ValueError(f"X has {len(packed)} samples but y has {len(y)}")
        if reset:
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self._y_1d = y.ndim == 1
        return packed, y.reshape(len(y), -1)

    def _compute_loss(self, module, batch):
        X, y = batch
        return self._with_aux(F.mse_loss(module(X), y))

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs) as in ``fit``."""
        packed = self._predict_inputs(X)
        out = self._apply(self.module_, packed).astype(np.float64).reshape(len(packed), -1)
        return out.ravel() if self._y_1d else out

    def _fitted_state(self):
        return {**TorchRegressorMixin._fitted_state(self), **_SequenceEstimator._fitted_state(self)}
