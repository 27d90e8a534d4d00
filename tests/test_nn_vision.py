"""Vision blocks against the papers' definitions written as slow loops (no torchvision here)."""

import copy
import functools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

import torch.nn.functional as F  # noqa: E402
from _torch_checks import FLOAT32_WEIGHTS  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from skextras.nn import ImageClassifier  # noqa: E402
from skextras.nn.vision import (  # noqa: E402
    EFFICIENTNET_VARIANTS,
    DeformConv2d,
    MBConv,
    MultiScaleRoIAlign,
    SubPixelUpsample,
    compound_scale,
    deform_conv2d,
    efficientnet,
    receptive_field,
    roi_align,
    roi_pool,
)

# ------------------------------------------------------------------------- EfficientNet
# torchvision's model cards (num_params of EfficientNet_B*_Weights.IMAGENET1K_V1), also timm's.
PUBLISHED_PARAMS = {
    "b0": 5_288_548,
    "b1": 7_794_184,
    "b2": 9_109_994,
    "b3": 12_233_232,
    "b4": 19_341_616,
    "b5": 30_389_784,
    "b6": 43_040_704,
    "b7": 66_347_960,
}


@pytest.mark.parametrize("variant", sorted(PUBLISHED_PARAMS))
def test_efficientnet_parameter_count_equals_published(variant):
    with torch.device("meta"):
        net = efficientnet(variant)
    assert sum(p.numel() for p in net.parameters()) == PUBLISHED_PARAMS[variant]


def test_efficientnet_b0_forward_gives_logits_and_stochastic_depth_only_in_training():
    net = efficientnet("b0", num_classes=7, in_channels=1, drop_connect_rate=0.5).eval()
    x = torch.randn(2, 1, 32, 32)
    out = net(x)
    assert out.shape == (2, 7)
    torch.testing.assert_close(net(x), out)  # eval: no stochastic depth, no dropout
    probs = [m.drop.p for m in net.modules() if isinstance(m, MBConv)]
    assert probs[0] == 0.0 and probs == sorted(probs) and max(probs) < 0.5


def test_compound_scale_reproduces_the_paper_rule():
    width, depth, resolution = compound_scale(1)
    assert (width, depth, resolution) == (1.1, 1.2, round(224 * 1.15))
    assert 1.2 * 1.1**2 * 1.15**2 == pytest.approx(2.0, abs=0.1)  # the FLOPs constraint
    with torch.device("meta"):
        custom = efficientnet((width, depth))
    assert sum(p.numel() for p in custom.parameters()) > PUBLISHED_PARAMS["b0"]


def test_efficientnet_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant='b9'"):
        efficientnet("b9")


def test_efficientnet_variant_table_matches_the_issue():
    assert [EFFICIENTNET_VARIANTS[f"b{i}"][:3] for i in range(8)] == [
        (1.0, 1.0, 224),
        (1.0, 1.1, 240),
        (1.1, 1.2, 260),
        (1.2, 1.4, 300),
        (1.4, 1.8, 380),
        (1.6, 2.2, 456),
        (1.8, 2.6, 528),
        (2.0, 3.1, 600),
    ]


# ------------------------------------------------------------------------- deformable conv
def _bilinear_zero(img, y, x):
    """Deformable-conv bilinear read of img (H, W): corners outside the image count 0."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    value = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                value += wy * wx * img[yy, xx]
    return value


def slow_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """Dai et al. (2017) / Zhu et al. (2019), one output value at a time."""
    x, offset, weight = x.numpy(), offset.numpy(), weight.numpy()
    n, c_in, _, _ = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    groups, taps = c_in // c_per_group, kh * kw
    _, n_off, h_out, w_out = offset.shape
    off_groups = n_off // (2 * taps)
    out = np.zeros((n, c_out, h_out, w_out))
    for b in range(n):
        for o in range(c_out):
            g = o // (c_out // groups)
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0 if bias is None else float(bias[o])
                    for ci in range(c_per_group):
                        c = g * c_per_group + ci
                        og = c // (c_in // off_groups)
                        for k in range(taps):
                            ky, kx = divmod(k, kw)
                            dy = offset[b, 2 * (og * taps + k), i, j]
                            dx = offset[b, 2 * (og * taps + k) + 1, i, j]
                            y = i * stride - padding + ky * dilation + dy
                            xx = j * stride - padding + kx * dilation + dx
                            v = _bilinear_zero(x[b, c], y, xx)
                            if mask is not None:
                                v *= float(mask[b, og * taps + k, i, j])
                            total += weight[o, ci, ky, kx] * v
                    out[b, o, i, j] = total
    return torch.from_numpy(out)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups, off_groups",
    [(1, 1, 1, 1, 1), (2, 0, 1, 2, 2), (1, 2, 2, 1, 2)],
)
def test_deform_conv2d_equals_slow_loop_on_random_fractional_offsets(
    stride, padding, dilation, groups, off_groups
):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 6, 7, generator=gen, dtype=torch.float64)
    weight = torch.randn(4, 4 // groups, 3, 3, generator=gen, dtype=torch.float64)
    bias = torch.randn(4, generator=gen, dtype=torch.float64)
    h_out = (6 + 2 * padding - dilation * 2 - 1) // stride + 1
    w_out = (7 + 2 * padding - dilation * 2 - 1) // stride + 1
    # offsets up to +-2.5 pixels reach outside the image on every border
    offset = 5 * torch.rand(2, 2 * off_groups * 9, h_out, w_out, generator=gen) - 2.5
    offset = offset.double()
    mask = torch.rand(2, off_groups * 9, h_out, w_out, generator=gen, dtype=torch.float64)
    for m in (None, mask):
        got = deform_conv2d(x, offset, weight, bias, stride, padding, dilation, m)
        want = slow_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, m)
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_deform_conv2d_with_zero_offsets_equals_conv2d(dtype, tol):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 6, 9, 8, generator=gen).to(dtype)
    weight = (torch.rand(4, 3, 3, 3, generator=gen) / 9).to(dtype)
    bias = torch.rand(4, generator=gen).to(dtype)
    offset = torch.zeros(2, 18, 5, 4, dtype=dtype)
    mask = torch.ones(2, 9, 5, 4, dtype=dtype)
    want = F.conv2d(x, weight, bias, stride=2, padding=1, dilation=1, groups=2)
    got = deform_conv2d(x, offset, weight, bias, stride=2, padding=1, mask=mask)
    torch.testing.assert_close(got, want, rtol=0, atol=tol)


def test_deform_conv2d_integer_offsets_equal_a_shifted_convolution():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, 10, 10, generator=gen, dtype=torch.float64)
    weight = torch.randn(5, 3, 3, 3, generator=gen, dtype=torch.float64)
    offset = torch.zeros(1, 18, 8, 8, dtype=torch.float64)
    offset[:, 0::2] = 1.0  # every tap one row down
    offset[:, 1::2] = -2.0  # and two columns left
    got = deform_conv2d(x, offset, weight)
    shifted = F.pad(x, (2, 0, 0, 1))[:, :, 1:, :10]  # x[r + 1, c - 2], zero outside
    torch.testing.assert_close(got, F.conv2d(shifted, weight), rtol=1e-12, atol=1e-12)


def test_deform_conv2d_gradients_pass_gradcheck():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 2, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    # fractional offsets away from integers: the bilinear kernel is smooth there
    size = (1, 8, 3, 3)  # offsets +-(0.3...0.7) px: smooth, and border taps leave the image
    magnitude = 0.3 + 0.4 * torch.rand(size, generator=gen, dtype=torch.float64)
    offset = magnitude * torch.sign(torch.randn(size, generator=gen, dtype=torch.float64))
    offset.requires_grad_(True)
    mask = torch.rand(1, 4, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)

    def fn(x, offset, weight, bias, mask):
        return deform_conv2d(x, offset, weight, bias, mask=mask)

    assert torch.autograd.gradcheck(fn, (x, offset, weight, bias, mask))


def test_deform_conv_module_starts_as_a_regular_convolution():
    torch.manual_seed(0)
    layer = DeformConv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 6, 6)
    want = F.conv2d(x, layer.weight, layer.bias, padding=1)
    torch.testing.assert_close(layer(x), want, rtol=0, atol=1e-6)
    modulated = DeformConv2d(3, 4, 3, padding=1, modulated=True, offset_groups=3)
    want = F.conv2d(x, modulated.weight, modulated.bias, padding=1)
    bias = modulated.bias.reshape(1, -1, 1, 1)
    torch.testing.assert_close(modulated(x) - bias, 0.5 * (want - bias), rtol=0, atol=1e-6)
    modulated(x).sum().backward()
    assert modulated.offset_conv.weight.grad.abs().sum() > 0


def test_deform_conv2d_rejects_offset_of_wrong_shape():
    with pytest.raises(ValueError, match="offset has shape"):
        deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 17, 3, 3), torch.zeros(2, 2, 3, 3))


# ------------------------------------------------------------------------- RoI pooling
def slow_roi_pool(x, rois, out_h, out_w, scale):
    """Fast R-CNN RoI max pooling as in torchvision's CPU kernel."""
    x = x.numpy()
    _, c, h, w = x.shape
    out = np.zeros((len(rois), c, out_h, out_w))

    def c_round(v):
        return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)

    for r, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        sw, sh, ew, eh = (c_round(v * scale) for v in (x1, y1, x2, y2))
        rh, rw = max(eh - sh + 1, 1), max(ew - sw + 1, 1)
        bh, bw = rh / out_h, rw / out_w
        for ph in range(out_h):
            for pw in range(out_w):
                hs = min(max(math.floor(ph * bh) + sh, 0), h)
                he = min(max(math.ceil((ph + 1) * bh) + sh, 0), h)
                ws = min(max(math.floor(pw * bw) + sw, 0), w)
                we = min(max(math.ceil((pw + 1) * bw) + sw, 0), w)
                if he <= hs or we <= ws:
                    continue
                out[r, :, ph, pw] = x[int(b), :, hs:he, ws:we].max(axis=(1, 2))
    return torch.from_numpy(out)


def slow_roi_align(x, rois, out_h, out_w, scale, sampling_ratio, aligned):
    """Mask R-CNN RoIAlign as in torchvision's CPU kernel, one sample at a time."""
    x = x.numpy()
    _, c, h, w = x.shape
    out = np.zeros((len(rois), c, out_h, out_w))

    def read(img, y, xx):
        if y < -1.0 or y > h or xx < -1.0 or xx > w:
            return np.zeros(c)
        y, xx = max(y, 0.0), max(xx, 0.0)
        y0, x0 = int(y), int(xx)
        if y0 >= h - 1:
            y0 = y1 = h - 1
            y = float(y0)
        else:
            y1 = y0 + 1
        if x0 >= w - 1:
            x0 = x1 = w - 1
            xx = float(x0)
        else:
            x1 = x0 + 1
        ly, lx = y - y0, xx - x0
        hy, hx = 1 - ly, 1 - lx
        return (
            hy * hx * img[:, y0, x0]
            + hy * lx * img[:, y0, x1]
            + ly * hx * img[:, y1, x0]
            + ly * lx * img[:, y1, x1]
        )

    off = 0.5 if aligned else 0.0
    for r, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        sw, sh = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sw, y2 * scale - off - sh
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / out_h, rw / out_w
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / out_h)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / out_w)
        count = max(gh * gw, 1)
        for ph in range(out_h):
            for pw in range(out_w):
                acc = np.zeros(c)
                for iy in range(gh):
                    y = sh + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = sw + pw * bw + (ix + 0.5) * bw / gw
                        acc += read(x[int(b)], y, xx)
                out[r, :, ph, pw] = acc / count
    return torch.from_numpy(out)


@pytest.fixture(scope="module")
def roi_case():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 13, 11, generator=gen, dtype=torch.float64)
    corners = torch.rand(12, 4, generator=gen, dtype=torch.float64) * 30 - 4
    x1y1 = torch.minimum(corners[:, :2], corners[:, 2:])
    x2y2 = torch.maximum(corners[:, :2], corners[:, 2:])
    x2y2[:3] = x1y1[:3] + 0.3  # tiny boxes (sub-pixel, clamped to 1 px without aligned)
    x1y1[3] = torch.tensor([40.0, 40.0])  # entirely outside
    x2y2[3] = torch.tensor([44.0, 48.0])
    batch = torch.tensor([0, 1] * 6, dtype=torch.float64)[:, None]
    return x, torch.cat([batch, x1y1, x2y2], dim=1)


@pytest.mark.parametrize("scale", [1.0, 0.5])
@pytest.mark.parametrize("output_size", [(2, 3), 4])
def test_roi_pool_equals_fast_rcnn_slow_loop(roi_case, scale, output_size):
    x, rois = roi_case
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    got = roi_pool(x, rois, output_size, scale)
    torch.testing.assert_close(got, slow_roi_pool(x, rois, oh, ow, scale), rtol=0, atol=0)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_align_equals_mask_rcnn_slow_loop(roi_case, aligned, sampling_ratio, scale):
    x, rois = roi_case
    got = roi_align(x, rois, (3, 2), scale, sampling_ratio, aligned)
    want = slow_roi_align(x, rois, 3, 2, scale, sampling_ratio, aligned)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_roi_functions_accept_a_list_of_boxes_per_image(roi_case):
    x, rois = roi_case
    per_image = [rois[rois[:, 0] == i, 1:] for i in range(2)]
    order = torch.cat([torch.nonzero(rois[:, 0] == i).ravel() for i in range(2)])
    torch.testing.assert_close(roi_align(x, per_image, 2), roi_align(x, rois[order], 2))
    torch.testing.assert_close(roi_pool(x, per_image, 2), roi_pool(x, rois[order], 2))


def test_roi_align_aligned_box_on_pixel_grid_reads_pixel_centres():
    x = torch.arange(36.0, dtype=torch.float64).reshape(1, 1, 6, 6)
    # a 2 x 2 pixel box [1, 3) x [2, 4): aligned bins of one pixel sample pixel centres
    out = roi_align(x, torch.tensor([[0.0, 2.0, 1.0, 4.0, 3.0]]), 2, aligned=True)
    torch.testing.assert_close(out[0, 0], x[0, 0, 1:3, 2:4])


def test_roi_align_input_gradient_passes_gradcheck(roi_case):
    x, rois = roi_case
    x = x[:, :1].clone().requires_grad_(True)
    for sampling_ratio, aligned in ((2, False), (-1, True)):
        assert torch.autograd.gradcheck(
            lambda t, s=sampling_ratio, a=aligned: roi_align(t, rois, 2, 0.5, s, a),
            (x,),
            fast_mode=True,
        )


def test_multiscale_roi_align_reads_each_box_from_its_fpn_level():
    gen = torch.Generator().manual_seed(5)
    image_shapes = [(128, 120), (100, 128)]  # the largest side, 128, sets the map scales
    maps = {
        name: torch.randn(2, 2, 128 // stride, 128 // stride, generator=gen, dtype=torch.float64)
        for name, stride in (("p2", 4), ("p3", 8), ("p4", 16))
    }
    # sides from 3 to 120 pixels: levels 2 (clipped from below), 3 and 4 all occur
    sides = torch.tensor([3.0, 20.0, 60.0, 100.0, 120.0, 40.0], dtype=torch.float64)
    x1y1 = torch.rand(6, 2, generator=gen, dtype=torch.float64) * 8
    boxes = torch.cat([x1y1, x1y1 + sides[:, None] * torch.tensor([1.0, 0.8])], dim=1)
    per_image = [boxes[:4], boxes[4:]]
    pooler = MultiScaleRoIAlign(["p2", "p3", "p4"], 3, sampling_ratio=2, canonical_scale=56)
    got = pooler(maps, per_image, image_shapes)
    levels = []
    for i, box in enumerate(boxes.tolist()):
        area = (box[2] - box[0]) * (box[3] - box[1])
        level = min(max(math.floor(4 + math.log2(math.sqrt(area) / 56) + 1e-6), 2), 4)
        levels.append(level)
        fmap = maps[f"p{level}"]
        roi = torch.tensor([[0.0 if i < 4 else 1.0, *box]], dtype=torch.float64)
        want = slow_roi_align(fmap, roi, 3, 3, 2.0**-level, 2, False)
        torch.testing.assert_close(got[i : i + 1], want, rtol=1e-12, atol=1e-12)
    assert set(levels) == {2, 3, 4}


def test_multiscale_roi_align_rejects_a_single_name_string():
    with pytest.raises(ValueError, match="featmap_names='p2'"):
        MultiScaleRoIAlign("p2", 7, 2)


def test_roi_align_rejects_boxes_of_wrong_shape():
    with pytest.raises(ValueError, match="boxes has shape"):
        roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(3, 4), 2)


# ------------------------------------------------------------------------- sub-pixel
def test_subpixel_upsample_at_init_equals_nearest_upsampling_of_a_convolution():
    torch.manual_seed(0)
    layer = SubPixelUpsample(3, 2, scale=3)
    x = torch.randn(2, 3, 5, 4)
    out = layer(x)
    assert out.shape == (2, 2, 15, 12)
    base = layer.conv.weight[:: 3**2]  # the first copy of each output channel's kernel
    want = F.interpolate(F.conv2d(x, base, padding=1), scale_factor=3, mode="nearest")
    torch.testing.assert_close(out, want)


def test_subpixel_upsample_without_icnr_has_a_checkerboard():
    torch.manual_seed(0)
    layer = SubPixelUpsample(3, 1, scale=2)
    torch.nn.init.kaiming_normal_(layer.conv.weight)  # plain init: sub-pixels differ
    out = layer(torch.randn(1, 3, 6, 6))
    assert (out[..., 0::2, 0::2] - out[..., 1::2, 1::2]).abs().max() > 1e-3


# ------------------------------------------------------------------------- receptive field
def _empirical_field(net, input_shape, unit):
    """Bounding box of the nonzero input gradient of output unit (row, col) of channel 0."""
    x = torch.rand(1, *input_shape, dtype=torch.float64, requires_grad=True)
    out = net.double().eval()(x)
    out[0, 0, unit[0], unit[1]].backward()
    rows, cols = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    return (
        (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1),
        ((rows.max() + rows.min()).item() / 2, (cols.max() + cols.min()).item() / 2),
    )


def _positive(net):
    """Positive weights so that no gradient cancels out (the region is then exact)."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.abs() + 0.1)
    return net


class _Residual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(2, 2, 3, 1, 1), torch.nn.Conv2d(2, 2, 5, 2, 4, dilation=2)
        )
        self.skip = torch.nn.Conv2d(2, 2, 1, 2, 0)

    def forward(self, x):
        return self.body(x) + self.skip(x)


@functools.cache
def _b0():
    return efficientnet("b0")


# name: (network factory, input channels)
NETWORKS = {
    "strided_dilated_stack": (
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, 2, 1),
            torch.nn.AvgPool2d(3, 2, 1),
            torch.nn.Conv2d(2, 2, 3, 1, 2, dilation=2),
            torch.nn.Conv2d(2, 1, (1, 5), 1, (0, 1)),
        ),
        1,
    ),
    "residual_with_strided_skip": (
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, 1, 1), _Residual(), torch.nn.AvgPool2d(2)
        ),
        1,
    ),
    "ceil_mode_pooling": (
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3),
            torch.nn.AvgPool2d(3, 2, ceil_mode=True),  # 46 -> 23 (22 without ceil_mode)
            torch.nn.Conv2d(2, 1, 3, 2),
        ),
        1,
    ),
    "efficientnet_b0_stem": (lambda: copy.deepcopy(_b0().features[0]), 3),
    "efficientnet_b0_stem_and_mbconvs_without_se": (
        lambda: torch.nn.Sequential(
            copy.deepcopy(_b0().features[0]),
            MBConv(32, 24, 6, 5, 2, 0.0, se_ratio=0),
            MBConv(24, 24, 6, 3, 1, 0.0, se_ratio=0),
        ),
        3,
    ),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_receptive_field_equals_nonzero_input_gradient_region(name):
    factory, channels = NETWORKS[name]
    net, shape = _positive(factory()), (channels, 48, 48)
    last = receptive_field(net, shape)[-1]
    unit = (last["size"][0] // 2, last["size"][1] // 2)
    size, centre = _empirical_field(net, shape, unit)
    assert size == tuple(last["rf"])
    expected = tuple(s + u * j for s, u, j in zip(last["start"], unit, last["jump"]))
    assert centre == pytest.approx(expected)


def test_receptive_field_arithmetic_of_a_known_stack():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 7, 2, 3), torch.nn.MaxPool2d(3, 2, 1), torch.nn.Conv2d(8, 8, 3, 1, 1)
    )
    rows = receptive_field(net, (3, 224, 224))
    assert [(r["size"][0], r["jump"][0], r["rf"][0], r["start"][0]) for r in rows] == [
        (112, 2, 7, 0.0),
        (56, 4, 11, 0.0),
        (56, 4, 19, 0.0),
    ]


def test_receptive_field_of_efficientnet_b0_follows_the_convolution_path():
    rows = receptive_field(_b0(), (3, 224, 224))
    assert rows[0]["layer"] == "features.0.0" and rows[0]["size"] == (112, 112)
    assert rows[-1]["size"] == (7, 7) and rows[-1]["jump"] == (32, 32)
    assert all(b["rf"][0] >= a["rf"][0] for a, b in zip(rows, rows[1:]))


def test_receptive_field_rejects_input_shape_without_channels():
    with pytest.raises(ValueError, match="input_shape"):
        receptive_field(torch.nn.Conv2d(1, 1, 3), (8, 8))


# ------------------------------------------------------------------------- ImageClassifier
def test_image_classifier_passes_check_estimator():
    check_estimator(
        ImageClassifier(width=4, lr=0.03, max_epochs=10, random_state=0),
        expected_failed_checks=FLOAT32_WEIGHTS,
    )


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0)


def test_image_classifier_reaches_097_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    clf = ImageClassifier(
        image_shape=(1, 8, 8), width=8, lr=3e-3, max_epochs=30, batch_size=64, random_state=0
    )
    assert clf.fit(X_train, y_train).score(X_test, y_test) >= 0.97


def test_image_classifier_accepts_4d_images_and_flat_rows_alike(digits):
    X_train, X_test, y_train, _ = digits
    params = dict(width=4, max_epochs=2, random_state=0)
    flat = ImageClassifier(image_shape=(1, 8, 8), **params).fit(X_train, y_train)
    images = ImageClassifier(**params).fit(X_train.reshape(-1, 1, 8, 8), y_train)
    assert images.image_shape_ == (1, 8, 8)
    np.testing.assert_allclose(
        images.predict_proba(X_test.reshape(-1, 1, 8, 8)), flat.predict_proba(X_test), atol=1e-6
    )


def test_image_classifier_efficientnet_backbone_upsamples_small_images(digits):
    X_train, _, y_train, _ = digits
    clf = ImageClassifier("efficientnet_b0", (1, 8, 8), max_epochs=1, batch_size=256)
    clf.set_params(random_state=0)
    proba = clf.fit(X_train[:256], y_train[:256]).predict_proba(X_train[:3])
    assert proba.shape == (3, 10)


@pytest.mark.parametrize("augment", ["shift", "shift_flip"])
def test_image_classifier_with_augmentation_and_deformable_layer_trains(digits, augment):
    X_train, X_test, y_train, y_test = digits
    clf = ImageClassifier(
        image_shape=(1, 8, 8),
        width=8,
        augment=augment,
        deformable=True,
        lr=3e-3,
        max_epochs=8,
        batch_size=64,
        random_state=0,
    )
    assert clf.fit(X_train, y_train).score(X_test, y_test) > 0.8


def test_image_classifier_rejects_image_shape_that_does_not_match(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="image_shape=\\(1, 4, 4\\)"):
        ImageClassifier(image_shape=(1, 4, 4), max_epochs=1).fit(X_train, y_train)


def test_image_classifier_save_load_round_trip(tmp_path, digits):
    X_train, X_test, y_train, _ = digits
    clf = ImageClassifier(image_shape=(1, 8, 8), width=4, max_epochs=1, random_state=0)
    clf.fit(X_train, y_train).save(tmp_path / "m")
    loaded = ImageClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
