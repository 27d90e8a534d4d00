"""Sequence estimators and MoE: dense-loop equality, padding, sklearn API, learning tasks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from _torch_checks import FLOAT32_WEIGHTS  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from skextras.nn import SequenceClassifier, SequenceRegressor  # noqa: E402
from skextras.nn.sequence import MIXERS, MoE, SequenceNetwork  # noqa: E402


def _moe_loop(moe, x):
    """The definition: for each token, its top-k experts weighted by router probability."""
    out = torch.zeros_like(x)
    for i, token in enumerate(x):
        probs = torch.softmax(moe.router(token), -1)
        gates, experts = probs.topk(moe.top_k)
        for gate, e in zip(gates, experts.tolist()):
            hidden = torch.nn.functional.gelu(token @ moe.w_in[e] + moe.b_in[e])
            out[i] += gate * (hidden @ moe.w_out[e] + moe.b_out[e])
        for shared in moe.shared:
            out[i] += shared(token)
    return out


@pytest.mark.parametrize("top_k, n_shared", [(1, 0), (2, 1), (3, 2)])
def test_moe_equals_the_dense_per_token_loop(top_k, n_shared):
    torch.manual_seed(0)
    moe = MoE(6, n_experts=5, top_k=top_k, n_shared=n_shared).double()
    x = torch.randn(40, 6, dtype=torch.float64)
    torch.testing.assert_close(moe(x), _moe_loop(moe, x))


@pytest.mark.parametrize("top_k", [1, 2])
def test_moe_equals_the_dense_per_token_loop_when_routing_is_skewed(top_k):
    """Most tokens on one expert: the per-expert blocks path, not the padded batched one."""
    torch.manual_seed(0)
    moe = MoE(6, n_experts=5, top_k=top_k, n_shared=1).double()
    with torch.no_grad():
        moe.router.weight[0] = 1.0  # inputs of positive mean favour expert 0
    x = torch.randn(40, 6, dtype=torch.float64) + 1.0
    out = moe(x)
    assert moe.n_experts * int(moe.counts.max()) > 2 * int(moe.counts.sum())
    torch.testing.assert_close(out, _moe_loop(moe, x))


def test_moe_capacity_on_skewed_routing_keeps_the_first_tokens_of_each_expert():
    torch.manual_seed(0)
    moe = MoE(4, n_experts=4, top_k=1, n_shared=0, capacity_factor=2.5).double()
    with torch.no_grad():
        moe.router.weight[0] = 1.0
    x = torch.randn(24, 4, dtype=torch.float64) + 1.0
    out = moe(x)
    capacity = 15  # ceil(2.5 * 24 / 4)
    expert = moe.router(x).argmax(-1)
    assert moe.n_experts * min(int(moe.counts.max()), capacity) > 2 * len(x)
    for e in range(4):
        rows = torch.nonzero(expert == e)[:, 0]
        kept, dropped = rows[:capacity], rows[capacity:]
        torch.testing.assert_close(out[kept], _moe_loop(moe, x[kept]))
        assert torch.all(out[dropped] == 0)


def test_moe_aux_loss_is_the_switch_load_balancing_loss():
    torch.manual_seed(0)
    moe = MoE(4, n_experts=4, top_k=2).double()
    x = torch.randn(3, 10, 4, dtype=torch.float64)
    moe(x)
    flat = x.reshape(-1, 4)
    probs = torch.softmax(moe.router(flat), -1)
    chosen = probs.topk(2).indices
    fraction = torch.stack([(chosen == e).sum() for e in range(4)]).double() / chosen.numel()
    expected = 4 * (fraction * probs.mean(0)).sum()
    torch.testing.assert_close(moe.aux_loss, expected)
    assert moe.counts.sum() == chosen.numel()


def test_moe_capacity_drops_the_late_tokens_of_an_overfull_expert():
    torch.manual_seed(0)
    moe = MoE(4, n_experts=2, top_k=1, n_shared=0, capacity_factor=0.5).double()
    x = torch.randn(12, 4, dtype=torch.float64)
    out = moe(x)
    capacity = 3  # ceil(0.5 * 12 / 2)
    expert = moe.router(x).argmax(-1)
    for e in range(2):
        rows = torch.nonzero(expert == e)[:, 0]
        kept, dropped = rows[:capacity], rows[capacity:]
        torch.testing.assert_close(out[kept], _moe_loop(moe, x[kept]))
        assert torch.all(out[dropped] == 0)


def test_moe_routes_only_real_tokens_of_a_padded_batch():
    torch.manual_seed(0)
    moe = MoE(4, n_experts=3, top_k=2).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    out = moe(x, mask)
    assert torch.all(out[0, 3:] == 0) and int(moe.counts.sum()) == 8 * 2
    torch.testing.assert_close(out[0, :3], _moe_loop(moe, x[0, :3]))


def test_moe_passes_gradcheck():
    torch.manual_seed(0)
    moe = MoE(3, n_experts=3, top_k=2).double()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(moe, (x,))


@pytest.mark.parametrize("estimator", [SequenceClassifier, SequenceRegressor])
def test_check_estimator_passes_with_short_training(estimator):
    check_estimator(estimator(max_epochs=30), expected_failed_checks=FLOAT32_WEIGHTS)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [SequenceClassifier, SequenceRegressor])
def test_check_estimator_passes_with_defaults(estimator):
    check_estimator(estimator(), expected_failed_checks=FLOAT32_WEIGHTS)


def _ragged(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(rng.integers(2, 9), d)).astype(np.float32) for _ in range(n)]
    y = np.array([x[:, 0].sum() > 0 for x in X]).astype(int)
    return X, y


@pytest.mark.parametrize("mixer", MIXERS)
@pytest.mark.parametrize("pooling", ["mean", "last", "cls"])
def test_ragged_sequences_predict_as_if_each_were_alone(mixer, pooling):
    X, y = _ragged()
    y[:2] = [0, 1]
    clf = SequenceClassifier(mixer, pooling=pooling, max_epochs=2, random_state=0).fit(X, y)
    batched = clf.predict_proba(X)
    alone = np.vstack([clf.predict_proba([x]) for x in X])
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)


def test_three_d_array_equals_the_list_of_its_sequences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5, 2))
    y = rng.normal(size=20)
    reg = SequenceRegressor("s4d", max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), reg.predict(list(X)), rtol=1e-6)
    assert reg.input_kind_ == "sequences" and reg.n_features_in_ == 2


def test_token_input_is_embedded_and_checked_against_vocab_size():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(60, 7))
    y = (X == 3).sum(1) > 1
    clf = SequenceClassifier("linear", vocab_size=5, max_epochs=5, random_state=0).fit(X, y)
    assert isinstance(clf.module_.embed, torch.nn.Embedding)
    with pytest.raises(ValueError, match="token id 5 is outside"):
        clf.predict(np.full((2, 7), 5))
    with pytest.raises(ValueError, match="integer token ids"):
        clf.predict(np.full((2, 7), 0.5))
    ragged = [row[: 3 + i % 4] for i, row in enumerate(X)]
    assert clf.fit(ragged, y).predict(ragged).shape == (60,)


def test_predict_needs_the_input_kind_seen_in_fit():
    X, y = _ragged()
    clf = SequenceClassifier(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted on sequences"):
        clf.predict(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="2 features per step.*expecting 3"):
        clf.predict([np.zeros((4, 2))])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"mixer": "lstm"}, InvalidParameterError, "mixer"),
        ({"pooling": "max"}, InvalidParameterError, "pooling"),
        ({"d_model": 6, "n_heads": 4}, ValueError, "d_model=6 is not divisible by n_heads=4"),
        ({"mixer": "mamba", "d_model": 6, "n_heads": 5}, ValueError, "n_heads=5"),
        ({"moe_experts": 2, "moe_top_k": 3}, ValueError, "moe_top_k=3 exceeds moe_experts=2"),
    ],
)
def test_bad_parameters_raise_errors_naming_them(params, error, match):
    X, y = _ragged()
    with pytest.raises(error, match=match):
        SequenceClassifier(max_epochs=1, **params).fit(X, y)


def test_grid_search_over_mixer_and_moe():
    X, y = _ragged(n=40)
    clf = SequenceClassifier(max_epochs=3, random_state=0)
    grid = {"mixer": ["softmax", "mamba"], "moe_experts": [0, 4]}
    search = GridSearchCV(clf, grid, cv=2).fit(X, y)
    assert search.best_params_["mixer"] in ("softmax", "mamba")
    assert len(search.cv_results_["params"]) == 4


def test_moe_estimator_adds_the_load_balancing_loss():
    X, y = _ragged(n=30)
    clf = SequenceClassifier("linear", moe_experts=4, max_epochs=1, random_state=0).fit(X, y)
    clf.module_(torch.tensor(clf._packed(X, reset=False)))
    aux = clf.module_.aux_loss()
    assert float(aux.detach()) > 0.99  # >= 1, with equality at perfect balance
    assert isinstance(clf.module_, SequenceNetwork)


def test_fits_are_reproducible_with_random_state():
    X, y = _ragged()
    a = SequenceClassifier("performer", max_epochs=3, random_state=1).fit(X, y)
    b = SequenceClassifier("performer", max_epochs=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mixer", MIXERS)
def test_every_mixer_trains_and_predicts_on_cuda(mixer):
    X, y = _ragged()
    clf = SequenceClassifier(mixer, max_epochs=2, device="cuda", random_state=0).fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cuda"
    assert clf.predict_proba(X).shape == (len(X), 2)


# ----------------------------------------------------------------- learning tasks (slow)
@pytest.fixture(scope="module")
def digits_rows():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8)  # 8 steps (image rows) of 8 features
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.slow
@pytest.mark.parametrize("mixer", MIXERS)
def test_every_mixer_learns_digits_rows_as_sequences(digits_rows, mixer):
    X_train, X_test, y_train, y_test = digits_rows
    clf = SequenceClassifier(
        mixer, d_model=32, n_layers=2, n_heads=4, lr=3e-3, batch_size=64, max_epochs=60
    )
    clf.set_params(random_state=0, validation_fraction=0.1, n_iter_no_change=15)
    assert clf.fit(X_train, y_train).score(X_test, y_test) >= 0.93


def adding_problem(n, T, rng):
    """Hochreiter & Schmidhuber (1997): sum the two values marked in a long sequence."""
    values = rng.uniform(0, 1, size=(n, T))
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, rng.integers(0, T // 2, n)] = 1
    markers[rows, rng.integers(T // 2, T, n)] = 1
    return np.stack([values, markers], -1).astype(np.float32), (values * markers).sum(1)


@pytest.mark.slow
@pytest.mark.parametrize("mixer", MIXERS)
def test_causal_mixers_solve_the_adding_problem_at_length_200(mixer):
    rng = np.random.default_rng(0)
    X, y = adding_problem(3000, 200, rng)
    X_test, y_test = adding_problem(500, 200, rng)
    reg = SequenceRegressor(
        mixer, d_model=32, n_layers=2, n_heads=4, causal=True, pooling="last", lr=3e-3
    )
    reg.set_params(batch_size=64, max_epochs=60, random_state=0, validation_fraction=0.1)
    reg.set_params(n_iter_no_change=15, clip_grad_norm=1.0)
    score = r2_score(y_test, reg.fit(X, y).predict(X_test))
    print(f"adding problem, {mixer}: R^2 = {score:.4f} after {reg.n_epochs_} epochs")
    assert score >= 0.9, f"{mixer}: R^2 = {score:.4f}"
