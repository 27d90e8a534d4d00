"""MLP estimators: activations, bias-free layers, soft-metric losses, agreement with sklearn."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from sklearn.datasets import (  # noqa: E402
    load_digits,
    make_classification,
    make_moons,
    make_regression,  # noqa: E402
)
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skextras.nn import MLPClassifier, MLPRegressor  # noqa: E402
from skextras.nn.losses import soft_accuracy_loss, soft_f1_loss  # noqa: E402
from skextras.nn.mlp import ACTIVATIONS, GatedLinear  # noqa: E402


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(400, noise=0.15, random_state=0)
    return train_test_split(X, y, test_size=0.5, random_state=0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_learns_two_moons(moons, activation):
    X_train, X_test, y_train, y_test = moons
    clf = MLPClassifier((32, 32), activation, lr=1e-2, max_epochs=300, random_state=0)
    clf.set_params(n_iter_no_change=None)
    assert clf.fit(X_train, y_train).score(X_test, y_test) > 0.93


def test_gated_linear_units_gate_one_half_with_the_other():
    layer = GatedLinear(3, 4, "swiglu")
    x = torch.randn(5, 3)
    a, b = layer.linear(x).chunk(2, dim=-1)
    torch.testing.assert_close(layer(x), torch.nn.functional.silu(a) * b)


def test_bias_free_layers_have_no_bias(moons):
    clf = MLPClassifier((8, 8), "geglu", bias=False, max_epochs=2, random_state=0)
    clf.fit(moons[0], moons[2])
    assert not [n for n, _ in clf.module_.named_parameters() if n.endswith("bias")]


@pytest.mark.parametrize(
    "loss, metric",
    [
        (soft_f1_loss, lambda y, p: f1_score(y, p, average="macro")),
        (soft_accuracy_loss, accuracy_score),
    ],
)
def test_soft_losses_equal_one_minus_the_hard_metric_on_confident_predictions(loss, metric):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    predicted = np.where(rng.random(50) < 0.7, y, rng.integers(0, 3, 50))
    logits = 60.0 * torch.nn.functional.one_hot(torch.tensor(predicted), 3).double()
    value = loss(logits, torch.tensor(y)).item()
    assert value == pytest.approx(1 - metric(y, predicted), abs=1e-6)


def test_soft_f1_loss_is_differentiable_and_trains_on_imbalanced_classes():
    X, y = make_classification(
        600, 8, n_informative=5, n_classes=3, weights=[0.8, 0.15, 0.05], random_state=0
    )
    logits = torch.zeros(4, 3, requires_grad=True)
    soft_f1_loss(logits, torch.tensor([0, 1, 2, 2])).backward()
    assert logits.grad.abs().sum() > 0
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    clf = MLPClassifier((32,), loss="soft_f1", lr=1e-2, max_epochs=100, random_state=0)
    clf.fit(X_train, y_train)
    assert f1_score(y_test, clf.predict(X_test), average="macro") > 0.6


def test_digits_accuracy_matches_sklearn_mlp():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    ours = MLPClassifier((64,), lr=3e-3, max_epochs=60, random_state=0).fit(X_train, y_train)
    reference = SkMLPClassifier((64,), learning_rate_init=3e-3, max_iter=60, random_state=0)
    with pytest.warns(Warning):  # sklearn's convergence warning at 60 iterations
        reference.fit(X_train, y_train)
    assert ours.score(X_test, y_test) > reference.score(X_test, y_test) - 0.02


def test_regressor_supports_several_outputs():
    X, Y = make_regression(200, 5, n_targets=3, noise=0.1, random_state=0)
    reg = MLPRegressor((32,), lr=1e-2, max_epochs=150, random_state=0).fit(X, Y / Y.std(0))
    assert reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y / Y.std(0)) > 0.9


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_mlp_in_pipeline_grid_search(moons, estimator):
    X_train, _, y_train, _ = moons
    pipe = make_pipeline(StandardScaler(), estimator(max_epochs=10, random_state=0))
    name = estimator.__name__.lower()
    grid = {f"{name}__activation": ["relu", "swiglu"], f"{name}__hidden_layer_sizes": [(8,), (16,)]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train, y_train)
    assert set(search.best_params_) == set(grid)
