"""DPO / IPO losses against the published formulas, and DPOPolicy against the DPO optimum."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from skextras.nn.preference import CategoricalPolicy, DPOPolicy, dpo_loss  # noqa: E402


def _logps(*values):
    return [torch.tensor([v], dtype=torch.float64) for v in values]


def test_dpo_sigmoid_loss_and_rewards_equal_the_paper_formula_by_hand():
    # h = (-1 - -2) - (-1.5 - -1.5) = 1; loss = -log sigmoid(0.1) = log(1 + exp(-0.1))
    losses, chosen, rejected = dpo_loss(*_logps(-1.0, -2.0, -1.5, -1.5), beta=0.1)
    assert float(losses) == pytest.approx(math.log1p(math.exp(-0.1)), rel=1e-12)
    assert float(chosen) == pytest.approx(0.1 * (-1.0 + 1.5))
    assert float(rejected) == pytest.approx(0.1 * (-2.0 + 1.5))


def test_conservative_dpo_mixes_both_label_directions():
    # h = (0 - -3) - (-1 - -2) = 2, beta = 0.5: beta h = 1
    losses, _, _ = dpo_loss(*_logps(0.0, -3.0, -1.0, -2.0), beta=0.5, label_smoothing=0.2)
    expected = 0.8 * math.log1p(math.exp(-1.0)) + 0.2 * math.log1p(math.exp(1.0))
    assert float(losses) == pytest.approx(expected, rel=1e-12)


def test_ipo_loss_is_the_squared_distance_to_one_over_two_beta():
    # h = (-1 - -2) - (-1.5 - -1.5) = 1; (1 - 1 / 0.2)^2 = 16
    losses, _, _ = dpo_loss(*_logps(-1.0, -2.0, -1.5, -1.5), beta=0.1, loss_type="ipo")
    assert float(losses) == pytest.approx(16.0, rel=1e-12)


def test_dpo_gradient_is_the_papers_weighted_likelihood_gradient():
    # d loss / d log pi(y_w) = -beta sigmoid(-beta h) = -d loss / d log pi(y_l)
    g = torch.Generator().manual_seed(0)
    logps = [torch.randn(7, generator=g, dtype=torch.float64) for _ in range(4)]
    chosen, rejected = (t.clone().requires_grad_() for t in logps[:2])
    losses, _, _ = dpo_loss(chosen, rejected, *logps[2:], beta=0.3)
    losses.sum().backward()
    h = (logps[0] - logps[1]) - (logps[2] - logps[3])
    torch.testing.assert_close(chosen.grad, -0.3 * torch.sigmoid(-0.3 * h))
    torch.testing.assert_close(rejected.grad, 0.3 * torch.sigmoid(-0.3 * h))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": 0.0}, "beta=0.0"),
        ({"label_smoothing": 0.5}, "label_smoothing=0.5"),
        ({"loss_type": "hinge"}, "loss_type='hinge'"),
        ({"loss_type": "ipo", "label_smoothing": 0.1}, "label_smoothing=0.1"),
    ],
)
def test_dpo_loss_bad_arguments_raise_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dpo_loss(*_logps(0.0, 0.0, 0.0, 0.0), **kwargs)


def _bandit(n, n_contexts=3, n_responses=4, seed=0):
    """Uniform contexts and response pairs; preferences drawn from Bradley-Terry with r."""
    rng = np.random.default_rng(seed)
    reward = rng.normal(size=(n_contexts, n_responses))
    context = rng.integers(0, n_contexts, n)
    a = rng.integers(0, n_responses, n)
    b = (a + rng.integers(1, n_responses, n)) % n_responses
    a_wins = rng.random(n) < 1 / (1 + np.exp(-(reward[context, a] - reward[context, b])))
    y = np.where(a_wins[:, None], np.stack([a, b], 1), np.stack([b, a], 1))
    return np.eye(n_contexts)[context], y, reward


def test_fitted_policy_approaches_the_closed_form_dpo_optimum():
    X, y, reward = _bandit(8000)
    beta = 1.0
    policy = DPOPolicy(beta=beta, lr=0.1, batch_size=2000, max_epochs=150, random_state=0)
    policy.set_params(n_iter_no_change=None).fit(X, y)
    contexts = np.eye(3)
    optimum = policy.reference_proba(contexts) * np.exp(reward / beta)
    optimum /= optimum.sum(1, keepdims=True)
    # Tolerance: total variation <= 0.05 per context (sampling noise of 8000 pairs ~ 0.02).
    total_variation = 0.5 * np.abs(policy.predict_proba(contexts) - optimum).sum(1)
    assert np.all(total_variation <= 0.05), total_variation
    # The implicit reward is r up to a constant per context.
    implicit = policy.implicit_reward(contexts)
    centred = implicit - implicit.mean(1, keepdims=True)
    np.testing.assert_allclose(centred, reward - reward.mean(1, keepdims=True), atol=0.25)


def test_reference_passed_in_is_copied_and_kept_frozen():
    X, y, _ = _bandit(600)
    torch.manual_seed(0)
    reference = CategoricalPolicy(3, 4)
    before = {k: v.clone() for k, v in reference.state_dict().items()}
    policy = DPOPolicy(reference=reference, max_epochs=20, random_state=0).fit(X, y)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(value, before[name])
    with torch.no_grad():
        expected = torch.softmax(reference(torch.eye(3)), -1).double().numpy()
    np.testing.assert_allclose(policy.reference_proba(np.eye(3)), expected, rtol=1e-6)
    assert not any(p.requires_grad for p in policy.module_.reference.parameters())


def test_reference_is_the_maximum_likelihood_fit_and_the_policy_starts_there():
    X, y, _ = _bandit(600)
    policy = DPOPolicy(lr=0.1, batch_size=600, max_epochs=150, n_iter_no_change=None)
    policy.set_params(random_state=0).fit(X, y)
    # A softmax-linear model of one-hot contexts: the MLE is the chosen-response frequency.
    counts = np.array([np.bincount(y[X[:, c] == 1, 0], minlength=4) for c in range(3)])
    np.testing.assert_allclose(
        policy.reference_proba(np.eye(3)), counts / counts.sum(1, keepdims=True), atol=0.02
    )
    # One full batch per epoch: the first loss is measured at the start, where pi = pi_ref,
    # h = 0 and the DPO loss is -log sigmoid(0) = log 2.
    assert policy.history_[0]["train_loss"] == pytest.approx(math.log(2), rel=1e-5)


def test_save_and_load_keep_policy_and_reference(tmp_path):
    X, y, _ = _bandit(300)
    policy = DPOPolicy(max_epochs=5, random_state=0).fit(X, y)
    policy.save(tmp_path)
    loaded = DPOPolicy.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), policy.predict_proba(X))
    np.testing.assert_allclose(loaded.reference_proba(X), policy.reference_proba(X))


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros((10, 3), dtype=int), r"shape \(n_pairs=10, 2\)"),
        (np.full((10, 2), 0.5), "integer response ids"),
        (np.tile([[1, 1]], (10, 1)), "prefers response 1 to itself"),
        (np.tile([[0, 7]], (10, 1)), "response id 7 is outside"),
    ],
)
def test_bad_pairs_raise_value_errors(y, match):
    with pytest.raises(ValueError, match=match):
        DPOPolicy(n_responses=4, max_epochs=1).fit(np.zeros((10, 2)), y)
