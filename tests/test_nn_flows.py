"""Normalizing flows: exact inverses, exact log-determinants, densities better than a Gaussian."""

import numpy as np
import pytest
from _two_moons import energy_distance, two_moons

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skextras.nn import GlowFlow, NICEFlow, RealNVPFlow  # noqa: E402

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
FLOWS = {
    "nice": (NICEFlow(n_couplings=3, **SMALL), 4),
    "realnvp": (RealNVPFlow(n_couplings=3, **SMALL), 4),
    "glow": (GlowFlow(n_steps=2, **SMALL), 4),
    "glow-image": (GlowFlow(n_steps=2, image_shape=(2, 4, 4), n_levels=2, **SMALL), 32),
}


@pytest.fixture(scope="module")
def moons():
    return two_moons()[:2]


def _randomised_float64_flow(name):
    """A fitted flow whose parameters are perturbed away from the identity-like start."""
    flow, d = FLOWS[name]
    X = np.random.RandomState(0).normal(size=(64, d))
    flow.fit(X)
    module = flow.module_.double()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return module, torch.tensor(X[:5], dtype=torch.float64)


@pytest.mark.parametrize("name", FLOWS)
def test_inverse_of_forward_is_identity_to_1e5(name):
    module, x = _randomised_float64_flow(name)
    z, _ = module.encode(x)
    assert (z - x).abs().max() > 1e-2
    torch.testing.assert_close(module.decode(z), x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", FLOWS)
def test_log_det_equals_autograd_jacobian_log_det(name):
    module, x = _randomised_float64_flow(name)
    _, logdet = module.encode(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: module.encode(v[None])[0][0], x[i])
        sign, expected = torch.linalg.slogdet(jac)
        assert sign.item() != 0
        assert logdet[i].item() == pytest.approx(expected.item(), abs=1e-8, rel=1e-8)


@pytest.mark.parametrize("flow_cls", [NICEFlow, RealNVPFlow, GlowFlow])
def test_two_moons_flows_beat_fitted_gaussian_in_likelihood_and_samples(flow_cls):
    X, X_test, gaussian, threshold = two_moons()
    flow = flow_cls(hidden_layer_sizes=(32, 32), lr=3e-3, max_epochs=60, random_state=0)
    flow.fit(X)
    # Held-out mean log-likelihood in nats per sample: the Gaussian reaches about -1.88.
    assert flow.score(X_test) > gaussian.score(X_test) + 0.5
    # A good likelihood alone does not make good samples (NICE with 4 couplings: -0.89 nats
    # but an energy distance worse than the Gaussian's); the default depths must do both.
    assert energy_distance(flow.sample(1000, random_state=0), X_test) < threshold


@pytest.mark.parametrize("name", ["nice", "realnvp", "glow"])
def test_flow_in_pipeline_grid_search(moons, name):
    flow = FLOWS[name][0]
    depth = "n_steps" if name == "glow" else "n_couplings"
    pipe = make_pipeline(StandardScaler(), flow)
    grid = {f"{type(flow).__name__.lower()}__{depth}": [1, 2]}
    search = GridSearchCV(pipe, grid, cv=2).fit(moons[0][:200])
    assert np.isfinite(search.best_score_)


def test_transform_is_standard_normal_and_sample_matches_data(moons):
    X, X_test = moons
    flow = RealNVPFlow(hidden_layer_sizes=(32, 32), lr=3e-3, max_epochs=60, random_state=0)
    Z = flow.fit(X).transform(X_test)
    np.testing.assert_allclose(Z.mean(0), 0, atol=0.15)
    np.testing.assert_allclose(Z.std(0), 1, atol=0.15)
    S = flow.sample(1000, random_state=0)
    np.testing.assert_allclose(S.mean(0), X.mean(0), atol=0.1)
    np.testing.assert_array_equal(S, flow.sample(1000, random_state=0))


def test_save_load_round_trip_scores_identically(tmp_path, moons):
    flow = GlowFlow(n_steps=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    flow.fit(moons[0])
    flow.save(tmp_path / "glow")
    loaded = GlowFlow.load(tmp_path / "glow")
    np.testing.assert_array_equal(loaded.score_samples(moons[1]), flow.score_samples(moons[1]))
    np.testing.assert_array_equal(loaded.transform(moons[1]), flow.transform(moons[1]))


def test_bad_shapes_raise_naming_the_problem():
    with pytest.raises(ValueError, match="at least 2 features"):
        NICEFlow(max_epochs=1).fit(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="image_shape"):
        GlowFlow(image_shape=(1, 4, 4), max_epochs=1).fit(np.zeros((10, 15)))
    with pytest.raises(ValueError, match="divisible"):
        GlowFlow(image_shape=(1, 6, 6), n_levels=2, max_epochs=1).fit(np.zeros((10, 36)))
    flow = NICEFlow(max_epochs=1).fit(np.random.default_rng(0).random((10, 3)))
    with pytest.raises(ValueError, match="columns"):
        flow.inverse_transform(np.zeros((2, 2)))
