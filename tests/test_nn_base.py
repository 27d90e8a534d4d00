"""The shared training loop: routing, seeding, early stopping, schedules, persistence, DDP."""

import copy
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from _torch_checks import FLOAT32_WEIGHTS  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from skextras.nn import (  # noqa: E402
    VAE,
    DiffusionModel,
    GlowFlow,
    GumbelSoftmaxVAE,
    MLPClassifier,
    MLPRegressor,
    NICEFlow,
    RealNVPFlow,
    RectifiedFlow,
    TorchClassifier,
    TorchRegressor,
)
from skextras.nn.launch import spawn  # noqa: E402


def _net(n_features, n_outputs, hidden=8):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_outputs)
    )


@pytest.fixture(scope="module")
def blobs():
    return make_classification(160, 6, n_informative=4, random_state=0)


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()], ids=type)
def test_check_estimator_passes_with_defaults(estimator):
    check_estimator(estimator, expected_failed_checks=FLOAT32_WEIGHTS)


SHORT = dict(max_epochs=5, random_state=0)


@pytest.mark.parametrize(
    "estimator",
    [
        TorchClassifier(_net, random_state=0),
        TorchRegressor(_net, random_state=0),
        NICEFlow(**SHORT),
        RealNVPFlow(**SHORT),
        GlowFlow(**SHORT),
        RectifiedFlow(n_steps=4, **SHORT),
        DiffusionModel(n_steps=4, **SHORT),
        VAE(**SHORT),
        GumbelSoftmaxVAE(**SHORT),
    ],
    ids=type,
)
def test_check_estimator_passes_for_every_model(estimator):
    check_estimator(estimator, expected_failed_checks=FLOAT32_WEIGHTS)


def test_module_params_are_routed_and_tunable_by_grid_search(blobs):
    X, y = blobs
    clf = TorchClassifier(_net, module__hidden=4, max_epochs=5, random_state=0)
    assert clf.get_params()["module__hidden"] == 4
    search = GridSearchCV(clf, {"module__hidden": [2, 16]}, cv=2).fit(X, y)
    assert search.best_params_["module__hidden"] in (2, 16)
    widths = {search.best_estimator_.module_[0].out_features}
    assert widths == {search.best_params_["module__hidden"]}


def test_unknown_keyword_raises_at_fit_naming_it(blobs):
    clf = TorchClassifier(_net, hidden=3)
    with pytest.raises(TypeError, match="hidden"):
        clf.fit(*blobs)


def test_invalid_training_setting_raises_naming_parameter(blobs):
    with pytest.raises(InvalidParameterError, match="lr"):
        MLPClassifier(lr=-1.0).fit(*blobs)


def test_random_state_makes_fit_reproducible_and_leaves_global_rng(blobs):
    X, y = blobs
    before = torch.get_rng_state()
    a = MLPClassifier((8,), max_epochs=5, dropout=0.2, random_state=3).fit(X, y)
    b = MLPClassifier((8,), max_epochs=5, dropout=0.2, random_state=3).fit(X, y)
    c = MLPClassifier((8,), max_epochs=5, dropout=0.2, random_state=4).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_early_stopping_restores_best_validation_weights(blobs):
    X, y = blobs
    kwargs = dict(lr=0.05, validation_fraction=0.25, random_state=0)
    clf = MLPClassifier((32,), max_epochs=60, n_iter_no_change=5, **kwargs).fit(X, y)
    valid = [h["valid_loss"] for h in clf.history_]
    best = int(np.argmin(valid))
    assert clf.n_epochs_ < 60 and best == len(valid) - 1 - 5
    # The same run stopped right at the best epoch ends with the weights to restore.
    at_best = MLPClassifier((32,), max_epochs=best + 1, n_iter_no_change=None, **kwargs)
    at_best.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), at_best.predict_proba(X))


def test_warmup_then_cosine_schedule_sets_each_epoch_lr(blobs):
    X, y = blobs
    clf = MLPClassifier(
        lr=0.01,
        lr_schedule="cosine",
        warmup_epochs=2,
        batch_size=len(X),
        max_epochs=6,
        n_iter_no_change=None,
        random_state=0,
    ).fit(X, y)
    # One step per epoch; the recorded lr is the one of the epoch's last step.
    expected = [0.005, 0.01] + [0.005 * (1 + np.cos(np.pi * k / 4)) for k in range(4)]
    np.testing.assert_allclose([h["lr"] for h in clf.history_], expected, rtol=1e-12)


def test_clip_grad_norm_bounds_each_update(blobs):
    X, y = blobs
    kwargs = dict(optimizer="sgd", lr=1.0, batch_size=len(X), max_epochs=1, random_state=0)
    kwargs["n_iter_no_change"] = None
    clipped = MLPClassifier((8,), clip_grad_norm=1e-3, **kwargs).fit(X, y)
    free = MLPClassifier((8,), **kwargs).fit(X, y)
    init = MLPClassifier((8,), **{**kwargs, "lr": 1e-12}).fit(X, y)
    start = list(init.module_.parameters())
    step = [
        torch.cat([(p - q).flatten() for p, q in zip(m.module_.parameters(), start, strict=True)])
        for m in (clipped, free)
    ]
    # SGD's first step is lr * gradient, so its norm is the (clipped) gradient norm.
    assert step[0].norm().item() == pytest.approx(1e-3, rel=1e-3)
    assert step[1].norm().item() > 1e-2


def test_partial_fit_continues_training_and_checks_labels(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), random_state=0)
    for _ in range(3):
        clf.partial_fit(X[:80], y[:80], classes=[0, 1])
    assert clf.n_epochs_ == 3 and len(clf.history_) == 3
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:5], np.full(5, 7))
    clf.fit(X, np.where(y == 1, 2, y))  # a fresh fit forgets the classes given earlier
    assert list(clf.classes_) == [0, 2] and clf.n_epochs_ <= clf.max_epochs


def test_save_load_round_trip_predicts_identically(tmp_path, blobs):
    X, y = blobs
    labels = np.array(["no", "yes"])[y]
    clf = MLPClassifier((8,), activation="swiglu", max_epochs=5, random_state=0).fit(X, labels)
    clf.save(tmp_path / "model")
    loaded = MLPClassifier.load(tmp_path / "model")
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    with pytest.raises(TypeError, match="MLPClassifier"):
        MLPRegressor.load(tmp_path / "model")


# ---------------------------------------------------------------------- skorch habits
FULL_BATCH = dict(batch_size=10_000, max_epochs=4, n_iter_no_change=None, random_state=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPClassifier((8,), **FULL_BATCH),
        lambda: MLPClassifier((8,), loss="soft_accuracy", **FULL_BATCH),
        lambda: MLPRegressor((8,), loss="huber", **FULL_BATCH),
        lambda: TorchClassifier(_net, criterion=torch.nn.CrossEntropyLoss, **FULL_BATCH),
        lambda: TorchRegressor(
            _net, criterion=torch.nn.HuberLoss, criterion__delta=0.5, **FULL_BATCH
        ),
    ],
    ids=["mlp-ce", "mlp-soft-accuracy", "mlp-huber", "wrapper-ce", "wrapper-huber"],
)
def test_sample_weight_equals_repeated_rows_in_full_batch(blobs, make):
    X, y = blobs
    X, y = X[:40], y[:40]
    if make().__class__.__name__.endswith("Regressor"):
        y = X @ np.arange(X.shape[1]) / 10
    counts = np.random.default_rng(0).integers(0, 4, len(X))
    weighted = make().fit(X, y, sample_weight=counts)
    repeated = make().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    for a, b in zip(weighted.module_.parameters(), repeated.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_class_weight_balanced_equals_sklearns_balanced_sample_weight(blobs):
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = blobs
    keep = (y == 1) | (np.arange(len(y)) % 3 == 0)  # imbalanced
    X, y = X[keep], np.where(y[keep] == 1, "yes", "no")
    kwargs = dict(batch_size=16, max_epochs=3, random_state=0)
    balanced = MLPClassifier((8,), class_weight="balanced", **kwargs).fit(X, y)
    reference = MLPClassifier((8,), **kwargs).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(balanced.predict_proba(X), reference.predict_proba(X), rtol=1e-5)
    as_dict = TorchClassifier(_net, class_weight={"no": 2.0}, **kwargs).fit(X, y)
    as_weight = TorchClassifier(_net, **kwargs).fit(X, y, sample_weight=1.0 + (y == "no"))
    np.testing.assert_allclose(as_dict.predict_proba(X), as_weight.predict_proba(X), rtol=1e-5)
    with pytest.raises(ValueError, match=r"class_weight has labels \['maybe'\]"):
        TorchClassifier(_net, class_weight={"maybe": 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="soft_f1"):
        MLPClassifier(loss="soft_f1", class_weight="balanced").fit(X, y)


def _smoothed_cross_entropy(logits, target, smoothing=0.0):
    return torch.nn.functional.cross_entropy(logits, target, label_smoothing=smoothing)


def test_criterion_class_or_callable_gets_its_routed_parameters(blobs):
    X, y = blobs
    kwargs = dict(lr=0.05, max_epochs=3, random_state=0)
    default = TorchClassifier(_net, **kwargs).fit(X, y)
    as_class = TorchClassifier(_net, criterion=torch.nn.CrossEntropyLoss, **kwargs).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), as_class.predict_proba(X))
    smooth = dict(criterion__label_smoothing=0.2, **kwargs)
    by_class = TorchClassifier(_net, criterion=torch.nn.CrossEntropyLoss, **smooth).fit(X, y)
    fn = _smoothed_cross_entropy
    by_callable = TorchClassifier(_net, criterion=fn, criterion__smoothing=0.2, **kwargs)
    by_callable.fit(X, y)
    assert by_class.criterion_.label_smoothing == 0.2
    np.testing.assert_allclose(by_class.predict_proba(X), by_callable.predict_proba(X))
    assert not np.allclose(by_class.predict_proba(X), default.predict_proba(X))
    assert by_class.get_params()["criterion__label_smoothing"] == 0.2
    with pytest.raises(ValueError, match="need a criterion"):
        TorchClassifier(_net, criterion__label_smoothing=0.1, **kwargs).fit(X, y)
    with pytest.raises(TypeError, match="criterion__"):
        TorchClassifier(_net, label_smoothing=0.1).fit(X, y)


class _L1Regressor(TorchRegressor):
    def get_loss(self, module, batch, sample_weight=None):
        X, y = batch
        return (module(X) - y).abs().mean()


def test_overriding_get_loss_trains_on_that_loss(blobs):
    X, _ = blobs
    y = X @ np.arange(X.shape[1]) / 10
    kwargs = dict(max_epochs=3, random_state=0)
    custom = _L1Regressor(_net, **kwargs).fit(X, y)
    reference = TorchRegressor(_net, criterion=torch.nn.L1Loss, **kwargs).fit(X, y)
    np.testing.assert_allclose(custom.predict(X), reference.predict(X), rtol=1e-6)


def test_module_instance_is_deep_copied_at_each_fit(blobs):
    X, y = blobs
    instance = torch.nn.Linear(X.shape[1], 2)
    before = copy.deepcopy(instance.state_dict())
    first = TorchClassifier(instance, max_epochs=2, random_state=0).fit(X, y)
    second = TorchClassifier(instance, max_epochs=2, random_state=0).fit(X, y)
    for key, value in instance.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert first.module_ is not instance
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    with pytest.raises(ValueError, match="module__ parameters"):
        TorchClassifier(instance, module__bias=False).fit(X, y)


def test_valid_score_column_is_accuracy_or_r2_of_the_held_out_rows(blobs):
    from sklearn.metrics import accuracy_score, r2_score

    X, y = blobs
    clf = MLPClassifier((8,), validation_fraction=0.25, random_state=0).partial_fit(X, y, [0, 1])
    rows = clf._held_out[1]
    assert clf.history_[-1, "valid_score"] == pytest.approx(
        accuracy_score(y[rows], clf.predict(X[rows])), rel=1e-6
    )
    target = X @ np.arange(X.shape[1]) / 10
    reg = MLPRegressor((8,), validation_fraction=0.25, random_state=0).partial_fit(X, target)
    rows = reg._held_out[1]
    assert reg.history_[-1, "valid_score"] == pytest.approx(
        r2_score(target[rows], reg.predict(X[rows])), rel=1e-5
    )


class _Recorder(torch.nn.Module):
    """A linear network that records the rows it trains on."""

    trained_on = []

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, x):
        if self.training:
            _Recorder.trained_on.append(x.detach().clone())
        return self.linear(x)


def test_partial_fit_keeps_the_first_calls_validation_rows(blobs):
    X, y = blobs
    X = X.astype(np.float32)
    clf = TorchClassifier(_Recorder, validation_fraction=0.25, random_state=0)
    _Recorder.trained_on.clear()
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    held_out = X[clf._held_out[1]]
    trained = torch.cat(_Recorder.trained_on).numpy()
    assert len(trained) == 3 * (len(X) - len(held_out))
    assert not (trained[:, None, :] == held_out[None, :, :]).all(-1).any()
    # New rows are all trained on; the validation rows stay those of the first call.
    _Recorder.trained_on.clear()
    clf.partial_fit(X[:10] + 1, y[:10])
    assert len(torch.cat(_Recorder.trained_on)) == 10
    assert len(clf.history_[:, "valid_loss"]) == 4


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu"])
def test_unknown_device_raises_listing_the_valid_ones(blobs, device):
    with pytest.raises(ValueError, match=rf"device='{device}'.*valid devices.*'cpu'.*'cuda'"):
        MLPClassifier(device=device, max_epochs=1).fit(*blobs)


def test_device_cuda_without_gpu_raises_and_auto_falls_back(blobs):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="cuda"):
        MLPClassifier(device="cuda", max_epochs=1).fit(*blobs)
    assert MLPClassifier(device="auto", max_epochs=1).fit(*blobs).device_.type == "cpu"


def test_verbose_shows_a_progress_bar(capsys, blobs):
    MLPClassifier((4,), max_epochs=3, verbose=1, random_state=0).fit(*blobs)
    assert "MLPClassifier" in capsys.readouterr().err


def test_import_skextras_does_not_import_torch():
    code = "import sys, skextras; skextras.__version__; assert 'torch' not in sys.modules"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_import_nn_without_torch_names_the_extra():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import skextras.nn\nexcept ImportError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert 'pip install "skextras[torch]"' in out.stdout


# ---------------------------------------------------------------------- DDP
def _ddp_cases():
    """name -> (model, X, y, sample_weight, rows of rank 0's last step)."""
    X, y = make_regression(128, 5, noise=0.1, random_state=0)
    y = y / y.std()
    even = dict(batch_size=32, max_epochs=3, n_iter_no_change=None, random_state=0)
    # 50 rows in batches of 7: shards of 4 and 3 rows, and a last batch of 1 row that
    # leaves rank 1 without any.
    odd = {**even, "batch_size": 7}
    Xc, yc = make_classification(50, 5, n_informative=3, n_classes=3, random_state=0)
    weights = np.random.default_rng(0).uniform(0.1, 3.0, 50)
    return {
        "mlp": (MLPRegressor((16,), **even), X, y, None, 16),
        # a flow whose actnorm layers are initialised from the data before wrapping
        "glow": (GlowFlow(2, (8,), **even), X, None, None, 16),
        "mlp_odd": (MLPRegressor((16,), **odd), X[:50], y[:50], None, 1),
        "glow_odd": (GlowFlow(2, (8,), **odd), X[:50], None, None, 1),
        "weighted_odd": (
            MLPClassifier((8,), class_weight="balanced", **odd),
            Xc,
            yc,
            weights,
            1,
        ),
    }


def _ddp_fit(folder):
    torch.set_num_threads(1)
    for name, (model, X, y, weights, _) in _ddp_cases().items():
        seen = []  # rows of every Linear call: the last one is a training step's shard

        def count(module, args, seen=seen):
            if isinstance(module, torch.nn.Linear):
                seen.append(len(args[0]))

        hook = torch.nn.modules.module.register_module_forward_pre_hook(count)
        fit_args = (X,) if y is None else (X, y)
        model.fit(*fit_args, **({} if weights is None else {"sample_weight": weights}))
        hook.remove()
        if torch.distributed.get_rank() == 0:
            losses = torch.tensor(model.history_[:, "train_loss"], dtype=torch.float64)
            state = {**model.module_.state_dict(), "rows_per_step": torch.tensor(seen[-1])}
            torch.save({**state, "train_loss": losses}, f"{folder}/{name}.pt")


def test_ddp_two_processes_match_one_process_for_any_shard_sizes(tmp_path):
    spawn(_ddp_fit, nprocs=2, args=(str(tmp_path),), backend="gloo", timeout=300)
    for name, (single, X, y, weights, rows) in _ddp_cases().items():
        fit_args = (X,) if y is None else (X, y)
        single.fit(*fit_args, **({} if weights is None else {"sample_weight": weights}))
        ddp = torch.load(tmp_path / f"{name}.pt", weights_only=True)
        assert ddp.pop("rows_per_step").item() == rows, name
        expected = torch.tensor(single.history_[:, "train_loss"], dtype=torch.float64)
        torch.testing.assert_close(ddp.pop("train_loss"), expected, rtol=1e-6, atol=1e-7)
        for key, value in single.module_.state_dict().items():
            torch.testing.assert_close(ddp[key], value, rtol=1e-6, atol=1e-6, msg=name)


def test_world_size_without_process_group_warns_of_duplicate_models(blobs, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.warns(UserWarning, match="WORLD_SIZE=2.*own copy"):
        MLPClassifier((4,), max_epochs=1).fit(*blobs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu_predictions(blobs):
    X, y = blobs
    kwargs = dict(hidden_layer_sizes=(8,), max_epochs=5, random_state=0)
    gpu = MLPClassifier(device="cuda", **kwargs).fit(X, y)
    cpu = MLPClassifier(device="cpu", **kwargs).fit(X, y)
    assert gpu.module_.net[0].weight.is_cuda
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-3)


def _deterministic_output(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    if hasattr(model, "predict"):
        return model.predict(X)
    if hasattr(model, "transform"):
        return model.transform(X)
    return model.sample(5, random_state=0)


@pytest.mark.parametrize(
    "estimator",
    [
        TorchClassifier(_net, module__hidden=5, **SHORT),
        TorchRegressor(_net, **SHORT),
        NICEFlow(**SHORT),
        RectifiedFlow(n_steps=4, **SHORT),
        DiffusionModel(objective="edm", n_steps=4, **SHORT),
        VAE(**SHORT),
    ],
    ids=type,
)
def test_every_model_saves_and_loads_without_pickle(tmp_path, blobs, estimator):
    X, y = blobs
    estimator.fit(X, y)
    estimator.save(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "weights.pt"]
    # The wrappers' network factory is the test's own: loading takes it explicitly.
    own = {"module": _net} if "module" in estimator.get_params() else {}
    loaded = type(estimator).load(tmp_path / "model", **own)
    assert loaded.get_params() == estimator.get_params()
    np.testing.assert_array_equal(
        _deterministic_output(loaded, X), _deterministic_output(estimator, X)
    )


# ---------------------------------------------------------------------- callbacks
class _StopAtEpoch:
    """A TrainingCallback that stops after ``k`` epochs and records the hooks it saw."""

    def __init__(self, k):
        self.k = k
        self.calls = []

    def before_training(self, model):
        self.calls.append("before")
        return model

    def after_iteration(self, model, iteration, evals_log):
        self.calls.append((iteration, sorted(evals_log)))
        return iteration + 1 >= self.k

    def after_training(self, model):
        self.calls.append("after")
        return model


_CALLBACK_FIT = dict(max_epochs=12, n_iter_no_change=None, batch_size=32, random_state=0)


def test_training_callback_stopping_at_k_equals_max_epochs_k(blobs):
    X, y = blobs
    stop = _StopAtEpoch(4)
    stopped = TorchClassifier(_net, callbacks=[stop], **_CALLBACK_FIT).fit(X, y)
    direct = TorchClassifier(_net, **{**_CALLBACK_FIT, "max_epochs": 4}).fit(X, y)
    assert stopped.n_epochs_ == 4
    assert stop.calls == ["before", *[(i, ["train"]) for i in range(4)], "after"]
    np.testing.assert_array_equal(stopped.predict_proba(X), direct.predict_proba(X))


class _SkorchStyle:
    """skorch's hook names; stops by raising KeyboardInterrupt as skorch's callbacks do."""

    def __init__(self, k):
        self.k = k
        self.events = []

    def on_train_begin(self, net, **kwargs):
        self.events.append("begin")

    def on_epoch_end(self, net, **kwargs):
        self.events.append(net.history_[-1, "epoch"])
        if len(net.history_) >= self.k:
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        self.events.append("end")


def test_skorch_style_callback_hooks_map_to_the_protocol(blobs):
    X, y = blobs
    cb = _SkorchStyle(3)
    model = TorchClassifier(_net, callbacks=[cb], **_CALLBACK_FIT).fit(X, y)
    assert model.n_epochs_ == 3
    assert cb.events == ["begin", 0, 1, 2, "end"]


def test_skorch_early_stopping_stops_where_n_iter_no_change_stops():
    skorch_callbacks = pytest.importorskip("skorch.callbacks")
    X, y = make_regression(120, 4, noise=5.0, random_state=0)
    y = (y - y.mean()) / y.std()
    kw = dict(max_epochs=300, batch_size=64, lr=0.05, tol=1e-2, random_state=0)
    ours = TorchRegressor(_net, n_iter_no_change=3, **kw).fit(X, y)
    skorch_rule = skorch_callbacks.EarlyStopping(
        monitor="train_loss", patience=3, threshold=1e-2, threshold_mode="abs", sink=str
    )
    theirs = TorchRegressor(_net, n_iter_no_change=None, callbacks=[skorch_rule], **kw)
    theirs.fit(X, y)
    assert ours.n_epochs_ == theirs.n_epochs_ < 300
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_callbacks_survive_clone_in_every_torch_estimator(blobs):
    from sklearn.base import clone

    from skextras.callback import EarlyStopping

    stop = EarlyStopping(rounds=2)
    for model in (TorchClassifier(_net, callbacks=[stop]), MLPRegressor(callbacks=[stop])):
        copied = clone(model)
        assert isinstance(copied.get_params()["callbacks"][0], EarlyStopping)
        assert copied.callbacks[0] is not stop
        assert "callbacks" in repr(copied)


def test_torch_callback_exception_propagates(blobs):
    X, y = blobs

    class Boom(_StopAtEpoch):
        def after_iteration(self, model, iteration, evals_log):
            raise RuntimeError("boom in epoch callback")

    with pytest.raises(RuntimeError, match="boom in epoch callback"):
        TorchClassifier(_net, callbacks=[Boom(1)], **_CALLBACK_FIT).fit(X, y)


def test_save_and_load_leave_callbacks_out(blobs, tmp_path):
    X, y = blobs
    model = TorchClassifier(_net, callbacks=[_StopAtEpoch(2)], **_CALLBACK_FIT).fit(X, y)
    model.save(tmp_path / "m")
    loaded = TorchClassifier.load(tmp_path / "m", module=_net)
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_user_early_stopping_can_watch_the_validation_score(blobs):
    from skextras.callback import EarlyStopping

    X, y = blobs
    kw = dict(_CALLBACK_FIT, max_epochs=30, validation_fraction=0.25, lr=0.05)
    stop = EarlyStopping(rounds=5, data_name="valid", metric_name="score", maximize=True)
    model = TorchClassifier(_net, callbacks=[stop], **kw).fit(X, y)
    scores = model.history_[:, "valid_score"]
    assert stop.best_iteration == int(np.argmax(scores))
    assert stop.best_score == max(scores)
    assert model.n_epochs_ in (30, stop.best_iteration + 6)


def test_default_training_paths_are_bit_identical_to_the_code_before_callbacks():
    from pathlib import Path

    import _fit_api_reference as ref

    saved = np.load(Path(__file__).parent / "data" / "nn" / "fit_api_reference_nn.npz")
    for name, make, (X, y), n_partial in ref.torch_cases():
        pred, n_epochs, best_loss = ref.torch_outputs(make, X, y, n_partial)
        assert n_epochs == int(saved[name + "_n_epochs"]), name
        assert best_loss == float(saved[name + "_best_loss"]), name
        np.testing.assert_array_equal(pred, saved[name], err_msg=name)
