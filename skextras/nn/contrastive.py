"""Contrastive learning: the InfoNCE loss and Contrastive Predictive Coding.

:func:`info_nce` is the categorical cross-entropy of picking the positive key among the
positive and ``N - 1`` negatives from scores ``s(q, k) / temperature`` (van den Oord et al.,
2018). With the scores of a critic ``f`` and ``N`` candidates it bounds the mutual
information of the pairs from below: ``I(q; k) >= log N - L`` (Poole et al., 2019). The bound
cannot exceed ``log N`` and is tight for the optimal critic ``log p(k | q) / p(k) + c(q)`` as
``N -> inf`` when ``I << log N``.

:class:`CPC` learns representations of sequences by that bound: a strided 1-D convolution
``g_enc`` encodes the sequence into ``z_t``, a GRU ``g_ar`` summarises ``z_{<=t}`` into a
context ``c_t``, and for every horizon ``k = 1..K`` a bilinear critic
``s_k(z, c) = z^T W_k c`` must pick ``z_{t+k}`` of the same sequence among those of the
other sequences of the mini-batch (in-batch negatives), at every ``t`` at once.
"""

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from skextras.nn._base import TorchEstimator, TorchTransformerMixin, base_params


def info_nce(
    query,
    positive_key,
    negative_keys=None,
    temperature=0.1,
    reduction="mean",
    similarity="cosine",
):
    """InfoNCE loss of matching each query with its positive key.

    Parameters
    ----------
    query : Tensor, shape (..., N, D)
        Queries; leading dimensions are independent batches.
    positive_key : Tensor, shape (..., N, D)
        Key ``i`` is the positive of query ``i``.
    negative_keys : Tensor of shape (M, D) or (..., N, M, D), or None, default=None
        Negatives shared by every query, or per query. ``None`` uses the other ``N - 1``
        positive keys of the batch as the negatives of each query (in-batch negatives).
    temperature : float, default=0.1
        Scores are divided by it.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over queries (and leading dimensions); ``"none"`` returns shape ``(..., N)``.
    similarity : {"cosine", "dot"}, default="cosine"
        Score ``s(q, k)``: cosine similarity (SimCLR, MoCo) or the plain dot product
        (CPC's bilinear critic, for embeddings that carry the critic themselves).

    Returns
    -------
    Tensor
        ``-log softmax(scores)[positive]`` reduced as requested, in nats.
        ``log(N) - loss`` with in-batch negatives is a lower bound of the mutual information.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from skextras.nn.contrastive import info_nce
    >>> _ = torch.manual_seed(0)
    >>> query = torch.randn(4, 8)
    >>> loss = info_nce(query, query + 0.01 * torch.randn(4, 8))
    >>> bool(loss < info_nce(query, torch.randn(4, 8)))
    True
    >>> random = info_nce(query, torch.randn(4, 8), temperature=1e6)
    >>> round(random.item(), 4), round(math.log(4), 4)
    (1.3863, 1.3863)
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature!r} must be > 0")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction={reduction!r} is not one of 'mean', 'sum', 'none'")
    if similarity not in ("cosine", "dot"):
        raise ValueError(f"similarity={similarity!r} is not one of 'cosine', 'dot'")
    if query.dim() < 2 or query.shape != positive_key.shape:
        raise ValueError(
            f"query {tuple(query.shape)} and positive_key {tuple(positive_key.shape)} must have "
            "the same shape (..., N, D)"
        )
    if negative_keys is not None and not isinstance(negative_keys, torch.Tensor):
        raise TypeError(f"negative_keys must be a Tensor or None, got {type(negative_keys)}")
    if similarity == "cosine":
        query, positive_key = F.normalize(query, dim=-1), F.normalize(positive_key, dim=-1)
        if negative_keys is not None:
            negative_keys = F.normalize(negative_keys, dim=-1)
    if negative_keys is None:
        logits = query @ positive_key.transpose(-1, -2)  # (..., N, N); positives on the diagonal
        labels = torch.arange(query.shape[-2], device=query.device)
        labels = labels.expand(logits.shape[:-1])
    else:
        positive = (query * positive_key).sum(-1, keepdim=True)
        if negative_keys.dim() == 2:
            negative = query @ negative_keys.T
        elif (
            negative_keys.shape[:-2] == query.shape[:-1]
            and negative_keys.shape[-1] == (query.shape[-1])
        ):
            negative = (query.unsqueeze(-2) @ negative_keys.transpose(-1, -2)).squeeze(-2)
        else:
            raise ValueError(
                f"negative_keys has shape {tuple(negative_keys.shape)}, expected (M, "
                f"{query.shape[-1]}) or {(*query.shape[:-1], 'M', query.shape[-1])}"
            )
        logits = torch.cat([positive, negative], dim=-1)
        labels = torch.zeros(logits.shape[:-1], dtype=torch.long, device=query.device)
    loss = F.cross_entropy(
        (logits / temperature).reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
    ).reshape(labels.shape)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _kernel_padding(stride):
    """Kernel ``2 s - s % 2`` with padding ``s // 2``: ``T`` steps become ``floor(T / s)``."""
    return 2 * stride - stride % 2, stride // 2


def _encoder_layers(n_channels, hidden, strides):
    """Strided 1-D convolutions with ReLU; ``()`` is one 1x1 convolution."""
    layers, width = [], n_channels
    for s in strides or (1,):
        kernel, padding = _kernel_padding(s)
        layers += [torch.nn.Conv1d(width, hidden, kernel, s, padding), torch.nn.ReLU()]
        width = hidden
    return layers


def encoded_length(n_steps, strides):
    """Number of encoder outputs ``z_t`` for an input of ``n_steps`` time steps.

    Examples
    --------
    >>> from skextras.nn.contrastive import encoded_length
    >>> encoded_length(32, (2, 2))
    8
    >>> encoded_length(100, (5, 4))
    5
    """
    for s in strides or (1,):
        kernel, padding = _kernel_padding(s)
        n_steps = (n_steps + 2 * padding - kernel) // s + 1
    return n_steps


class CPCModule(torch.nn.Module):
    """``g_enc`` (strided conv), ``g_ar`` (GRU) and the ``K`` bilinear step predictors.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.contrastive import CPCModule
    >>> _ = torch.manual_seed(0)
    >>> module = CPCModule(n_channels=2, hidden=8, n_context=6, horizon=2, strides=(2, 2))
    >>> z, context = module(torch.randn(4, 2, 16))
    >>> tuple(z.shape), tuple(context.shape)
    ((4, 4, 8), (4, 4, 6))
    """

    def __init__(self, n_channels, hidden, n_context, horizon, strides):
        super().__init__()
        self.n_channels = n_channels
        self.encoder = torch.nn.Sequential(*_encoder_layers(n_channels, hidden, strides))
        self.gru = torch.nn.GRU(hidden, n_context, batch_first=True)
        self.predictors = torch.nn.ModuleList(
            torch.nn.Linear(n_context, hidden, bias=False) for _ in range(horizon)
        )

    def forward(self, x):
        """Flat rows ``(N, T * d)`` -> codes ``z`` (N, T', hidden), contexts ``c`` (N, T', C)."""
        x = x.reshape(len(x), -1, self.n_channels).transpose(1, 2)
        z = self.encoder(x).transpose(1, 2)
        context, _ = self.gru(z)
        return z, context


def cpc_loss(z, context, predictors):
    """Mean over horizons ``k`` and times ``t`` of InfoNCE with in-batch negatives.

    ``z`` (N, T', hidden) are the codes, ``context`` (N, T', C) the GRU states and
    ``predictors[k - 1]`` the bilinear map ``W_k``; horizons beyond ``T' - 1`` are skipped.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from skextras.nn.contrastive import cpc_loss
    >>> _ = torch.manual_seed(0)
    >>> z, context = torch.randn(4, 5, 3), torch.randn(4, 5, 6)
    >>> zero = [torch.nn.Linear(6, 3, bias=False)]
    >>> _ = torch.nn.init.zeros_(zero[0].weight)
    >>> round(cpc_loss(z, context, zero).item(), 4), round(math.log(4), 4)
    (1.3863, 1.3863)
    """
    horizon = min(len(predictors), z.shape[1] - 1)
    total = 0.0
    for k, predictor in enumerate(predictors[:horizon], start=1):
        predicted = predictor(context[:, :-k]).transpose(0, 1)  # (T' - k, N, hidden)
        target = z[:, k:].transpose(0, 1)
        total = total + info_nce(predicted, target, temperature=1.0, similarity="dot")
    return total / horizon


class CPC(TorchTransformerMixin, TorchEstimator):
    """Contrastive Predictive Coding (van den Oord et al., 2018) for sequences.

    ``fit(X)`` trains the encoder, the GRU and the predictors to maximise the InfoNCE bound
    on the mutual information between the context ``c_t`` and the future codes
    ``z_{t+1..t+K}``; ``transform(X)`` returns context vectors as features.

    Parameters
    ----------
    n_components : int, default=32
        Width of the context ``c_t`` (the GRU state): the number of output features.
    hidden : int, default=32
        Width of the codes ``z_t``.
    n_steps : int, default=4
        Prediction horizon ``K`` (capped at the encoded length minus one).
    encoder_strides : tuple of int, default=(2, 2)
        Stride of each encoder convolution (kernel ``2 s - s % 2``): the encoder downsamples time
        by their product. ``()`` is one 1x1 convolution (no downsampling).
    pooling : {"last", "mean"}, default="last"
        ``transform`` returns the last context ``c_T'`` or the mean over time.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    n_channels_ : int
        Channels ``d`` per time step (1 for 2-D ``X``).
    n_timesteps_ : int
        Time steps ``T`` of the training sequences.
    module_ : CPCModule

    Notes
    -----
    ``X`` is ``(n, T)`` (one channel) or ``(n, T, d)``; 3-D input is read as flat rows of
    ``T * d`` values, time-major, so both forms give the same result.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.nn import CPC
    >>> X = np.sin(np.linspace(0, 20, 64) * np.linspace(0.5, 2, 40)[:, None])
    >>> CPC(n_components=8, max_epochs=2, random_state=0).fit_transform(X).shape
    (40, 8)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "encoder_strides": [tuple, list],
        "pooling": [StrOptions({"last", "mean"})],
    }

    def __init__(
        self,
        n_components=32,
        hidden=32,
        n_steps=4,
        *,
        encoder_strides=(2, 2),
        pooling="last",
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
        self.hidden = hidden
        self.n_steps = n_steps
        self.encoder_strides = encoder_strides
        self.pooling = pooling
        TorchEstimator.__init__(self, **base_params(locals()))

    @property
    def _n_features_out(self):
        return self.n_components

    def _rows(self, X, reset):
        """``(n, T, d)`` sequences as flat ``(n, T * d)`` rows; remembers ``d`` on reset."""
        channels = 1
        if getattr(X, "ndim", 2) == 3:
            X = np.asarray(X)
            channels = X.shape[2]
            if not reset and channels != self.n_channels_:
                raise ValueError(f"X has {channels} channels, expected {self.n_channels_}")
            X = X.reshape(len(X), -1)
        elif not reset:
            channels = self.n_channels_
        X = validate_data(self, X, reset=reset, dtype=np.float32)
        if reset:
            self.n_channels_ = channels
        return X

    def _make_fit_data(self, X, y, reset):
        X = self._rows(X, reset)
        if reset:
            strides = tuple(self.encoder_strides)
            if any(not isinstance(s, Integral) or s < 1 for s in strides):
                raise ValueError(f"encoder_strides={self.encoder_strides!r} must be ints >= 1")
            if X.shape[1] % self.n_channels_:
                raise ValueError(f"n_features={X.shape[1]} is not a multiple of channels")
            self.n_timesteps_ = X.shape[1] // self.n_channels_
            if encoded_length(self.n_timesteps_, strides) < 2:
                raise ValueError(
                    f"CPC needs at least 2 encoded steps to predict one; n_features="
                    f"{X.shape[1]} ({self.n_timesteps_} time steps) with encoder_strides="
                    f"{strides} gives {encoded_length(self.n_timesteps_, strides)}"
                )
        return (X,)

    def _build_module(self):
        return CPCModule(
            self.n_channels_,
            self.hidden,
            self.n_components,
            self.n_steps,
            tuple(self.encoder_strides),
            **self._module_params(),
        )

    def _compute_loss(self, module, batch):
        z, context = module(batch[0])  # through the DDP wrapper when distributed
        return cpc_loss(z, context, getattr(module, "module", module).predictors)

    def transform(self, X):
        """Context features, shape (n_samples, n_components)."""
        X = self._rows(X, reset=False)

        def features(x):
            _, context = self.module_(x)
            return context[:, -1] if self.pooling == "last" else context.mean(1)

        return self._apply(features, X).astype(np.float64)

    def _fitted_state(self):
        return {"n_channels_": self.n_channels_, "n_timesteps_": self.n_timesteps_}
