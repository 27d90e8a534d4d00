"""Training-loop speed of skextras.nn against a bare torch loop and skorch (same modules).

For each task the same ``torch.nn.Module`` is trained for the same number of epochs with
AdamW, the same batch size and learning rate, by (1) a minimal hand-written torch loop,
(2) the skextras estimator and (3) skorch when it is installed. The table reports epochs per
second (wall clock), the task metric on held-out data and the CPU time relative to the bare
loop, whose excess is the overhead of the estimator's loop (target: at most 5% for
skextras). Everything runs on one torch thread by default (``--threads``).

    python benchmarks/nn.py            # full: 3 repeats, more epochs
    python benchmarks/nn.py --quick    # minutes
    python benchmarks/nn.py --quick --smoke   # seconds (CI)
"""

import argparse
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split

try:
    import torch

    from skextras.nn import MLPClassifier, RealNVPFlow
    from skextras.nn.flows import AffineCoupling, FlowSequence, _masks
except ImportError:  # the benchmark needs the torch extra; CI smoke runs must still pass
    print('benchmarks/nn.py: torch is not installed (pip install "skextras[torch]"); skipped')
    sys.exit(0)
from skextras.nn.mlp import MLP

try:
    import skorch
except ImportError:
    skorch = None


def bare_loop(module, loss_fn, X, y, epochs, batch_size, lr, seed):
    """The reference: shuffle, slice, forward, backward, AdamW step. Nothing else."""
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=0.0)
    X = torch.tensor(X, dtype=torch.float32)
    y = None if y is None else torch.tensor(y)
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            loss = loss_fn(module, X[idx], None if y is None else y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return module.eval()


class NegativeLogLikelihood(torch.nn.Module):
    """skorch criterion for a module whose output is the log-likelihood."""

    def forward(self, log_prob, target=None):
        return -log_prob.mean()


def digits_runs(args):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    hidden = (64,) if args.smoke else (256, 256)
    settings = dict(lr=1e-3, batch_size=64)

    def accuracy(module):
        with torch.no_grad():
            logits = module(torch.tensor(X_test, dtype=torch.float32))
        return float((logits.argmax(1).numpy() == y_test).mean())

    def bare():
        torch.manual_seed(0)
        module = MLP(64, 10, hidden)
        ce = lambda m, xb, yb: torch.nn.functional.cross_entropy(m(xb), yb)  # noqa: E731
        return accuracy(bare_loop(module, ce, X_train, y_train, args.epochs, seed=0, **settings))

    def ours():
        clf = MLPClassifier(hidden, max_epochs=args.epochs, n_iter_no_change=None, random_state=0)
        clf.set_params(**settings).fit(X_train, y_train)
        return clf.score(X_test, y_test)

    def with_skorch():
        net = skorch.NeuralNetClassifier(
            MLP,
            module__n_features=64,
            module__n_outputs=10,
            module__hidden=hidden,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=0.0,
            max_epochs=args.epochs,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
            **settings,
        )
        net.fit(X_train.astype(np.float32), y_train.astype(np.int64))
        return float((net.predict(X_test.astype(np.float32)) == y_test).mean())

    return "digits MLP", "accuracy", {"bare torch": bare, "skextras": ours, "skorch": with_skorch}


def moons_runs(args):
    X, _ = make_moons(2000 if not args.smoke else 400, noise=0.05, random_state=0)
    X_test, _ = make_moons(1000, noise=0.05, random_state=1)
    settings = dict(lr=3e-3, batch_size=128)
    template = RealNVPFlow(
        6, (64, 64), max_epochs=args.epochs, n_iter_no_change=None, random_state=0, **settings
    )

    def fresh_module():
        # The same architecture the estimator builds, standardised on the same data.
        torch.manual_seed(0)
        layers = [AffineCoupling(mask, (64, 64), "relu") for mask in _masks(2, 6)]
        module = FlowSequence(2, layers)
        module.data_init(torch.tensor(X, dtype=torch.float32))
        return module

    def nll(module):
        with torch.no_grad():
            return -float(module(torch.tensor(X_test, dtype=torch.float32)).mean())

    def bare():
        module = fresh_module()
        loss = lambda m, xb, _: -m(xb).mean()  # noqa: E731
        return nll(bare_loop(module, loss, X, None, args.epochs, seed=0, **settings))

    def ours():
        return -clone(template).fit(X).score(X_test)

    def with_skorch():
        net = skorch.NeuralNet(
            fresh_module(),
            criterion=NegativeLogLikelihood,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=0.0,
            max_epochs=args.epochs,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
            **settings,
        )
        net.fit(X.astype(np.float32), None)
        return nll(net.module_)

    runs = {"bare torch": bare, "skextras": ours, "skorch": with_skorch}
    return "two-moons RealNVP", "test NLL (nats)", runs


def measure(runs, epochs, repeats):
    """Best-of-``repeats`` wall and CPU time per implementation, interleaved to share the
    noise. The overhead ratio uses CPU time: on a shared machine wall time mostly measures
    the neighbours, while single-threaded CPU time measures the work of the loop itself."""
    times, cpu, metrics = {}, {}, {}
    for name, run in runs.items():  # warm-up: first-call costs of torch kernels and imports
        if name != "skorch" or skorch is not None:
            run()
    for _ in range(repeats):
        for name, run in runs.items():
            if name == "skorch" and skorch is None:
                continue
            start, start_cpu = time.perf_counter(), time.process_time()
            metrics[name] = run()
            cpu[name] = min(cpu.get(name, np.inf), time.process_time() - start_cpu)
            times[name] = min(times.get(name, np.inf), time.perf_counter() - start)
    return {name: (epochs / times[name], metrics[name], cpu[name]) for name in times}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.epochs = 2 if args.smoke else (20 if args.quick else 50)
    repeats = 1 if args.smoke else (3 if args.quick else 5)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.epochs} epochs, "
        f"best of {repeats}; skorch {'missing' if skorch is None else skorch.__version__}"
    )
    header = (
        f"{'task':<20} {'implementation':<12} {'epochs/s':>9} {'metric':>22} {'CPU vs bare':>13}"
    )
    print(header)
    print("-" * len(header))
    for make in (digits_runs, moons_runs):
        task, metric_name, runs = make(args)
        results = measure(runs, args.epochs, repeats)
        bare_time = results["bare torch"][2]
        for name, (speed, metric, seconds) in results.items():
            metric_text = f"{metric_name} {metric:.4f}"
            print(
                f"{task:<20} {name:<12} {speed:>9.1f} {metric_text:>22} "
                f"{seconds / bare_time:>12.3f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
