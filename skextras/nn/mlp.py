"""Multi-layer perceptrons: the network, its activations, and the two estimators."""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from skextras.nn._base import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    base_params,
)
from skextras.nn._serialization import register_factory
from skextras.nn.losses import LOSSES

_PLAIN = {
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "gelu": torch.nn.GELU,
    "silu": torch.nn.SiLU,
    "swish": torch.nn.SiLU,
    "mish": torch.nn.Mish,
    "elu": torch.nn.ELU,
    "selu": torch.nn.SELU,
    "softplus": torch.nn.Softplus,
    "tanh": torch.nn.Tanh,
}
# Gated linear units (Dauphin et al. 2017; Shazeer 2020): out = gate(a) * b for [a, b] = W x.
_GATES = {
    "glu": torch.sigmoid,
    "swiglu": torch.nn.functional.silu,
    "geglu": torch.nn.functional.gelu,
}
ACTIVATIONS = tuple(_PLAIN) + tuple(_GATES)


@register_factory
class GatedLinear(torch.nn.Module):
    """``gate(x W_a) * (x W_b)``: one linear layer of twice the width, split in two."""

    def __init__(self, n_in, n_out, activation, bias=True):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, 2 * n_out, bias=bias)
        self.activation = activation

    def forward(self, x):
        a, b = self.linear(x).chunk(2, dim=-1)
        return _GATES[self.activation](a) * b


@register_factory
class MLP(torch.nn.Module):
    """Fully connected network ``n_features -> hidden... -> n_outputs``.

    Parameters
    ----------
    n_features, n_outputs : int
        Input and output widths.
    hidden : tuple of int, default=(64,)
        Widths of the hidden layers.
    activation : str, default="relu"
        One of ``ACTIVATIONS``; the gated ones (glu, swiglu, geglu) replace each hidden
        ``Linear + activation`` by a :class:`GatedLinear`.
    bias : bool, default=True
        Whether the linear layers have biases.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    zero_last : bool, default=False
        Initialise the output layer to zero (identity start for coupling layers).
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden=(64,),
        activation="relu",
        bias=True,
        dropout=0.0,
        zero_last=False,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {ACTIVATIONS}")
        layers, width = [], n_features
        for size in hidden:
            if activation in _GATES:
                layers.append(GatedLinear(width, size, activation, bias))
            else:
                layers += [torch.nn.Linear(width, size, bias=bias), _PLAIN[activation]()]
            if dropout:
                layers.append(torch.nn.Dropout(dropout))
            width = size
        last = torch.nn.Linear(width, n_outputs, bias=bias)
        if zero_last:
            torch.nn.init.zeros_(last.weight)
            if bias:
                torch.nn.init.zeros_(last.bias)
        layers.append(last)
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


_MLP_CONSTRAINTS = {
    **TorchEstimator._parameter_constraints,
    "hidden_layer_sizes": [tuple, list, Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "bias": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}


class _MLPEstimator(TorchEstimator):
    """The network construction the classifier and the regressor share."""

    def _build_module(self):
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if isinstance(hidden, Integral) else tuple(hidden)
        if any(not isinstance(h, Integral) or h < 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r} must be >= 1")
        return MLP(
            self.n_features_in_,
            self._n_network_outputs(),
            hidden=hidden,
            activation=self.activation,
            bias=self.bias,
            dropout=self.dropout,
            **self._module_params(),
        )


def _mlp_init(self, hidden_layer_sizes, activation, bias, dropout, base):
    self.hidden_layer_sizes = hidden_layer_sizes
    self.activation = activation
    self.bias = bias
    self.dropout = dropout
    TorchEstimator.__init__(self, **base)


class MLPClassifier(TorchClassifierMixin, _MLPEstimator):
    """Multi-layer perceptron classifier trained with AdamW.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers.
    activation : str, default="relu"
        relu, leaky_relu, gelu, silu / swish, mish, elu, selu, softplus, tanh, or a gated
        unit: glu, swiglu, geglu.
    bias : bool, default=True
        ``False`` builds bias-free linear layers.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    loss : {"cross_entropy", "soft_f1", "soft_accuracy"}, default="cross_entropy"
        Training loss. ``"soft_f1"`` is ``1 -`` macro F1 computed from probabilities
        (soft counts) and ``"soft_accuracy"`` is ``1 -`` the mean probability of the true
        class: differentiable surrogates of the metrics (:mod:`skextras.nn.losses`).
        ``sample_weight`` / ``class_weight`` weight the per-sample cross entropy or soft
        accuracy; ``"soft_f1"`` is not a mean over samples and refuses them.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (label -> weight; missing labels weigh 1), multiplied into
        ``sample_weight``; ``"balanced"`` is ``n_samples / (n_classes * count(class))`` as
        in scikit-learn.
    lr, weight_decay, optimizer, lr_schedule, warmup_epochs, batch_size, max_epochs, \
validation_fraction, n_iter_no_change, tol, clip_grad_norm, random_state, verbose, device, \
distributed, **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : torch.nn.Module
        The fitted network (returns logits).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (with a validation split),
        ``lr``, ``dur`` (seconds).
    n_epochs_ : int
        Epochs trained.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skextras.nn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), lr=1e-2, random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 1) >= 0.9
    True
    """

    _parameter_constraints = {
        **_MLP_CONSTRAINTS,
        "loss": [StrOptions(set(LOSSES))],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        activation="relu",
        *,
        bias=True,
        dropout=0.0,
        loss="cross_entropy",
        class_weight=None,
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
        self.loss = loss
        self.class_weight = class_weight
        _mlp_init(self, hidden_layer_sizes, activation, bias, dropout, base_params(locals()))

    def _n_network_outputs(self):
        return len(self.classes_)

    def _compute_loss(self, module, batch):
        X, y = batch
        return LOSSES[self.loss](module(X), y)

    def _sample_losses(self, module, batch):
        if self.loss == "soft_f1":
            raise ValueError(
                "loss='soft_f1' is a macro F1 of the whole batch, not a mean of per-sample "
                "losses: it supports neither sample_weight nor class_weight"
            )
        if self.loss == "soft_accuracy":
            X, y = batch
            return 1 - torch.softmax(module(X), dim=1).gather(1, y[:, None])[:, 0]
        return super()._sample_losses(module, batch)


class MLPRegressor(TorchRegressorMixin, _MLPEstimator):
    """Multi-layer perceptron regressor (one or several outputs) trained with AdamW.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers.
    activation : str, default="relu"
        As in :class:`MLPClassifier`.
    bias : bool, default=True
        ``False`` builds bias-free linear layers.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    loss : {"squared_error", "huber", "absolute_error"}, default="squared_error"
        Training loss (``"huber"`` with delta 1).
    lr, weight_decay, optimizer, lr_schedule, warmup_epochs, batch_size, max_epochs, \
validation_fraction, n_iter_no_change, tol, clip_grad_norm, random_state, verbose, device, \
distributed, **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    n_outputs_ : int
    module_ : torch.nn.Module
    history_ : list of dict
    n_epochs_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.nn import MLPRegressor
    >>> X, y = make_regression(200, 4, noise=1.0, random_state=0)
    >>> reg = MLPRegressor((32,), lr=1e-2, random_state=0).fit(X, y / y.std())
    >>> reg.score(X, y / y.std()) > 0.9
    True
    """

    _parameter_constraints = {
        **_MLP_CONSTRAINTS,
        "loss": [StrOptions({"squared_error", "huber", "absolute_error"})],
    }
    _REGRESSION_LOSSES = {
        "squared_error": torch.nn.functional.mse_loss,
        "huber": torch.nn.functional.huber_loss,
        "absolute_error": torch.nn.functional.l1_loss,
    }

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        activation="relu",
        *,
        bias=True,
        dropout=0.0,
        loss="squared_error",
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
        self.loss = loss
        _mlp_init(self, hidden_layer_sizes, activation, bias, dropout, base_params(locals()))

    def _n_network_outputs(self):
        return self.n_outputs_

    def _compute_loss(self, module, batch):
        X, y = batch
        return self._REGRESSION_LOSSES[self.loss](module(X), y)

    def _sample_losses(self, module, batch):
        X, y = batch
        return self._REGRESSION_LOSSES[self.loss](module(X), y, reduction="none").mean(1)
