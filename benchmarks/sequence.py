"""Token-mixer speed and memory against torch SDPA (batch 1, 4 heads x 64, d_model 256).

For each sequence length the script times, in the same process, torch's scaled-dot-product
attention (the peer) and every mixer of ``skextras.nn.attention`` / ``skextras.nn.ssm`` and
the MoE layer: the forward pass (no grad), forward + backward (sum of the output) and the
memory of one forward + backward (CUDA: the ``max_memory_allocated`` peak; CPU: the tensors
saved for the backward pass). Each speed-up is against the matching reference:
SDPA for the attention kernels, the step-by-step scan for S4D and the selective SSM (in its
Mamba-2 form, one decay per head, and its Mamba-1 form, one per channel and state), and a
dense MLP with the same active parameter count for the MoE (8 experts, top-2, no shared
expert, d_hidden 512 vs one MLP of hidden 1024). The targets of issue 17 at n = 8192 are
checked at the end.

Timing is interleaved: each reference and the mixers compared with it are timed once per
round, in turn, and every time is the best of the rounds, so a burst of load on the shared
machine hits the peer and ours alike instead of one of them.

    python benchmarks/sequence.py                  # full: n = 1k, 2k, 4k, 8k, best of 3
    python benchmarks/sequence.py --quick          # n = 1k and 4k, best of 2
    python benchmarks/sequence.py --quick --smoke  # n = 128, seconds (CI)
    python benchmarks/sequence.py --sizes 8192     # full repeats at the lengths given
    python benchmarks/sequence.py --sizes 8192 --repeats 7  # more rounds under heavy load
"""

import copy
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table  # noqa: E402

try:
    import torch
    import torch.nn.functional as F

    from skextras.nn.attention import (
        GAU,
        TransNormerLayer,
        linear_attention,
        performer_attention,
    )
    from skextras.nn.sequence import MoE
    from skextras.nn.ssm import S4D, selective_scan
except ImportError:  # the benchmark needs the torch extra; CI smoke runs must still pass
    print('benchmarks/sequence.py: torch is not installed (pip install "skextras[torch]"); skipped')
    sys.exit(0)

HEADS, HEAD_DIM = 4, 64
D_MODEL = HEADS * HEAD_DIM


def cases(n, device, slow_ok):
    """name -> (reference name, forward callable taking requires_grad inputs flag)."""
    g = torch.Generator(device="cpu").manual_seed(0)

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device)

    q, k, v = (rand(1, HEADS, n, HEAD_DIM) for _ in range(3))
    x = rand(1, n, D_MODEL)
    s4d = S4D(D_MODEL, d_state=64).to(device)
    u, dt = rand(1, n, D_MODEL), (torch.rand(1, n, D_MODEL, generator=g) * 0.1).to(device)
    A = -torch.rand(D_MODEL, 16, generator=g).to(device) * 4  # Mamba-1: per channel and state
    B, C, D = rand(1, n, 16), rand(1, n, 16), rand(D_MODEL)
    # Mamba-2: 4 heads x 64 channels, one step and one decay per head
    dt_heads = (torch.rand(1, n, HEADS, generator=g) * 0.1).to(device)
    A_heads = -torch.rand(HEADS, generator=g).to(device) * 4
    moe = MoE(D_MODEL, n_experts=8, top_k=2, n_shared=0, d_hidden=512).to(device)
    dense = torch.nn.Sequential(
        torch.nn.Linear(D_MODEL, 1024), torch.nn.GELU(), torch.nn.Linear(1024, D_MODEL)
    ).to(device)
    gau = GAU(D_MODEL, s=128).to(device)
    flash = GAU(D_MODEL, s=128, kind="flash", chunk_size=256, causal=True).to(device)
    norm_layer = TransNormerLayer(D_MODEL, HEADS, "norm", causal=True).to(device)

    # The rounds interleave the rows, so the "new kernel" row gets its own copy of the layer:
    # clearing the shared layer's cache would make the "cached kernel" row rebuild it too.
    s4d_uncached = copy.deepcopy(s4d)

    def s4d_conv(t, cached):
        layer = s4d if cached else s4d_uncached
        layer.mode = "conv"
        if not cached:
            layer._cache = None
        return layer.ssm(t)

    def s4d_scan(t):
        s4d.mode = "scan"
        return s4d.ssm(t)

    table = {
        "sdpa": (None, (q, k, v), lambda a, b, c: F.scaled_dot_product_attention(a, b, c)),
        "sdpa causal": (
            None,
            (q, k, v),
            lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
        ),
        "linear": ("sdpa", (q, k, v), lambda a, b, c: linear_attention(a, b, c)),
        "linear causal chunked": (
            "sdpa causal",
            (q, k, v),
            lambda a, b, c: linear_attention(a, b, c, True, mode="chunked"),
        ),
        "performer (m=256)": ("sdpa", (q, k, v), lambda a, b, c: performer_attention(a, b, c)),
        "GAU quad (module)": ("sdpa", (x,), gau),
        "FLASH causal (module)": ("sdpa causal", (x,), flash),
        "TransNormer norm causal (layer)": ("sdpa causal", (x,), norm_layer),
        "S4D conv, cached kernel": ("S4D scan", (x,), lambda t: s4d_conv(t, True)),
        "S4D conv, new kernel": ("S4D scan", (x,), lambda t: s4d_conv(t, False)),
        "selective parallel (SSD, 4 heads)": (
            "selective sequential (4 heads)",
            (u, dt_heads),
            lambda a, b: selective_scan(a, b, A_heads, B, C, D, "parallel"),
        ),
        "selective parallel (per-state decay)": (
            "selective sequential (per-state decay)",
            (u, dt),
            lambda a, b: selective_scan(a, b, A, B, C, D, "parallel"),
        ),
        "dense MLP (hidden 1024)": (None, (x,), dense),
        "MoE 8 experts top-2": ("dense MLP (hidden 1024)", (x,), moe),
    }
    if slow_ok:
        table["S4D scan"] = (None, (x,), s4d_scan)
        table["selective sequential (4 heads)"] = (
            None,
            (u, dt_heads),
            lambda a, b: selective_scan(a, b, A_heads, B, C, D, "sequential"),
        )
        table["selective sequential (per-state decay)"] = (
            None,
            (u, dt),
            lambda a, b: selective_scan(a, b, A, B, C, D, "sequential"),
        )
    return table


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def once(fn, device):
    start = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - start) * 1e3


def peak_memory_mb(fn, device):
    """Memory of one forward + backward, in MB.

    CUDA: the allocator's peak above what was allocated before. CPU: the bytes of the distinct
    tensors autograd saves for the backward pass (the activation memory that separates a
    quadratic mixer from a linear one; CPU has no allocator peak to read, and forking a
    process that already runs torch threads to read its resident set can deadlock).
    """
    if device.type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn()
    return sum(storages.values()) / 2**20


def measure(table, n, repeats, device):
    """Rows of best-of-``repeats`` times, each reference interleaved with its mixers.

    The mixers are grouped by reference; each round times every member of a group once
    (forward, then forward + backward), so the peer and ours see the same load.
    """
    groups = {}
    for name, (reference, _, _) in table.items():
        groups.setdefault(reference or name, []).append(name)
    rows = {}
    for members in groups.values():
        timers = {}
        for name in members:
            reference, inputs, fn = table[name]
            timers[name] = {"forward ms": _forward(fn, inputs)}
            # The step-by-step references are timed forward only beyond 2k (minutes otherwise).
            if "sequential" not in name and ("scan" not in name or n <= 2048):
                timers[name]["fwd+bwd ms"] = _forward_backward(fn, inputs)
            rows[name] = {"mixer": name, "n": n, "reference": reference or ""}
            for fn_ in timers[name].values():
                fn_()  # warm-up: first-call allocations, kernel caches
        for _ in range(repeats):
            for name in members:
                for column, fn_ in timers[name].items():
                    elapsed = once(fn_, device)
                    rows[name][column] = min(rows[name].get(column, float("inf")), elapsed)
        for name in members:
            if "fwd+bwd ms" in timers[name]:
                rows[name]["memory MB"] = peak_memory_mb(timers[name]["fwd+bwd ms"], device)
    return [rows[name] for name in table]


def _forward(fn, inputs):
    def forward():
        with torch.no_grad():
            return fn(*inputs)

    return forward


def _forward_backward(fn, inputs):
    def forward_backward():
        leaves = [t.detach().requires_grad_() for t in inputs]
        fn(*leaves).sum().backward()

    return forward_backward


TARGETS = [  # (mixer, reference, column, minimum speed-up) at the largest n
    ("linear", "sdpa", "forward ms", 25),
    ("linear causal chunked", "sdpa causal", "forward ms", 10),
    ("linear causal chunked", "sdpa causal", "fwd+bwd ms", 10),
    ("S4D conv, cached kernel", "S4D scan", "forward ms", 5),
    ("selective parallel (SSD, 4 heads)", "selective sequential (4 heads)", "forward ms", 10),
    (
        "selective parallel (per-state decay)",
        "selective sequential (per-state decay)",
        "forward ms",
        10,
    ),
]


def _extra_arguments(parser):
    parser.add_argument("--sizes", type=int, nargs="+", help="sequence lengths (overrides)")
    parser.add_argument("--repeats", type=int, help="timing rounds (best of; overrides)")


def main():
    args = parse_args(__doc__.splitlines()[0], _extra_arguments)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = [128] if args.smoke else ([1024, 4096] if args.quick else [1024, 2048, 4096, 8192])
    sizes = args.sizes or sizes
    repeats = args.repeats or (1 if args.smoke else (2 if args.quick else 3))
    load = os.getloadavg()[0]
    print(
        f"torch {torch.__version__}, device {device}, {args.threads} thread(s), "
        f"best of {repeats}, load average {load:.1f}"
    )
    results = {}
    for n in sizes:
        rows = measure(cases(n, device, slow_ok=True), n, repeats, device)
        by_name = {r["mixer"]: r for r in rows}
        for row in rows:
            ref = by_name.get(row["reference"])
            if ref is not None:
                row["speed-up fwd"] = f"{ref['forward ms'] / row['forward ms']:.1f}x"
                if "fwd+bwd ms" in row and "fwd+bwd ms" in ref:
                    row["speed-up fwd+bwd"] = f"{ref['fwd+bwd ms'] / row['fwd+bwd ms']:.1f}x"
        print(f"\nn = {n}")
        columns = ["mixer", "forward ms", "fwd+bwd ms", "memory MB", "reference"]
        print_table(rows, columns + ["speed-up fwd", "speed-up fwd+bwd"])
        results[n] = by_name
    last = results[sizes[-1]]
    print(f"\ntargets at n = {sizes[-1]} (issue 17 states them for n = 8192 on 2 CPU cores)")
    for mixer, reference, column, minimum in TARGETS:
        if column not in last[mixer] or column not in last[reference]:
            continue
        ratio = last[reference][column] / last[mixer][column]
        verdict = "met" if ratio >= minimum else "NOT met"
        print(f"  {mixer} vs {reference} ({column}): {ratio:.1f}x, target {minimum}x: {verdict}")
    moe, dense = last["MoE 8 experts top-2"], last["dense MLP (hidden 1024)"]
    ratio = moe["forward ms"] / dense["forward ms"]
    verdict = "met" if ratio <= 1.5 else "NOT met"
    print(f"  MoE / dense MLP forward time: {ratio:.2f}x, target <= 1.5x: {verdict}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
