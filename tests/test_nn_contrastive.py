"""InfoNCE against its definition and the mutual-information bound; CPC as a feature learner."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from skextras.nn import CPC  # noqa: E402
from skextras.nn.contrastive import encoded_length, info_nce  # noqa: E402


def slow_info_nce(query, positive, negatives, temperature, cosine):
    """-log(exp(s(q, k+) / t) / sum_k exp(s(q, k) / t)), one query at a time."""
    losses = []
    for i in range(len(query)):
        q = query[i]
        if negatives is None:
            keys = [positive[i]] + [positive[j] for j in range(len(query)) if j != i]
        elif negatives.dim() == 2:
            keys = [positive[i]] + list(negatives)
        else:
            keys = [positive[i]] + list(negatives[i])
        scores = []
        for k in keys:
            s = float(q @ k)
            if cosine:
                s /= float(q.norm() * k.norm())
            scores.append(s / temperature)
        log_sum = math.log(sum(math.exp(s) for s in scores))
        losses.append(log_sum - scores[0])
    return torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize("negatives", ["in_batch", "shared", "per_query"])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_info_nce_equals_its_definition(negatives, similarity):
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    k = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    neg = {
        "in_batch": None,
        "shared": torch.randn(4, 5, generator=gen, dtype=torch.float64),
        "per_query": torch.randn(6, 3, 5, generator=gen, dtype=torch.float64),
    }[negatives]
    want = slow_info_nce(q, k, neg, 0.3, similarity == "cosine")
    got = info_nce(q, k, neg, temperature=0.3, reduction="none", similarity=similarity)
    torch.testing.assert_close(got, want)
    assert info_nce(q, k, neg, 0.3, "sum", similarity).item() == pytest.approx(want.sum().item())
    assert info_nce(q, k, neg, 0.3, similarity=similarity).item() == pytest.approx(
        want.mean().item()
    )


def test_info_nce_leading_dimensions_are_independent_batches():
    gen = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 3, 7, 4, generator=gen), torch.randn(2, 3, 7, 4, generator=gen)
    got = info_nce(q, k, reduction="none")
    for a in range(2):
        for b in range(3):
            torch.testing.assert_close(got[a, b], info_nce(q[a, b], k[a, b], reduction="none"))


def _gaussian_pairs(n_batches, n, d, rho, gen):
    x = torch.randn(n_batches, n, d, generator=gen, dtype=torch.float64)
    noise = torch.randn(n_batches, n, d, generator=gen, dtype=torch.float64)
    return x, rho * x + math.sqrt(1 - rho**2) * noise


def test_info_nce_bound_approaches_true_mutual_information_from_below():
    # x, y in R^d with corr(x_i, y_i) = rho: I(x; y) = -d/2 log(1 - rho^2) = 0.288 nats here.
    # The optimal critic log p(y|x) / p(y) = (rho x.y - rho^2 |y|^2 / 2) / (1 - rho^2) + c(x)
    # is a dot product of q = [rho x / (1 - rho^2), 1] and k = [y, -rho^2 |y|^2 / 2(1 - rho^2)].
    d, rho = 2, 0.5
    true_mi = -0.5 * d * math.log(1 - rho**2)
    gen = torch.Generator().manual_seed(0)
    bounds = []
    for n in (4, 16, 256):
        x, y = _gaussian_pairs(max(8, 32768 // n), n, d, rho, gen)
        ones = torch.ones_like(x[..., :1])
        q = torch.cat([rho * x / (1 - rho**2), ones], -1)
        k = torch.cat([y, -0.5 * rho**2 * (y**2).sum(-1, keepdim=True) / (1 - rho**2)], -1)
        losses = info_nce(q, k, temperature=1.0, similarity="dot", reduction="none").mean(-1)
        bound = math.log(n) - losses
        se = bound.std().item() / math.sqrt(len(bound))
        bounds.append(bound.mean().item())
        assert bounds[-1] < true_mi + 3 * se  # a lower bound, up to sampling noise
    assert bounds[0] < bounds[1] < true_mi  # tightens with more negatives
    assert bounds[2] == pytest.approx(true_mi, abs=0.015)  # N = 256 >> e^I: nearly tight
    # a critic that ignores the pairing bounds nothing
    q_random = torch.randn(64, 256, 3, generator=gen, dtype=torch.float64)
    noise = info_nce(q_random, k[:64], temperature=1.0, similarity="dot")
    assert math.log(256) - noise.item() < 0.05


def test_info_nce_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="positive_key"):
        info_nce(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="negative_keys has shape"):
        info_nce(torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(5, 2, 3))
    with pytest.raises(ValueError, match="temperature=0"):
        info_nce(torch.zeros(4, 3), torch.zeros(4, 3), temperature=0)


# ------------------------------------------------------------------------- CPC
def fm_waves(n, n_steps=48, seed=0):
    """Sine waves whose frequency sweeps up (class 1) or down (class 0), random phase.

    The class is a slow latent: no single sample, nor any linear function of the raw
    values (the phase is uniform), reveals it.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.arange(n_steps)
    base = rng.uniform(0.08, 0.12, (n, 1))
    sweep = np.where(y[:, None] == 1, 1.0, -1.0) * 0.06 * t / n_steps
    phase = 2 * np.pi * np.cumsum(base + sweep, axis=1) + rng.uniform(0, 2 * np.pi, (n, 1))
    return np.sin(phase) + 0.3 * rng.standard_normal((n, n_steps)), y


@pytest.fixture(scope="module")
def fitted_cpc():
    X, y = fm_waves(300)
    cpc = CPC(n_components=16, hidden=16, max_epochs=8, batch_size=64, lr=3e-3, random_state=0)
    return cpc.fit(X), X, y


def test_cpc_features_beat_raw_features_for_a_linear_classifier(fitted_cpc):
    cpc, X, y = fitted_cpc
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    raw = cross_val_score(clf, X, y, cv=3).mean()
    learned = cross_val_score(clf, cpc.transform(X), y, cv=3).mean()
    assert raw < 0.65  # a linear model cannot see the sweep in the raw values
    assert learned >= raw + 0.25  # the margin CPC's context vectors give
    losses = [h["train_loss"] for h in cpc.history_]
    assert losses[-1] < losses[0] < math.log(64)  # the bound grows during training


def test_cpc_accepts_sequences_of_vectors(fitted_cpc):
    cpc, X, _ = fitted_cpc
    np.testing.assert_array_equal(cpc.transform(X[:5, :, None]), cpc.transform(X[:5]))
    two_channels = np.stack([X, -X], axis=2)
    model = CPC(n_components=4, hidden=4, max_epochs=1, random_state=0).fit(two_channels)
    assert model.n_channels_ == 2 and model.n_timesteps_ == X.shape[1]
    assert model.transform(two_channels[:3]).shape == (3, 4)
    with pytest.raises(ValueError, match="3 channels, expected 2"):
        model.transform(np.zeros((2, X.shape[1], 3)))


def test_cpc_encoder_downsamples_by_the_product_of_strides():
    assert encoded_length(48, (2, 2)) == 12
    assert encoded_length(48, ()) == 48
    assert encoded_length(50, (5,)) == 10


def test_cpc_rejects_sequences_too_short_to_predict():
    with pytest.raises(ValueError, match="n_features=3"):
        CPC(max_epochs=1).fit(np.zeros((10, 3)))


def test_cpc_passes_check_estimator():
    check_estimator(CPC(n_components=4, hidden=4, encoder_strides=(), max_epochs=3))
