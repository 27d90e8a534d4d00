"""Direct preference optimisation: the DPO / IPO losses and a policy estimator.

DPO (Rafailov et al., 2023) fits a policy ``pi`` to preference pairs ``(x, y_w > y_l)``
without a reward model. With ``h = [log pi(y_w|x) - log pi(y_l|x)] - [log pi_ref(y_w|x) -
log pi_ref(y_l|x)]``, the per-pair losses are

* ``"sigmoid"`` (DPO): ``-(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)``; ``eps =
  label_smoothing`` is the conservative DPO of Mitchell (2023) for labels flipped with
  probability ``eps`` (``eps = 0`` is the paper's loss);
* ``"ipo"`` (Azar et al., 2023, "A General Theoretical Paradigm to Understand Learning from
  Human Preferences"): ``(h - 1 / (2 beta))^2``.

The implicit reward of a response is ``beta (log pi(y|x) - log pi_ref(y|x))``. Under the
Bradley-Terry model ``P(y_w > y_l | x) = sigmoid(r(x, y_w) - r(x, y_l))`` the DPO loss is the
reward-model likelihood written through that implicit reward, so its minimiser over all
policies is the KL-regularised optimum ``pi*(y|x) = pi_ref(y|x) exp(r(x, y) / beta) / Z(x)``
(for every context whose response pairs connect all responses).

:class:`DPOPolicy` fits such a policy with the shared loop of
:class:`~skextras.nn.TorchEstimator`: the reference is the network fitted by maximum likelihood
of the chosen responses (the paper's recipe when no SFT model exists) or one passed in; it is
frozen, and the policy starts from its weights when the architectures match.
"""

import copy
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skextras.nn._base import TorchEstimator, _call_with_shapes, base_params

LOSS_TYPES = ("sigmoid", "ipo")


def dpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    ref_chosen_logps,
    ref_rejected_logps,
    beta=0.1,
    label_smoothing=0.0,
    loss_type="sigmoid",
):
    """Per-pair DPO or IPO losses and the implicit rewards of both responses.

    Parameters
    ----------
    policy_chosen_logps, policy_rejected_logps : Tensor of shape (n_pairs,)
        ``log pi(y_w | x)`` and ``log pi(y_l | x)`` under the policy being trained (nats; for
        sequences, the sum over the response tokens).
    ref_chosen_logps, ref_rejected_logps : Tensor of shape (n_pairs,)
        The same under the frozen reference policy.
    beta : float, default=0.1
        Strength ``beta > 0`` of the KL regularisation towards the reference.
    label_smoothing : float, default=0.0
        Assumed probability ``eps`` in ``[0, 0.5)`` that a preference label is flipped
        (conservative DPO); only for ``loss_type="sigmoid"``.
    loss_type : {"sigmoid", "ipo"}, default="sigmoid"
        DPO's logistic loss or IPO's squared loss (see the module docstring).

    Returns
    -------
    losses : Tensor of shape (n_pairs,)
        Per-pair losses; their mean is the training objective.
    chosen_rewards, rejected_rewards : Tensor of shape (n_pairs,)
        Implicit rewards ``beta * (logp - ref_logp)``, detached from the graph.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.preference import dpo_loss
    >>> chosen, rejected = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -2.0])
    >>> ref = torch.tensor([-2.0, -2.0])
    >>> losses, r_chosen, r_rejected = dpo_loss(chosen, rejected, ref, ref, beta=1.0)
    >>> losses
    tensor([0.1269, 0.6931])
    >>> torch.allclose(losses, -torch.nn.functional.logsigmoid(r_chosen - r_rejected))
    True
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type={loss_type!r} is not one of {LOSS_TYPES}")
    if not beta > 0:
        raise ValueError(f"beta={beta!r} must be > 0")
    if not 0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing={label_smoothing!r} must be in [0, 0.5)")
    if loss_type == "ipo" and label_smoothing:
        raise ValueError(f"label_smoothing={label_smoothing!r} applies to loss_type='sigmoid' only")
    tensors = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"the four log-probability tensors must share one shape; got {shapes}")
    logits = (policy_chosen_logps - policy_rejected_logps) - (ref_chosen_logps - ref_rejected_logps)
    if loss_type == "sigmoid":
        losses = -(1.0 - label_smoothing) * F.logsigmoid(beta * logits)
        if label_smoothing:
            losses = losses - label_smoothing * F.logsigmoid(-beta * logits)
    else:
        losses = (logits - 1.0 / (2.0 * beta)) ** 2
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps).detach()
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps).detach()
    return losses, chosen_rewards, rejected_rewards


class CategoricalPolicy(torch.nn.Module):
    """Logits over ``n_responses`` responses given a context vector.

    Parameters
    ----------
    n_features : int
        Width of the context vector (one-hot contexts make the policy tabular).
    n_responses : int
    hidden : int, default=0
        ``0``: a linear map (a softmax-linear policy); ``> 0``: one GELU hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.preference import CategoricalPolicy
    >>> _ = torch.manual_seed(0)
    >>> policy = CategoricalPolicy(n_features=3, n_responses=4)
    >>> logits = policy(torch.randn(2, 3))
    >>> tuple(logits.shape)
    (2, 4)
    """

    def __init__(self, n_features, n_responses, hidden=0):
        super().__init__()
        if hidden:
            self.net = torch.nn.Sequential(
                torch.nn.Linear(n_features, hidden),
                torch.nn.GELU(),
                torch.nn.Linear(hidden, n_responses),
            )
        else:
            self.net = torch.nn.Linear(n_features, n_responses)

    def forward(self, x):
        return self.net(x)


class PolicyWithReference(torch.nn.Module):
    """The trained policy and its frozen reference; ``forward`` gives the policy's logits.

    Examples
    --------
    >>> import copy
    >>> import torch
    >>> from skextras.nn.preference import CategoricalPolicy, PolicyWithReference
    >>> _ = torch.manual_seed(0)
    >>> policy = CategoricalPolicy(n_features=3, n_responses=4)
    >>> pair = PolicyWithReference(policy, copy.deepcopy(policy))
    >>> x = torch.randn(2, 3)
    >>> torch.equal(pair(x), policy(x))
    True
    >>> [p.requires_grad for p in pair.reference.parameters()]
    [False, False]
    """

    def __init__(self, policy, reference):
        super().__init__()
        self.policy = policy
        self.reference = reference.requires_grad_(False)

    def forward(self, x):
        return self.policy(x)

    def train(self, mode=True):
        super().train(mode)
        self.reference.eval()  # frozen: no dropout or batch statistics
        return self


def _chosen_logps(logits, responses):
    return torch.log_softmax(logits, dim=-1).gather(-1, responses[:, None])[:, 0]


class _ReferenceMLE(TorchEstimator):
    """Maximum likelihood of the chosen responses: the reference when none is given."""

    def __init__(self, factory, shapes, module_params, **training):
        self.factory, self.shapes, self.module_params = factory, shapes, module_params
        TorchEstimator.__init__(self, **training)

    def _make_fit_data(self, X, y, reset):
        return X, y

    def _build_module(self):
        return _call_with_shapes(self.factory, self.shapes, self.module_params)

    def _compute_loss(self, module, batch):
        X, y = batch
        return F.cross_entropy(module(X), y)


class DPOPolicy(TorchEstimator):
    """A policy over a finite set of responses fitted to preference pairs by DPO or IPO.

    Parameters
    ----------
    module : callable or None, default=None
        Policy network factory, called with ``n_features`` and ``n_responses`` (when its
        signature accepts them) plus the ``module__*`` parameters; it returns a module mapping
        contexts (n, n_features) to logits (n, n_responses). ``None`` means
        :class:`CategoricalPolicy`.
    beta : float, default=0.1
        KL strength of :func:`dpo_loss`.
    label_smoothing : float, default=0.0
        Conservative-DPO flip probability (``loss_type="sigmoid"`` only).
    loss_type : {"sigmoid", "ipo"}, default="sigmoid"
    reference : torch.nn.Module or None, default=None
        Frozen reference policy (contexts -> logits); it is copied, never trained. ``None``
        fits the reference first by maximum likelihood of the chosen responses, with the same
        network factory and training settings.
    n_responses : int or None, default=None
        Number of responses; ``None`` means ``max(y) + 1``.
    lr, weight_decay, optimizer, lr_schedule, warmup_epochs, batch_size, max_epochs, \
validation_fraction, n_iter_no_change, tol, clip_grad_norm, random_state, verbose, device, \
distributed, **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator` (used for the reference
        fit too).

    ``fit(X, y)``: ``X`` (n_pairs, n_features) the contexts, ``y`` (n_pairs, 2) integer
    response ids ``[chosen, rejected]``.

    Attributes
    ----------
    n_responses_ : int
    module_ : PolicyWithReference
        ``module_.policy`` is trained; ``module_.reference`` is frozen.
    history_ : list of dict
    n_epochs_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.nn.preference import DPOPolicy
    >>> X = np.eye(2)[[0, 0, 1, 1] * 10]
    >>> y = np.array([[0, 1], [0, 2], [2, 1], [2, 0]] * 10)
    >>> policy = DPOPolicy(beta=0.5, lr=0.05, max_epochs=50, random_state=0).fit(X, y)
    >>> policy.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "module": [callable, None],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "label_smoothing": [Interval(Real, 0, 0.5, closed="left")],
        "loss_type": [StrOptions(set(LOSS_TYPES))],
        "reference": [torch.nn.Module, None],
        "n_responses": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(
        self,
        module=None,
        *,
        beta=0.1,
        label_smoothing=0.0,
        loss_type="sigmoid",
        reference=None,
        n_responses=None,
        lr=1e-2,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=256,
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
        self.beta = beta
        self.label_smoothing = label_smoothing
        self.loss_type = loss_type
        self.reference = reference
        self.n_responses = n_responses
        TorchEstimator.__init__(self, **base_params(locals()))

    def fit(self, X, y):
        """Fit the policy to contexts ``X`` (n_pairs, n_features) and pairs ``y`` (n_pairs, 2)."""
        if self.loss_type == "ipo" and self.label_smoothing:
            raise ValueError(
                f"label_smoothing={self.label_smoothing!r} applies to loss_type='sigmoid' only"
            )
        return self._fit(X, y)

    def _factory(self):
        return CategoricalPolicy if self.module is None else self.module

    def _shapes(self):
        return {"n_features": self.n_features_in_, "n_responses": self.n_responses_}

    def _make_fit_data(self, X, y, reset):
        X = validate_data(self, X, reset=reset, dtype=np.float32)
        y = check_array(y, dtype=None, ensure_2d=False)
        if y.ndim != 2 or y.shape[1] != 2 or len(y) != len(X):
            raise ValueError(
                f"y must have shape (n_pairs={len(X)}, 2) of [chosen, rejected] ids; got {y.shape}"
            )
        if not np.issubdtype(y.dtype, np.number) or np.any(y != np.round(y)) or y.min() < 0:
            raise ValueError("y must hold non-negative integer response ids")
        y = y.astype(np.int64)
        if np.any(y[:, 0] == y[:, 1]):
            row = int(np.flatnonzero(y[:, 0] == y[:, 1])[0])
            raise ValueError(f"y[{row}] prefers response {y[row, 0]} to itself")
        if reset:
            self.n_responses_ = self.n_responses or int(y.max()) + 1
            self._fitted_reference = self._reference_module(X, y[:, 0])
        if y.max() >= self.n_responses_:
            raise ValueError(
                f"response id {int(y.max())} is outside [0, n_responses={self.n_responses_})"
            )
        return X, y[:, 0], y[:, 1]

    def _reference_module(self, X, chosen):
        if self.reference is not None:
            return copy.deepcopy(self.reference).cpu()
        training = {k: getattr(self, k) for k in TorchEstimator._parameter_constraints}
        mle = _ReferenceMLE(self._factory(), self._shapes(), self._module_params(), **training)
        return mle._fit(X, chosen).module_.cpu()

    def _build_module(self):
        policy = _call_with_shapes(self._factory(), self._shapes(), self._module_params())
        reference = getattr(self, "_fitted_reference", None)
        if reference is None:  # load(): the saved state dict fills it in
            reference = (
                copy.deepcopy(self.reference)
                if self.reference is not None
                else _call_with_shapes(self._factory(), self._shapes(), self._module_params())
            )
        else:
            self._fitted_reference = None
            try:  # the policy starts at the reference (the SFT model of the paper)
                policy.load_state_dict(reference.state_dict())
            except (RuntimeError, KeyError):
                pass  # another architecture: start from the factory's initialisation
        return PolicyWithReference(policy, reference)

    def _compute_loss(self, module, batch):
        X, chosen, rejected = batch
        model = getattr(module, "module", module)  # unwrap DDP
        logits = module(X)
        with torch.no_grad():
            ref_logits = model.reference(X)
        losses, _, _ = dpo_loss(
            _chosen_logps(logits, chosen),
            _chosen_logps(logits, rejected),
            _chosen_logps(ref_logits, chosen),
            _chosen_logps(ref_logits, rejected),
            self.beta,
            self.label_smoothing,
            self.loss_type,
        )
        return losses.mean()

    # ------------------------------------------------------------------ inference
    def _log_probs(self, X, which):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        net = getattr(self.module_, which)
        return self._apply(lambda x: torch.log_softmax(net(x), dim=-1), X).astype(np.float64)

    def predict_log_proba(self, X):
        """``log pi(y | x)`` of every response, shape (n_samples, n_responses_)."""
        return self._log_probs(X, "policy")

    def predict_proba(self, X):
        """``pi(y | x)`` of every response, shape (n_samples, n_responses_)."""
        return np.exp(self.predict_log_proba(X))

    def reference_proba(self, X):
        """``pi_ref(y | x)`` of the frozen reference, shape (n_samples, n_responses_)."""
        return np.exp(self._log_probs(X, "reference"))

    def implicit_reward(self, X):
        """``beta * log(pi(y|x) / pi_ref(y|x))`` of every response, (n_samples, n_responses_).

        DPO recovers the Bradley-Terry reward up to a constant per context.
        """
        return self.beta * (self._log_probs(X, "policy") - self._log_probs(X, "reference"))

    def predict(self, X):
        """The most probable response of each context."""
        return np.argmax(self.predict_log_proba(X), axis=1)

    def score(self, X, y):
        """Preference accuracy: the fraction of pairs whose chosen response has the larger
        implicit reward."""
        y = np.asarray(y)
        reward = self.implicit_reward(X)
        rows = np.arange(len(reward))
        return float(np.mean(reward[rows, y[:, 0]] > reward[rows, y[:, 1]]))

    def _fitted_state(self):
        return {"n_responses_": self.n_responses_}
