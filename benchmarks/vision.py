"""Speed of skextras.nn.vision on CPU: deformable conv, RoIAlign, EfficientNet-B0 inference.

1. ``deform_conv2d`` forward + backward (input, offset, weight gradients) against
   ``torch.nn.functional.conv2d`` of the same shape (target: at most 6x conv2d at 64
   channels, 56 x 56, 3 x 3 on 2 cores), with zero and with random offsets.
2. ``roi_align`` on 1000 boxes (vectorised) against the same definition run box by box in
   a Python loop (each box still vectorised over bins and samples), results checked equal.
3. x2 upsampling layers side by side, forward + backward: ``SubPixelUpsample`` (ICNR),
   the same layer with a plain random initialisation, ``nn.ConvTranspose2d(k=2, s=2)`` and
   nearest interpolation followed by a 3 x 3 convolution. ``checkerboard`` is the spread of
   the initial output over the 4 sub-pixel phases on a constant image (interior only),
   relative to the output's magnitude: 0 means no checkerboard at initialisation.
4. EfficientNet-B0 inference throughput at 224 x 224 (images / s, eval mode, no grad).

Times are medians of repeats after one warm-up call, all in one process.

    python benchmarks/vision.py                 # full: batch 8, 5 repeats
    python benchmarks/vision.py --quick         # fewer repeats
    python benchmarks/vision.py --quick --smoke # tiny sizes, seconds (CI)
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import parse_args, print_table  # noqa: E402

try:
    import torch
    import torch.nn.functional as F

    from skextras.nn.vision import SubPixelUpsample, deform_conv2d, efficientnet, roi_align
except ImportError:  # the benchmark needs the torch extra; CI smoke runs must still pass
    print('benchmarks/vision.py: torch is not installed (pip install "skextras[torch]"); skipped')
    sys.exit(0)


def median_time(func, repeats):
    func()  # warm-up: allocator, lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def deform_rows(batch, channels, size, repeats):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=gen, requires_grad=True)
    weight = torch.randn(channels, channels, 3, 3, generator=gen, requires_grad=True)
    zero = torch.zeros(batch, 18, size, size, requires_grad=True)
    random = (2 * torch.rand(batch, 18, size, size, generator=gen) - 1).requires_grad_(True)

    def conv():
        F.conv2d(x, weight, padding=1).sum().backward()

    def deform(offset):
        def run():
            deform_conv2d(x, offset, weight, padding=1).sum().backward()

        return run

    base = median_time(conv, repeats)
    shape = f"{batch}x{channels}x{size}x{size}, 3x3"
    rows = [{"op": "conv2d fwd+bwd", "shape": shape, "ms": 1e3 * base, "ratio": 1.0}]
    for name, offset in (("zero", zero), ("random", random)):
        t = median_time(deform(offset), repeats)
        rows.append(
            {
                "op": f"deform_conv2d fwd+bwd ({name} offsets)",
                "shape": shape,
                "ms": 1e3 * t,
                "ratio": t / base,
            }
        )
    return rows


def roi_rows(n_boxes, channels, size, repeats):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, size, size, generator=gen)
    corners = torch.rand(n_boxes, 4, generator=gen) * 8 * size  # image of 8 x the map
    boxes = torch.cat(
        [
            torch.randint(0, 2, (n_boxes, 1), generator=gen).float(),
            torch.minimum(corners[:, :2], corners[:, 2:]),
            torch.maximum(corners[:, :2], corners[:, 2:]),
        ],
        dim=1,
    )

    def vectorised():
        return roi_align(x, boxes, 7, 1 / 8, sampling_ratio=-1, aligned=True)

    def loop():
        return torch.cat(
            [roi_align(x, b[None], 7, 1 / 8, sampling_ratio=-1, aligned=True) for b in boxes]
        )

    torch.testing.assert_close(vectorised(), loop())
    fast = median_time(vectorised, repeats)
    slow = median_time(loop, max(1, repeats // 2))
    shape = f"{n_boxes} boxes, 2x{channels}x{size}x{size} -> 7x7"
    return [
        {"op": "roi_align (per-box loop)", "shape": shape, "ms": 1e3 * slow, "ratio": 1.0},
        {"op": "roi_align (vectorised)", "shape": shape, "ms": 1e3 * fast, "ratio": fast / slow},
    ]


def _checkerboard(layer, channels):
    """Spread of the output over the sub-pixel phases for a constant input, interior only."""
    with torch.no_grad():
        out = layer(torch.ones(1, channels, 16, 16))[..., 4:-4, 4:-4]
    phases = torch.stack([out[..., i::2, j::2].mean() for i in range(2) for j in range(2)])
    return (phases.max() - phases.min()).item() / out.abs().mean().item()


def upsample_rows(batch, channels, size, repeats):
    torch.manual_seed(0)
    plain = SubPixelUpsample(channels, channels, 2)
    torch.nn.init.kaiming_normal_(plain.conv.weight)  # random sub-pixel kernels: no ICNR
    layers = {
        "SubPixelUpsample x2 (ICNR)": SubPixelUpsample(channels, channels, 2),
        "SubPixelUpsample x2 (plain init)": plain,
        "ConvTranspose2d k2 s2": torch.nn.ConvTranspose2d(channels, channels, 2, 2),
        "nearest x2 + conv3x3": torch.nn.Sequential(
            torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(channels, channels, 3, padding=1)
        ),
    }
    x = torch.randn(batch, channels, size, size, requires_grad=True)
    shape = f"{batch}x{channels}x{size}x{size} -> x2"
    rows, base = [], None
    for name, layer in layers.items():
        t = median_time(lambda layer=layer: layer(x).sum().backward(), repeats)
        base = base or t
        rows.append(
            {
                "op": name,
                "shape": shape,
                "ms": 1e3 * t,
                "ratio": t / base,
                "checkerboard": _checkerboard(layer, channels),
            }
        )
    return rows


def efficientnet_rows(batch, side, repeats):
    net = efficientnet("b0").eval()
    images = torch.randn(batch, 3, side, side)

    def infer():
        with torch.no_grad():
            net(images)

    t = median_time(infer, repeats)
    return [
        {
            "op": "EfficientNet-B0 inference",
            "shape": f"{batch}x3x{side}x{side}",
            "ms": 1e3 * t,
            "images/s": batch / t,
        }
    ]


def main():
    args = parse_args(__doc__)
    torch.set_num_threads(args.threads)
    repeats = 1 if args.smoke else 3 if args.quick else 5
    if args.smoke:
        rows = deform_rows(1, 8, 12, repeats) + roi_rows(20, 4, 16, repeats)
        rows += upsample_rows(1, 8, 12, repeats)
        rows += efficientnet_rows(1, 64, repeats)
    else:
        rows = deform_rows(8, 64, 56, repeats) + roi_rows(1000, 64, 50, repeats)
        rows += upsample_rows(8, 64, 56, repeats)
        rows += efficientnet_rows(8 if args.quick else 32, 224, repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print_table(rows, ["op", "shape", "ms", "ratio", "checkerboard", "images/s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
