"""Variational auto-encoders: digits reconstruction, Gumbel-softmax annealing, pipelines."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from skextras.nn import VAE, GumbelSoftmaxVAE  # noqa: E402
from skextras.nn.vae import CategoricalVAEModule  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data / 16
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    mean_image_mse = ((X_test - X_train.mean(0)) ** 2).mean()  # 0.073 per pixel
    return X_train, X_test, mean_image_mse


@pytest.mark.parametrize(
    "model",
    [
        GumbelSoftmaxVAE(8, 8, likelihood="bernoulli", lr=3e-3, max_epochs=100, random_state=0),
        VAE(8, likelihood="bernoulli", lr=3e-3, max_epochs=100, random_state=0),
    ],
    ids=type,
)
def test_vae_reconstructs_held_out_digits(digits, model):
    X_train, X_test, mean_image_mse = digits
    model.fit(X_train)
    mse = ((model.inverse_transform(model.transform(X_test)) - X_test) ** 2).mean()
    # Measured: 0.029 (8 categorical latents of 8 categories, 24 bits) and 0.027 (8-D
    # Gaussian) per pixel in [0, 1], against 0.073 for the mean image and 0.025 for PCA(8).
    assert mse < 0.45 * mean_image_mse


def test_gumbel_codes_are_distributions_and_argmax_codes_decode(digits):
    X_train, X_test, mean_image_mse = digits
    vae = GumbelSoftmaxVAE(4, 8, likelihood="bernoulli", lr=3e-3, max_epochs=30, random_state=0)
    codes = vae.fit(X_train).transform(X_test).reshape(len(X_test), 4, 8)
    np.testing.assert_allclose(codes.sum(-1), 1, rtol=1e-5)
    onehot = np.eye(8)[vae.predict_codes(X_test)].reshape(len(X_test), -1)
    assert ((vae.inverse_transform(onehot) - X_test) ** 2).mean() < 0.7 * mean_image_mse


def test_temperature_is_annealed_per_epoch(digits):
    vae = GumbelSoftmaxVAE(2, 4, temperature=2.0, min_temperature=0.1, anneal_rate=0.2)
    vae.set_params(max_epochs=5, n_iter_no_change=None, random_state=0).fit(digits[0][:200])
    assert vae.temperature_ == pytest.approx(2.0 * math.exp(-0.2 * 4))
    assert vae.module_.temperature == vae.temperature_
    floor = GumbelSoftmaxVAE(2, 4, min_temperature=0.9, anneal_rate=1.0, max_epochs=3)
    assert floor.fit(digits[0][:200]).temperature_ == 0.9


def test_straight_through_forward_is_one_hot_with_relaxed_gradient():
    module = CategoricalVAEModule(6, 3, 5, (8,), "relu", "gaussian", 1.0, hard=True)
    captured = {}
    module.decoder.register_forward_pre_hook(lambda _, args: captured.setdefault("code", args[0]))
    x = torch.randn(4, 6)
    module(x).mean().backward()
    code = captured["code"].reshape(4, 3, 5)
    assert set(code.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(code.sum(-1), torch.ones(4, 3))
    assert module.encoder.net[0].weight.grad.abs().sum() > 0


def test_gaussian_vae_reparameterisation_gives_encoder_gradients():
    vae = VAE(2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
    vae.fit(np.random.default_rng(0).normal(size=(32, 5)))
    vae.module_.zero_grad()
    vae.module_(torch.randn(16, 5)).mean().backward()
    assert vae.module_.encoder.net[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("model", [VAE(max_epochs=3), GumbelSoftmaxVAE(max_epochs=3)], ids=type)
def test_vae_in_pipeline_grid_search(digits, model):
    pipe = make_pipeline(MinMaxScaler(), model.set_params(likelihood="bernoulli", random_state=0))
    name = type(model).__name__.lower()
    search = GridSearchCV(pipe, {f"{name}__hidden_layer_sizes": [(16,), (32,)]}, cv=2)
    search.fit(digits[0][:300])
    assert np.isfinite(search.best_score_)
    assert search.transform(digits[1][:3]).shape[0] == 3


def test_bernoulli_likelihood_rejects_data_outside_unit_interval():
    with pytest.raises(ValueError, match="bernoulli"):
        VAE(likelihood="bernoulli", max_epochs=1).fit(np.arange(20.0).reshape(10, 2))


def test_gumbel_vae_save_load_keeps_temperature_and_decoder(tmp_path, digits):
    vae = GumbelSoftmaxVAE(2, 4, max_epochs=3, random_state=0).fit(digits[0][:200])
    vae.save(tmp_path / "vae")
    loaded = GumbelSoftmaxVAE.load(tmp_path / "vae")
    assert loaded.module_.temperature == vae.temperature_
    np.testing.assert_array_equal(loaded.sample(5, random_state=0), vae.sample(5, random_state=0))
    np.testing.assert_array_equal(loaded.transform(digits[1]), vae.transform(digits[1]))
