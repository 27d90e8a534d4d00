"""The torch estimator base: one training loop shared by every deep model.

:class:`TorchEstimator` owns everything that is not the model: parameter routing
(``module__*``), seeding, the optimiser and its learning-rate schedule, mini-batching, early
stopping with best-weight restore, gradient clipping, the progress bar, ``history_``,
``partial_fit``, devices, distributed data-parallel training and ``save`` / ``load``. A model
supplies three things: ``_make_fit_data`` (validated arrays), ``_build_module`` (the
``torch.nn.Module``) and ``_compute_loss`` (a scalar from one mini-batch). The role mixins
(classifier, regressor, transformer, density) add the public methods of each estimator kind.
"""

import contextlib
import copy
import functools
import inspect
import math
import os
import time
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    DensityMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from skextras.callback import CallbackContainer, EarlyStopping, TrainingCallback, check_callbacks
from skextras.nn import _serialization
from skextras.nn._history import History

_MODULE_PREFIX = "module__"
_CRITERION_PREFIX = "criterion__"
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")
_PREDICT_CHUNK = 8192
_ROW_TILE = 64


def _to_tensor(array, device, dtype=torch.float32):
    """Copy a numpy array into a new tensor (copying also avoids torch's read-only warning)."""
    return torch.tensor(np.asarray(array), dtype=dtype, device=device)


def resolve_device(device):
    """Map ``"cpu" | "cuda[:index]" | "mps" | "xpu" | "auto"`` or a ``torch.device`` to a
    ``torch.device``; anything else is a ``ValueError`` listing the valid devices."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    valid = f'"auto", {", ".join(map(repr, _DEVICE_TYPES))} or "cuda:<index>"'
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a device; valid devices: {valid}") from exc
    if device.type not in _DEVICE_TYPES:
        raise ValueError(f"device={str(device)!r} is not supported; valid devices: {valid}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was requested but CUDA is not available")
    return device


@contextlib.contextmanager
def seeded_torch(random_state, device):
    """Fork torch's RNG and seed it from ``random_state`` (int, RandomState or None)."""
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def _distributed_world(mode):
    """(rank, world_size) of the process group to train in, or (0, 1) for a local fit."""
    if mode is False or not torch.distributed.is_available():
        return 0, 1
    if not torch.distributed.is_initialized():
        if mode is True:
            from skextras.nn.launch import init_process_group

            init_process_group()
        else:
            world = os.environ.get("WORLD_SIZE", "1")
            if world.isdigit() and int(world) > 1:
                warnings.warn(
                    f"WORLD_SIZE={world} is set but no torch.distributed process group is "
                    "initialised: every process trains its own copy of the model. Pass "
                    "distributed=True (or call skextras.nn.launch.init_process_group()) to "
                    "train one model data-parallel"
                )
            return 0, 1
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


class TorchEstimator(BaseEstimator):
    """Base of every torch-backed estimator: the training loop and its settings.

    Parameters whose name starts with ``module__`` are passed, without the prefix, to the
    constructor of the network, so ``GridSearchCV`` can tune them like any other
    hyper-parameter (``param_grid={"module__hidden": [16, 64]}``).

    Parameters
    ----------
    lr : float, default=1e-3
        Peak learning rate of the optimiser.
    weight_decay : float, default=0.0
        Weight decay. With ``optimizer="adamw"`` it is decoupled from the gradient
        (Loshchilov & Hutter, 2019); with ``"adam"`` / ``"sgd"`` it is an L2 penalty.
    optimizer : {"adamw", "adam", "sgd"}, default="adamw"
        Optimiser (torch's own implementations; ``"sgd"`` uses momentum 0.9).
    lr_schedule : {"constant", "cosine"}, default="constant"
        Learning rate after warm-up: constant, or cosine decay to 0 at ``max_epochs``.
    warmup_epochs : int, default=0
        Epochs of linear warm-up from 0 to ``lr``.
    batch_size : int, default=128
        Mini-batch size (the global batch when training distributed); capped at the number
        of training samples.
    max_epochs : int, default=200
        Number of passes over the data in ``fit``.
    validation_fraction : float or None, default=None
        Fraction of the data held out to measure the validation loss. When set, early
        stopping watches the validation loss and the best weights are restored at the end;
        otherwise it watches the training loss and keeps the last weights.
    n_iter_no_change : int or None, default=10
        Stop after this many epochs without an improvement larger than ``tol``; ``None``
        trains for ``max_epochs``.
    tol : float, default=1e-4
        Minimum decrease of the watched loss that counts as an improvement.
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value before each step.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and every random draw
        of training. Runs with the same seed are identical on CPU.
    verbose : int, default=0
        1 shows a tqdm progress bar over epochs with the current losses.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network trains and predicts; ``"auto"`` picks CUDA when available.
    distributed : {"auto", True, False}, default="auto"
        Distributed data-parallel training (``torch.nn.parallel.DistributedDataParallel``).
        ``"auto"`` uses it when a ``torch.distributed`` process group of more than one
        process is initialised (``skextras.nn.launch`` or ``torchrun``); ``True`` also
        initialises the group from the ``torchrun`` environment variables. Every process
        must call ``fit`` on the same data with the same ``random_state``; each computes
        gradients on its share of every global batch.
    callbacks : list or None, default=None
        Training callbacks (:mod:`skextras.callback`): ``TrainingCallback`` objects
        (``before_training(model)``, ``after_iteration(model, epoch, evals_log)`` -> stop,
        ``after_training(model)``) or skorch-style objects with ``on_train_begin(net)``,
        ``on_epoch_end(net)`` and ``on_train_end(net)`` (``initialize()`` is called first;
        ``on_epoch_end`` stops training by returning True or, as in skorch, raising
        ``KeyboardInterrupt``), real skorch callbacks included: ``net.history_`` indexes like
        skorch's. ``evals_log`` is ``{"train": {"loss": [...]}, "valid": {"score": [...],
        "loss": [...]}}`` (``valid`` with ``validation_fraction``). They run in order, before
        the early stopping that ``n_iter_no_change`` / ``tol`` construct
        (:class:`~skextras.callback.EarlyStopping` on the last loss, restoring the best
        weights when validating). Not saved by :meth:`save`.
    **module_params
        ``module__<name>=value`` arguments for the network constructor.

    Examples
    --------
    Every estimator of :mod:`skextras.nn` is trained by this loop; its settings are
    ordinary parameters and each epoch is logged in ``history_``:

    >>> from sklearn.datasets import load_iris
    >>> from skextras.nn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), max_epochs=5, lr_schedule="cosine",
    ...                     random_state=0).fit(X, y)
    >>> len(clf.history_), sorted(clf.history_[-1])
    (5, ['dur', 'epoch', 'lr', 'train_loss'])
    """

    _parameter_constraints = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adamw", "adam", "sgd"})],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "distributed": [StrOptions({"auto"}), "boolean"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
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
        callbacks=None,
        **module_params,
    ):
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.clip_grad_norm = clip_grad_norm
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.distributed = distributed
        self.callbacks = callbacks
        for name, value in module_params.items():
            setattr(self, name, value)
        self._extra_names = tuple(module_params)

    # ------------------------------------------------------------------ parameters
    _ROUTED_PREFIXES = (_MODULE_PREFIX,)

    @classmethod
    def _get_param_names(cls):
        # ``callbacks`` is a parameter of every subclass, also of those whose ``__init__``
        # does not list it: there it arrives through ``**module_params`` (``base_params``).
        return sorted({*super()._get_param_names(), "callbacks"})

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update({k: getattr(self, k) for k in self._extra_names})
        return params

    def set_params(self, **params):
        for name in [p for p in params if p.startswith(self._ROUTED_PREFIXES)]:
            setattr(self, name, params.pop(name))
            self._extra_names = tuple(dict.fromkeys((*self._extra_names, name)))
        return super().set_params(**params)

    def _routed_params(self, prefix):
        """The ``<prefix>*`` parameters without their prefix."""
        names = [k for k in self._extra_names if k.startswith(prefix)]
        return {k[len(prefix) :]: getattr(self, k) for k in names}

    def _module_params(self):
        """The ``module__*`` parameters without their prefix: the network's arguments."""
        return self._routed_params(_MODULE_PREFIX)

    def _validate_params(self):
        super()._validate_params()
        unknown = [k for k in self._extra_names if not k.startswith(self._ROUTED_PREFIXES)]
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unknown}; routed "
                f"arguments take one of the prefixes {list(self._ROUTED_PREFIXES)} "
                f"(valid parameters: {sorted(self._get_param_names())})"
            )
        resolve_device(self.device)

    # ------------------------------------------------------------------ model hooks
    def _make_fit_data(self, X, y, reset):
        """Validate ``X, y``; return the arrays a mini-batch is sliced from."""
        raise NotImplementedError

    def _build_module(self):
        """Return a fresh ``torch.nn.Module`` (fitted shape attributes are already set)."""
        raise NotImplementedError

    def _compute_loss(self, module, batch):
        """Scalar mean loss of one mini-batch; ``module`` may be wrapped by DDP."""
        raise NotImplementedError

    def _sample_losses(self, module, batch):
        """Per-sample losses of one mini-batch, shape (n,); needed for ``sample_weight``."""
        raise ValueError(
            f"{type(self).__name__} does not support sample_weight: its loss is not a mean "
            "of per-sample losses"
        )

    def get_loss(self, module, batch, sample_weight=None):
        """The training loss of one mini-batch: the hook to override for a custom loss.

        Parameters
        ----------
        module : torch.nn.Module
            The network, possibly wrapped by ``DistributedDataParallel``: call it, don't
            reach into its attributes.
        batch : tuple of Tensor
            The rows of one mini-batch of the arrays ``_make_fit_data`` returned (for the
            classifiers and regressors ``(X, y)``, on ``device_``).
        sample_weight : Tensor of shape (n,) or None, default=None
            Weights of the rows; ``None`` when every weight is 1.

        Returns
        -------
        loss : Tensor of shape ()
            The mean loss of the batch, or its ``sample_weight``-weighted mean. The loop
            weights each process's value by its share of the global batch under DDP, so
            the gradient is the one of the whole global batch.
        """
        if sample_weight is None:
            return self._compute_loss(module, batch)
        losses = self._sample_losses(module, batch)
        return (losses * sample_weight).sum() / sample_weight.sum().clamp_min(1e-30)

    def _validation_score(self, data, sample_weight):
        """The ``valid_score`` history column (accuracy, R^2); ``None`` for no column."""
        return None

    def _data_init(self, module, data):
        """Data-dependent initialisation before training (actnorm, standardisation)."""

    def _on_epoch_start(self, module, epoch):
        """Per-epoch schedule of model quantities (e.g. a temperature)."""

    def _fitted_state(self):
        """JSON-able fitted attributes, beyond the weights, that ``load`` must restore."""
        return {}

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y=None, sample_weight=None):
        self._validate_params()
        arrays = self._make_fit_data(X, y, reset=True)
        weights = self._fit_weights(arrays, sample_weight)
        self._initialize(arrays)
        self._train(arrays, self.max_epochs, weights)
        return self

    def _partial_fit(self, X, y=None, sample_weight=None):
        first = not hasattr(self, "module_")
        if first:
            self._validate_params()
        arrays = self._make_fit_data(X, y, reset=first)
        weights = self._fit_weights(arrays, sample_weight)
        if first:
            self._initialize(arrays)
        self._train(arrays, 1, weights, keep_split=True)
        return self

    def _fit_weights(self, arrays, sample_weight):
        """Validated float32 sample weights (``None`` when all are 1)."""
        if sample_weight is None:
            return None
        weights = _check_sample_weight(
            sample_weight, arrays[0], dtype=np.float64, ensure_non_negative=True
        )
        if not weights.sum() > 0:
            raise ValueError("sample_weight sums to 0: at least one weight must be positive")
        return weights.astype(np.float32)

    def _initialize(self, arrays):
        self.device_ = resolve_device(self.device)
        self._random_state = check_random_state(self.random_state)
        self.history_ = History()
        self.n_epochs_ = 0
        self.best_loss_ = np.inf
        self._no_improvement = 0
        self.__dict__.pop("_held_out", None)
        with self._forked_rng():
            self.module_ = self._build_module().to(self.device_)
            data = tuple(_to_tensor(a, self.device_, _dtype_of(a)) for a in arrays)
            self._data_init(self.module_, data)
        self.optimizer_ = self._make_optimizer()
        self._n_steps = 0
        self._schedule_epochs = self.max_epochs

    def _restart_schedule(self, n_epochs):
        """Start a new warm-up / cosine cycle of ``n_epochs`` (a new training phase)."""
        self._n_steps = 0
        self._schedule_epochs = n_epochs

    def _make_optimizer(self):
        params = self.module_.parameters()
        if self.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(params, lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)

    def _lr_factor(self, step, steps_per_epoch):
        """Warm-up then constant or cosine multiplier of ``lr`` at optimisation step ``step``."""
        warmup = self.warmup_epochs * steps_per_epoch
        if step < warmup:
            return (step + 1) / warmup
        if self.lr_schedule == "constant":
            return 1.0
        horizon = max(self._schedule_epochs * steps_per_epoch - warmup, 1)
        progress = min((step - warmup) / horizon, 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    def _forked_rng(self):
        """A torch RNG scope seeded from the fitted RNG, leaving global torch state alone."""
        return seeded_torch(self._random_state, self.device_)

    def _split(self, n_samples):
        """Shuffled train / validation index arrays (validation empty when not requested)."""
        if self.validation_fraction is None:
            return np.arange(n_samples), np.arange(0)
        n_valid = int(round(self.validation_fraction * n_samples))
        if n_valid < 1 or n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training or no "
                f"validation sample out of n_samples={n_samples}"
            )
        order = self._random_state.permutation(n_samples)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def _split_data(self, data, keep_split):
        """(train, valid) tuples of tensors; the last tensor of each is the sample weight.

        ``partial_fit`` (``keep_split``) holds out a validation set on its first call and
        keeps it: a later call on the same rows trains on the same training rows, a call
        on other rows trains on all of them, and both are validated on the first call's
        held-out rows.
        """
        held = getattr(self, "_held_out", None) if keep_split else None
        if held is not None:
            n_first, valid_idx, valid = held
            same_rows = len(data[0]) == n_first and all(
                torch.equal(t[_index(valid_idx, t)], v) for t, v in zip(data, valid)
            )
            if not same_rows:
                return data, valid
            train_idx = np.setdiff1d(np.arange(n_first), valid_idx)
        else:
            train_idx, valid_idx = self._split(len(data[0]))
        train = tuple(t[_index(train_idx, t)] for t in data)
        valid = tuple(t[_index(valid_idx, t)] for t in data)
        if keep_split and held is None and len(valid_idx):
            self._held_out = (len(data[0]), valid_idx, valid)
        return train, valid

    def _train(self, arrays, n_epochs, sample_weight=None, keep_split=False):
        rank, world = _distributed_world(self.distributed)
        weights = np.ones(len(arrays[0]), np.float32) if sample_weight is None else sample_weight
        data = tuple(_to_tensor(a, self.device_, _dtype_of(a)) for a in (*arrays, weights))
        train, valid = self._split_data(data, keep_split)
        weighted = sample_weight is not None
        module = self.module_
        if world > 1:
            module = torch.nn.parallel.DistributedDataParallel(self.module_)
        stopper = EarlyStopping(
            rounds=self.n_iter_no_change,
            metric_name="loss",
            maximize=False,
            min_delta=self.tol,
            save_best=bool(len(valid[0])),
        )
        user = [_as_training_callback(cb) for cb in check_callbacks(self.callbacks)]
        callbacks = CallbackContainer([*user, stopper])
        callbacks.before_training(self)
        # the stopping state carries over from earlier partial_fit calls / training phases
        stopper.best_score, stopper.current_rounds = self.best_loss_, self._no_improvement
        epochs = range(n_epochs)
        bar = None
        if self.verbose and rank == 0:
            from tqdm.auto import tqdm

            bar = epochs = tqdm(epochs, desc=type(self).__name__, unit="epoch")
        with self._forked_rng():
            for _ in epochs:
                start = time.perf_counter()
                self._on_epoch_start(self.module_, self.n_epochs_)
                train_loss = self._run_epoch(module, train, weighted, rank, world)
                record = {"epoch": self.n_epochs_, "train_loss": train_loss}
                watched = train_loss
                if len(valid[0]):
                    watched = record["valid_loss"] = self._evaluate_loss(valid, weighted)
                    score = self._validation_score(valid[:-1], valid[-1] if weighted else None)
                    if score is not None:
                        record["valid_score"] = score
                record["lr"] = self.optimizer_.param_groups[0]["lr"]
                record["dur"] = time.perf_counter() - start
                self.history_.append(record)
                self.n_epochs_ += 1
                if bar is not None:
                    bar.set_postfix({k: v for k, v in record.items() if k.endswith("loss")})
                if not math.isfinite(watched):
                    raise FloatingPointError(
                        f"{type(self).__name__}: the loss became {watched} at epoch "
                        f"{record['epoch']}; lower lr={self.lr} or set clip_grad_norm"
                    )
                if callbacks.after_iteration(self, record["epoch"], self._evals_log()):
                    break
        if bar is not None:
            bar.close()
        self.best_loss_, self._no_improvement = stopper.best_score, stopper.current_rounds
        callbacks.after_training(self)
        self.module_.eval()

    def _evals_log(self):
        """``history_`` as the callbacks' ``evals_log``: losses (and scores) per epoch."""
        log = {"train": {"loss": [r["train_loss"] for r in self.history_]}}
        valid = [r for r in self.history_ if "valid_loss" in r]
        if valid:
            log["valid"] = {}
            if "valid_score" in valid[-1]:
                log["valid"]["score"] = [r.get("valid_score") for r in valid]
            log["valid"]["loss"] = [r["valid_loss"] for r in valid]
        return log

    @property
    def history(self):
        """``history_`` under skorch's name (``net.history``), for skorch's callbacks."""
        return self.history_

    def _checkpoint(self, epoch):
        return _copy_state(self.module_)

    def _restore_checkpoint(self, state):
        self.module_.load_state_dict(state)

    def _run_epoch(self, module, train, weighted, rank, world):
        """One pass of mini-batch steps; returns the mean training loss (over all ranks).

        Under DDP each rank takes every ``world``-th row of the global batch, and its loss
        is scaled by ``world * mass_rank / mass_batch`` (mass: row count or weight sum), so
        DDP's gradient average is the gradient of the whole batch's mean loss for any batch
        and shard sizes. A rank whose shard is empty still joins the gradient all-reduce
        with a zero loss on one stand-in row.
        """
        module.train()
        *arrays, weights = train
        n = len(arrays[0])
        batch_size = min(self.batch_size, n)
        order = torch.as_tensor(self._random_state.permutation(n), device=self.device_)
        steps_per_epoch = math.ceil(n / batch_size)
        total = torch.zeros((), device=self.device_)
        for start in range(0, n, batch_size):
            batch_idx = order[start : start + batch_size]
            idx = batch_idx[rank::world]
            factor = self._lr_factor(self._n_steps, steps_per_epoch)
            for group in self.optimizer_.param_groups:
                group["lr"] = self.lr * factor
            if len(idx):
                batch = tuple(t[idx] for t in arrays)
                loss = self.get_loss(module, batch, weights[idx] if weighted else None)
                mass = weights[idx].sum() if weighted else len(idx)
            else:
                stand_in = tuple(t[batch_idx[:1]] for t in arrays)
                loss = self.get_loss(module, stand_in) * 0.0
                mass = 0.0
            scaled = loss
            if world > 1:
                batch_mass = weights[batch_idx].sum() if weighted else len(batch_idx)
                scaled = loss * (world * mass / batch_mass)
            self.optimizer_.zero_grad(set_to_none=True)
            scaled.backward()
            if self.clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(self.module_.parameters(), self.clip_grad_norm)
            self.optimizer_.step()
            self._n_steps += 1
            total += loss.detach() * mass
        if world > 1:
            torch.distributed.all_reduce(total)
        return total.item() / weights.sum().item()

    def _evaluate_loss(self, data, weighted=False):
        """Mean (or weighted mean) loss of ``data`` (its last tensor: the sample weights)."""
        self.module_.eval()
        *arrays, weights = data
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(weights), _PREDICT_CHUNK):
                batch = tuple(t[start : start + _PREDICT_CHUNK] for t in arrays)
                w = weights[start : start + _PREDICT_CHUNK]
                loss = self.get_loss(self.module_, batch, w if weighted else None)
                total += loss.item() * w.sum().item()
        return total / weights.sum().item()

    # ------------------------------------------------------------------ inference
    def _apply_tensor(self, fn, X):
        """``fn`` on chunks of the tensor ``X`` in eval mode without grad; one tensor back."""
        self.module_.eval()
        with torch.no_grad():
            chunks = range(0, len(X), _PREDICT_CHUNK)
            return torch.cat([fn(X[i : i + _PREDICT_CHUNK]) for i in chunks])

    def _apply(self, fn, X):
        """Run ``fn`` on chunks of ``X`` (eval mode, no grad) and stack the numpy results."""
        self.module_.eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, len(X), _PREDICT_CHUNK):
                chunk = _to_tensor(X[start : start + _PREDICT_CHUNK], self.device_)
                # Pad to a multiple of the BLAS row tile so that a sample's result never
                # depends on how many others share its batch.
                n_rows = len(chunk)
                pad = -n_rows % _ROW_TILE
                if pad:
                    chunk = torch.cat([chunk, chunk.new_zeros((pad, *chunk.shape[1:]))])
                outputs.append(fn(chunk)[:n_rows].detach().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.empty((0,))

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Save the fitted model to the folder ``path``.

        Writes ``weights.pt`` (``torch.save`` of the state dict) and ``model.json`` (the class,
        its parameters and the fitted attributes). No pickle is involved. A class or function
        parameter (a ``module`` factory, a ``criterion``) is stored by its import path, which
        must import back: lambdas, functions defined inside functions and
        ``functools.partial`` objects raise ``ValueError``, and objects defined in
        ``__main__`` warn (loading needs them passed explicitly). A ``module`` given as an
        ``nn.Module`` instance is stored by its class name and must be passed to ``load``.

        Parameters
        ----------
        path : str or Path
            Folder, created if missing.
        """
        check_is_fitted(self)
        fitted = {"n_features_in_": int(self.n_features_in_), "history_": list(self.history_)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        fitted.update(self._fitted_state())
        params = self.get_params(deep=False)
        params.pop("callbacks")  # they act during fit only
        _serialization.write_folder(path, type(self), params, fitted, self.module_.state_dict())

    @classmethod
    def load(cls, path, device=None, *, module=None, factories=()):
        """Load a model folder written by :meth:`save`, trusting nothing in it.

        Nothing named in ``model.json`` is imported or called: the estimator class must be
        ``cls`` or a subclass already imported, and a saved factory (``module``, a
        ``criterion``, ...) must be one skextras provides, a ``torch.nn`` class, or one
        passed here. Every field is type-checked, and ``weights.pt`` is read with
        ``torch.load(weights_only=True)`` and must hold exactly the network's tensor names,
        shapes and dtypes. See ``docs/security.md``.

        Parameters
        ----------
        path : str or Path
            Folder written by :meth:`save`.
        device : str or None, default=None
            Device to load onto; ``None`` keeps the saved ``device`` parameter.
        module : callable, torch.nn.Module or None, default=None
            The network factory (or instance) to use instead of the saved ``module``
            parameter: how to load a model whose factory is your own.
        factories : iterable of callables, default=()
            Further classes / functions a saved parameter may name (matched by
            ``"module:qualname"``), added to the allow-list for this call only.

        Returns
        -------
        estimator : TorchEstimator
            The fitted estimator, in eval mode.

        Raises
        ------
        TypeError
            The folder holds another estimator class than ``cls`` (or its subclasses).
        ValueError
            A field of ``model.json`` is malformed, names a factory outside the allow-list,
            or ``weights.pt`` is not a state dict of the network; the message names the
            file and the field.
        """
        file = Path(path) / "model.json"
        spec, saved_params, fitted = _serialization.read_document(path)
        klass = _serialization.find_class(file, spec, cls)
        overrides = {} if module is None else {"module": module}
        params = _serialization.decode_params(file, klass, saved_params, factories, overrides)
        if device is not None:
            params["device"] = device
        estimator = klass(**params)
        try:
            estimator._validate_params()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{file}: invalid parameters: {exc}") from exc
        _serialization.set_fitted(file, estimator, fitted)
        shapes = _serialization.network_shapes(file, estimator)
        state = _serialization.read_weights(path, shapes)
        estimator._restore_fitted()
        estimator.module_.load_state_dict(state)
        estimator.module_.eval()
        return estimator

    def _restore_fitted(self):
        """Recreate the non-saved fitted state (device, RNG, optimiser) after ``load``."""
        self.device_ = resolve_device(self.device)
        self._random_state = check_random_state(self.random_state)
        self.n_epochs_ = len(self.history_)
        self.best_loss_ = np.inf
        self._no_improvement = 0
        self._n_steps = 0
        self._schedule_epochs = self.max_epochs
        with seeded_torch(0, self.device_):
            self.module_ = self._build_module().to(self.device_)
        self.optimizer_ = self._make_optimizer()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")


class _SkorchStyleCallback(TrainingCallback):
    """A skorch-style callback (``on_train_begin`` / ``on_epoch_end`` / ``on_train_end``, each
    optional, called with the estimator as ``net``) seen through the training protocol."""

    def __init__(self, callback):
        self.callback = callback

    def _call(self, hook, net):
        method = getattr(self.callback, hook, None)
        return None if method is None else method(net)

    def before_training(self, model):
        if hasattr(self.callback, "initialize"):
            self.callback.initialize()
        self._call("on_train_begin", model)
        return model

    def after_iteration(self, model, iteration, evals_log):
        try:
            return bool(self._call("on_epoch_end", model))
        except KeyboardInterrupt:  # skorch's way for a callback to end training
            return True

    def after_training(self, model):
        self._call("on_train_end", model)
        return model


_SKORCH_HOOKS = ("on_train_begin", "on_epoch_end", "on_train_end")


def _as_training_callback(callback):
    """``callback`` itself when it follows the protocol, else its skorch-style adapter."""
    if isinstance(callback, TrainingCallback) or not any(
        hasattr(callback, hook) for hook in _SKORCH_HOOKS
    ):
        return callback
    return _SkorchStyleCallback(callback)


def base_params(local_vars):
    """The :class:`TorchEstimator` arguments out of a subclass ``__init__``'s ``locals()``."""
    params = {k: v for k, v in local_vars.items() if k in TorchEstimator._parameter_constraints}
    params.update(local_vars.get("module_params", {}))
    return params


def _dtype_of(array):
    return torch.int64 if np.issubdtype(np.asarray(array).dtype, np.integer) else torch.float32


def _copy_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _index(indices, tensor):
    return torch.as_tensor(indices, device=tensor.device)


def _call_with_shapes(factory, shapes, params):
    """Call a network factory with the data shapes it accepts plus the ``module__`` params.

    An ``nn.Module`` instance is deep-copied instead (so every fit starts from its weights).
    """
    if isinstance(factory, torch.nn.Module):
        if params:
            raise ValueError(
                f"module is an instance of {type(factory).__name__}: module__ parameters "
                f"{sorted(params)} need a class or factory function as module"
            )
        return copy.deepcopy(factory)
    try:
        accepted = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        accepted = {}
    kwargs = {k: v for k, v in shapes.items() if k in accepted}
    kwargs.update(params)
    return factory(**kwargs)


# ---------------------------------------------------------------------- role mixins
class TorchClassifierMixin(ClassifierMixin):
    """Classifier role: integer-coded labels, a logits network, ``predict_proba``.

    The network maps ``(n, n_features_in_)`` float32 inputs to ``(n, n_classes)`` logits.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skextras.nn import MLPClassifier, TorchClassifierMixin
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), max_epochs=5, random_state=0).fit(X, y)
    >>> isinstance(clf, TorchClassifierMixin), clf.classes_, clf.predict_proba(X[:2]).shape
    (True, array([0, 1, 2]), (2, 3))
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and labels ``y``; return self.

        ``sample_weight`` (n_samples,), non-negative, weights each sample's loss (the batch
        loss is the weighted mean); a ``class_weight`` parameter multiplies it.
        """
        self._partial_classes = None  # a new fit takes its classes from y
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch on ``X, y``; ``classes`` lists every label on the first call.

        With ``validation_fraction``, the first call holds out the validation rows and
        later calls keep them (see ``history_``'s ``valid_loss``).
        """
        if not hasattr(self, "module_"):
            self._partial_classes = classes
        if getattr(self, "class_weight", None) == "balanced":
            raise ValueError(
                "class_weight='balanced' is computed from the whole y and is not supported "
                "by partial_fit; pass a dict of class weights"
            )
        return self._partial_fit(X, y, sample_weight)

    def _fit_weights(self, arrays, sample_weight):
        weights = super()._fit_weights(arrays, sample_weight)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return weights
        codes = arrays[1]
        if class_weight == "balanced":
            per_class = compute_class_weight("balanced", classes=np.unique(codes), y=codes)
            table = np.ones(len(self.classes_))
            table[np.unique(codes)] = per_class
        else:
            unknown = [k for k in class_weight if k not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight has labels {unknown} not in classes_")
            table = np.asarray(
                [float(class_weight.get(label, 1.0)) for label in self.classes_.tolist()]
            )
        cw = table[codes].astype(np.float32)
        return cw if weights is None else weights * cw

    def _make_fit_data(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32)
        return X, self._encode_classes(y, reset)

    def _encode_classes(self, y, reset):
        """Check the labels, learn ``classes_`` when ``reset`` and return their int64 codes."""
        check_classification_targets(y)
        if reset:
            classes = getattr(self, "_partial_classes", None)
            self.classes_ = np.unique(y) if classes is None else np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                    f"got only one class: {self.classes_[0]!r}"
                )
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(f"y contains labels not in classes_: {np.unique(y[unseen])}")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _compute_loss(self, module, batch):
        X, y = batch
        return torch.nn.functional.cross_entropy(module(X), y)

    def _sample_losses(self, module, batch):
        X, y = batch
        return torch.nn.functional.cross_entropy(module(X), y, reduction="none")

    def _validation_score(self, data, sample_weight):
        """Accuracy (weighted by ``sample_weight`` when given) of the validation rows."""
        X, y = data
        hits = (self._apply_tensor(self.module_, X).argmax(1) == y).float()
        if sample_weight is None:
            return hits.mean().item()
        return ((hits * sample_weight).sum() / sample_weight.sum()).item()

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self._apply(lambda x: torch.softmax(self.module_(x), dim=1), X).astype(np.float64)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _fitted_state(self):
        return {"classes_": self.classes_}


class TorchRegressorMixin(RegressorMixin):
    """Regressor role: float targets, one or several outputs, squared-error loss.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skextras.nn import MLPRegressor, TorchRegressorMixin
    >>> X, y = make_regression(50, 3, n_targets=2, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), max_epochs=5, random_state=0).fit(X, y)
    >>> isinstance(reg, TorchRegressorMixin), reg.predict(X).shape
    (True, (50, 2))
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` (n_samples, n_features) and ``y`` (n_samples[, n_outputs]).

        ``sample_weight`` (n_samples,), non-negative, weights each sample's loss.
        """
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch on ``X, y`` (a validation split is held out once, on the first call)."""
        return self._partial_fit(X, y, sample_weight)

    def _make_fit_data(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32, multi_output=True)
        y = np.asarray(y, dtype=np.float32)
        if reset:
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self._y_1d = y.ndim == 1
        return X, y.reshape(len(y), -1)

    def _compute_loss(self, module, batch):
        X, y = batch
        return torch.nn.functional.mse_loss(module(X), y)

    def _sample_losses(self, module, batch):
        X, y = batch
        return torch.nn.functional.mse_loss(module(X), y, reduction="none").mean(1)

    def _validation_score(self, data, sample_weight):
        """R^2 of the validation rows (averaged uniformly over outputs)."""
        from sklearn.metrics import r2_score

        X, y = data
        pred = self._apply_tensor(self.module_, X)
        weights = None if sample_weight is None else sample_weight.cpu().numpy()
        return float(r2_score(y.cpu().numpy(), pred.cpu().numpy(), sample_weight=weights))

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs) as in ``fit``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        out = self._apply(self.module_, X).astype(np.float64).reshape(len(X), -1)
        return out.ravel() if self._y_1d else out

    def _fitted_state(self):
        return {"n_outputs_": self.n_outputs_, "_y_1d": self._y_1d}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class TorchTransformerMixin(TransformerMixin):
    """Transformer role: unsupervised ``fit(X)``, ``transform``, ``inverse_transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import RealNVPFlow, TorchTransformerMixin
    >>> X, _ = make_moons(128, noise=0.05, random_state=0)
    >>> flow = RealNVPFlow(n_couplings=2, hidden_layer_sizes=(8,), max_epochs=3,
    ...                    random_state=0).fit(X)
    >>> isinstance(flow, TorchTransformerMixin)
    True
    >>> np.allclose(flow.inverse_transform(flow.transform(X[:3])), X[:3], atol=1e-4)
    True
    """

    def fit(self, X, y=None):
        """Fit on ``X`` (n_samples, n_features); ``y`` is ignored. Returns self."""
        return self._fit(X)

    def partial_fit(self, X, y=None):
        """One epoch on ``X``; ``y`` is ignored."""
        return self._partial_fit(X)

    def get_feature_names_out(self, input_features=None):
        """Output names ``<classname>0 ... <classname>{k-1}``."""
        check_is_fitted(self)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object)

    def _make_fit_data(self, X, y, reset):
        return (validate_data(self, X, reset=reset, dtype=np.float32),)

    def _validated(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float32)

    def _validated_codes(self, Z):
        """``Z`` as float32, checked to have the ``_n_features_out`` columns of a latent code."""
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32)
        if Z.shape[1] != self._n_features_out:
            raise ValueError(f"Z has {Z.shape[1]} columns, expected {self._n_features_out}")
        return Z


class TorchDensityMixin(DensityMixin):
    """Density role: ``score_samples`` is the log-likelihood (nats), ``sample`` draws data.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skextras.nn import RealNVPFlow, TorchDensityMixin
    >>> X, _ = make_moons(128, noise=0.05, random_state=0)
    >>> flow = RealNVPFlow(n_couplings=2, hidden_layer_sizes=(8,), max_epochs=3,
    ...                    random_state=0).fit(X)
    >>> isinstance(flow, TorchDensityMixin), flow.score_samples(X[:3]).shape
    (True, (3,))
    >>> flow.sample(4, random_state=0).shape
    (4, 2)
    """

    def fit(self, X, y=None):
        """Fit on ``X`` (n_samples, n_features); ``y`` is ignored. Returns self."""
        return self._fit(X)

    def partial_fit(self, X, y=None):
        """One epoch on ``X``; ``y`` is ignored."""
        return self._partial_fit(X)

    def _make_fit_data(self, X, y, reset):
        # Two samples at least: the models standardise the data and need a spread.
        return (validate_data(self, X, reset=reset, dtype=np.float32, ensure_min_samples=2),)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` (nats per sample)."""
        return float(np.mean(self.score_samples(X)))


class _CriterionMixin:
    """What the two wrappers share: a user network and an optional user ``criterion``.

    Placed before the role mixin, so that a ``criterion`` replaces the role's loss.
    """

    _ROUTED_PREFIXES = (_MODULE_PREFIX, _CRITERION_PREFIX)
    _wrapper_constraints = {
        **TorchEstimator._parameter_constraints,
        "module": [callable],
        "criterion": [callable, None],
    }

    def _initialize(self, arrays):
        self._build_criterion()
        super()._initialize(arrays)

    def _restore_fitted(self):
        self._build_criterion()
        super()._restore_fitted()

    def _build_criterion(self):
        """``criterion_``: the loss class instantiated with ``criterion__*``, or the callable."""
        params = self._routed_params(_CRITERION_PREFIX)
        if self.criterion is None and params:
            raise ValueError(f"criterion__ parameters {sorted(params)} need a criterion")
        if isinstance(self.criterion, type):
            self.criterion_ = self.criterion(**params)
        elif self.criterion is not None:
            self.criterion_ = functools.partial(self.criterion, **params)
        else:
            self.criterion_ = None

    def _targets(self, y):
        return y

    def _compute_loss(self, module, batch):
        if self.criterion_ is None:
            return super()._compute_loss(module, batch)
        X, y = batch
        loss = self.criterion_(module(X), self._targets(y))
        if loss.ndim:
            raise ValueError(
                f"criterion={self.criterion!r} returned a tensor of shape "
                f"{tuple(loss.shape)}; without sample_weight it must return the scalar loss"
            )
        return loss

    def _sample_losses(self, module, batch):
        if self.criterion_ is None:
            return super()._sample_losses(module, batch)
        X, y = batch
        criterion = self.criterion_
        if isinstance(criterion, torch.nn.Module) and hasattr(criterion, "reduction"):
            criterion = copy.copy(criterion)
            criterion.reduction = "none"
        losses = criterion(module(X), self._targets(y))
        if losses.ndim == 0 or len(losses) != len(X):
            raise ValueError(
                f"criterion={self.criterion!r} returned shape {tuple(losses.shape)}: "
                "sample_weight needs one loss per sample (a torch loss class, or a callable "
                "returning per-sample losses)"
            )
        return losses.reshape(len(X), -1).mean(1)


_WRAPPER_DOC = """
    Parameters
    ----------
    module : type, callable or torch.nn.Module
        Network factory, called with the ``module__*`` parameters plus ``n_features`` and
        ``n_outputs`` ({outputs}) when its signature accepts them; or a module instance,
        deep-copied at each fit (so every fit starts from its weights).
    criterion : type, callable or None, default=None
        Training loss: a torch loss class (``torch.nn.{loss}``, ...) instantiated with the
        ``criterion__*`` parameters, or a callable ``criterion(output, target,
        **criterion_params)``. ``None`` uses {default}. With ``sample_weight`` the loss
        class is run with ``reduction="none"`` (a callable must then return per-sample
        losses) and its weighted mean is minimised.{class_weight}
    **kwargs
        Training settings of :class:`TorchEstimator`, ``module__*`` and ``criterion__*``
        parameters.
"""


class TorchClassifier(_CriterionMixin, TorchClassifierMixin, TorchEstimator):
    __doc__ = (
        """Classifier wrapping any ``torch.nn.Module`` that returns logits.
"""
        + _WRAPPER_DOC.format(
            outputs="the number of classes",
            loss="CrossEntropyLoss",
            default="the cross entropy of the logits",
            class_weight="""
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (label -> weight; missing labels weigh 1), multiplied into
        ``sample_weight``; ``"balanced"`` is ``n_samples / (n_classes * count(class))`` as
        in scikit-learn.""",
        )
        + """
    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import make_classification
    >>> from skextras.nn import TorchClassifier
    >>> def net(n_features, n_outputs, hidden=16):
    ...     return torch.nn.Sequential(torch.nn.Linear(n_features, hidden), torch.nn.ReLU(),
    ...                                torch.nn.Linear(hidden, n_outputs))
    >>> X, y = make_classification(200, random_state=0)
    >>> clf = TorchClassifier(net, module__hidden=8, max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (200, 2)
    """
    )

    _parameter_constraints = {
        **_CriterionMixin._wrapper_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        module,
        *,
        criterion=None,
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
        self.module = module
        self.criterion = criterion
        self.class_weight = class_weight
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        shapes = {"n_features": self.n_features_in_, "n_outputs": len(self.classes_)}
        return _call_with_shapes(self.module, shapes, self._module_params())


class TorchRegressor(_CriterionMixin, TorchRegressorMixin, TorchEstimator):
    __doc__ = (
        """Regressor wrapping any ``torch.nn.Module`` that returns ``(n, n_outputs)`` predictions.
"""
        + _WRAPPER_DOC.format(
            outputs="the number of targets",
            loss="MSELoss",
            default="the mean squared error",
            class_weight="",
        )
        + """
    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import make_regression
    >>> from skextras.nn import TorchRegressor
    >>> X, y = make_regression(100, 3, random_state=0)
    >>> reg = TorchRegressor(torch.nn.Linear, module__in_features=3, module__out_features=1,
    ...                      lr=0.1, max_epochs=50, random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (100,)
    """
    )

    _parameter_constraints = _CriterionMixin._wrapper_constraints

    def __init__(
        self,
        module,
        *,
        criterion=None,
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
        self.module = module
        self.criterion = criterion
        TorchEstimator.__init__(self, **base_params(locals()))

    def _build_module(self):
        shapes = {"n_features": self.n_features_in_, "n_outputs": self.n_outputs_}
        return _call_with_shapes(self.module, shapes, self._module_params())
