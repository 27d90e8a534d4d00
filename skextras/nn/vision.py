"""Vision building blocks and an image classifier, in plain torch (no torchvision ops).

- :func:`efficientnet`: EfficientNet-B0...B7 (Tan & Le, 2019) built from one B0 stage table by
  compound scaling: channels ``make_divisible(c * width, 8)``, repeats ``ceil(n * depth)``.
  MBConv blocks (1x1 expansion, depthwise k x k, squeeze-and-excitation on a quarter of the
  block's input channels, 1x1 projection), SiLU, stochastic depth growing linearly to
  ``drop_connect_rate`` over the blocks. Parameter counts equal torchvision's / timm's.
- :func:`deform_conv2d` / :class:`DeformConv2d`: deformable convolution v1 (Dai et al., 2017)
  and v2 with a modulation mask (Zhu et al., 2019). The kernel tap ``k`` of output ``(i, j)``
  reads the input at ``(i s - p + k_y d + dy, j s - p + k_x d + dx)`` by bilinear interpolation,
  zero outside the image (every corner outside counts 0), as torchvision's ``deform_conv2d``.
  The samples of all taps are gathered at once by ``grid_sample`` (an im2col of bilinear
  samples, ``(N, C, K, L)``) and contracted with the weights in one matmul, so autograd
  gives the gradients of input, offsets, mask and weight. Zero offsets reduce it to
  ``conv2d``.
- :func:`roi_pool` (Fast R-CNN) and :func:`roi_align` (Mask R-CNN) with torchvision's argument
  conventions, vectorised over boxes, bins and sampling points. RoIAlign factors over the
  axes: each box is ``A_y X A_x^T`` with per-axis matrices of averaged bilinear weights.
  :class:`MultiScaleRoIAlign` assigns each box to a pyramid level by its size (FPN).
- :class:`SubPixelUpsample`: convolution to ``out * r^2`` channels and ``PixelShuffle(r)``
  with ICNR initialisation (Aitken et al., 2017): every group of ``r^2`` output channels
  starts as copies of one kernel, so the initial output is the nearest-neighbour upsampling
  of a convolution and has no checkerboard.
- :func:`receptive_field`: per layer output size, jump (stride in input pixels), receptive
  field size and centre of the first unit, from the layer arithmetic
  ``r_out = r_in + (k - 1) d j_in``, ``j_out = j_in s``,
  ``c_out = c_in + ((k - 1) d / 2 - p) j_in``, followed through any network that
  ``torch.fx`` can trace; residual sums and concatenations take the union of their inputs.
- :class:`ImageClassifier`: a scikit-learn classifier over images on
  :class:`~skextras.nn.TorchEstimator`.
"""

import math
import os
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skextras.nn._base import TorchClassifierMixin, TorchEstimator, base_params

# --------------------------------------------------------------------------- EfficientNet
# B0 stages: (expand ratio, kernel, stride, in channels, out channels, repeats).
_B0_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
# variant: (width multiplier, depth multiplier, resolution, dropout before the classifier)
EFFICIENTNET_VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}


def make_divisible(value, divisor=8):
    """Round ``value`` to the nearest multiple of ``divisor``, never more than 10% down.

    Examples
    --------
    >>> from skextras.nn.vision import make_divisible
    >>> make_divisible(37), make_divisible(25.6)
    (40, 24)
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def compound_scale(phi, alpha=1.2, beta=1.1, gamma=1.15):
    """Depth, width and resolution multipliers of compound coefficient ``phi``.

    EfficientNet scales depth by ``alpha**phi``, width by ``beta**phi`` and resolution by
    ``gamma**phi`` under ``alpha * beta**2 * gamma**2 ~= 2`` (FLOPs double per unit of phi).

    Parameters
    ----------
    phi : float
        Compound coefficient (B0 is 0).
    alpha, beta, gamma : float, default=1.2, 1.1, 1.15
        Per-unit depth, width and resolution factors of the paper's grid search.

    Returns
    -------
    width_mult, depth_mult : float
        Multipliers to pass to :func:`efficientnet` as ``variant=(width_mult, depth_mult)``.
    resolution : int
        Input side in pixels, ``round(224 * gamma**phi)``.

    Examples
    --------
    >>> from skextras.nn.vision import compound_scale
    >>> compound_scale(0)
    (1.0, 1.0, 224)
    >>> width, depth, resolution = compound_scale(1)
    >>> round(width, 2), round(depth, 2), resolution
    (1.1, 1.2, 258)
    """
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not value >= 1:
            raise ValueError(f"{name}={value!r} must be >= 1")
    return beta**phi, alpha**phi, int(round(224 * gamma**phi))


class StochasticDepth(torch.nn.Module):
    """Drop the residual branch of a whole sample with probability ``p`` (training only).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import StochasticDepth
    >>> _ = torch.manual_seed(0)
    >>> drop = StochasticDepth(0.5)
    >>> x = torch.ones(4, 1, 2, 2)
    >>> drop(x)[:, 0, 0, 0]
    tensor([0., 0., 2., 0.])
    >>> torch.equal(drop.eval()(x), x)
    True
    """

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        return x * noise.bernoulli_(keep).div_(keep)


class SqueezeExcitation(torch.nn.Module):
    """Channel gate ``x * sigmoid(W2 silu(W1 mean_hw(x)))`` (Hu et al., 2018).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import SqueezeExcitation
    >>> _ = torch.manual_seed(0)
    >>> se = SqueezeExcitation(8, 2)
    >>> x = torch.randn(1, 8, 4, 4)
    >>> y = se(x)
    >>> tuple(y.shape)
    (1, 8, 4, 4)
    >>> gate = y / x
    >>> torch.allclose(gate, gate[..., :1, :1].expand_as(gate), atol=1e-5)
    True
    """

    def __init__(self, channels, squeeze):
        super().__init__()
        self.reduce = torch.nn.Conv2d(channels, squeeze, 1)
        self.expand = torch.nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        scale = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(scale))))


def _conv_bn(in_ch, out_ch, kernel, stride=1, groups=1, act=True):
    layers = [
        torch.nn.Conv2d(
            in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False
        ),
        # TF's batch-norm settings, the ones EfficientNet was trained with.
        torch.nn.BatchNorm2d(out_ch, eps=1e-3, momentum=0.01),
    ]
    if act:
        layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


class MBConv(torch.nn.Module):
    """Inverted residual block: expand 1x1, depthwise k x k, SE, project 1x1 (+ skip).

    Parameters
    ----------
    in_ch, out_ch : int
        Channels in and out.
    expand_ratio : int
        Hidden width ``make_divisible(in_ch * expand_ratio)``; 1 skips the expansion conv.
    kernel_size, stride : int
        Of the depthwise convolution (padding ``(k - 1) // 2``).
    drop_prob : float
        Stochastic-depth probability of the residual branch.
    se_ratio : float, default=0.25
        Squeeze width as a fraction of ``in_ch``; 0 removes squeeze-and-excitation.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import MBConv
    >>> _ = torch.manual_seed(0)
    >>> block = MBConv(8, 16, expand_ratio=4, kernel_size=3, stride=2, drop_prob=0.0).eval()
    >>> tuple(block(torch.randn(1, 8, 8, 8)).shape)
    (1, 16, 4, 4)
    """

    def __init__(self, in_ch, out_ch, expand_ratio, kernel_size, stride, drop_prob, se_ratio=0.25):
        super().__init__()
        hidden = make_divisible(in_ch * expand_ratio)
        layers = []
        if hidden != in_ch:
            layers.append(_conv_bn(in_ch, hidden, 1))
        layers.append(_conv_bn(hidden, hidden, kernel_size, stride, groups=hidden))
        if se_ratio > 0:
            layers.append(SqueezeExcitation(hidden, max(1, int(in_ch * se_ratio))))
        layers.append(_conv_bn(hidden, out_ch, 1, act=False))
        self.block = torch.nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_ch == out_ch
        self.drop = StochasticDepth(drop_prob)

    def forward(self, x):
        out = self.block(x)
        if self.use_residual:
            out = self.drop(out) + x
        return out


class EfficientNet(torch.nn.Module):
    """Stem, MBConv stages and head; ``forward`` maps ``(N, C, H, W)`` to logits.

    Build it with :func:`efficientnet`. ``features`` holds the stem, one ``Sequential`` per
    stage and the 1x1 head convolution, as in torchvision, so a stage can be sliced out.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import EfficientNet, efficientnet
    >>> _ = torch.manual_seed(0)
    >>> net = efficientnet((0.25, 0.25), num_classes=3).eval()
    >>> isinstance(net, EfficientNet)
    True
    >>> tuple(net(torch.randn(2, 3, 32, 32)).shape)
    (2, 3)
    """

    def __init__(self, width_mult, depth_mult, dropout, num_classes, in_channels, drop_rate):
        super().__init__()
        stages = [
            (e, k, s, make_divisible(i * width_mult), make_divisible(o * width_mult), n)
            for e, k, s, i, o, n in _B0_STAGES
        ]
        repeats = [int(math.ceil(n * depth_mult)) for *_, n in stages]
        total, index = sum(repeats), 0
        features = [_conv_bn(in_channels, stages[0][3], 3, 2)]
        for (expand, kernel, stride, in_ch, out_ch, _), n in zip(stages, repeats):
            blocks = []
            for r in range(n):
                blocks.append(
                    MBConv(
                        in_ch if r == 0 else out_ch,
                        out_ch,
                        expand,
                        kernel,
                        stride if r == 0 else 1,
                        drop_rate * index / total,
                    )
                )
                index += 1
            features.append(torch.nn.Sequential(*blocks))
        last = stages[-1][4]
        features.append(_conv_bn(last, 4 * last, 1))
        self.features = torch.nn.Sequential(*features)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.classifier = torch.nn.Sequential(
            torch.nn.Dropout(dropout), torch.nn.Linear(4 * last, num_classes)
        )
        self._init_weights()

    def _init_weights(self):
        if next(self.parameters()).is_meta:
            return  # shape-only network (parameter counting): nothing to draw
        for m in self.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)
            elif isinstance(m, torch.nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                torch.nn.init.uniform_(m.weight, -bound, bound)
                torch.nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def efficientnet(variant="b0", num_classes=1000, in_channels=3, drop_connect_rate=0.2):
    """EfficientNet network (randomly initialised).

    Parameters
    ----------
    variant : {"b0", ..., "b7"} or tuple (width_mult, depth_mult[, dropout]), default="b0"
        A published variant, or custom multipliers such as those of :func:`compound_scale`
        (dropout 0.2 unless given).
    num_classes : int, default=1000
        Outputs of the final linear layer.
    in_channels : int, default=3
        Channels of the input images.
    drop_connect_rate : float, default=0.2
        Stochastic-depth probability of the last block; block ``b`` of ``B`` uses
        ``drop_connect_rate * b / B``.

    Returns
    -------
    EfficientNet
        Maps ``(N, in_channels, H, W)`` to ``(N, num_classes)`` logits; the native input side
        of a published variant is ``EFFICIENTNET_VARIANTS[variant][2]`` pixels.

    Examples
    --------
    >>> from skextras.nn.vision import efficientnet
    >>> sum(p.numel() for p in efficientnet("b0").parameters())
    5288548
    """
    if isinstance(variant, str):
        if variant not in EFFICIENTNET_VARIANTS:
            raise ValueError(f"variant={variant!r} is not one of {sorted(EFFICIENTNET_VARIANTS)}")
        width, depth, _, dropout = EFFICIENTNET_VARIANTS[variant]
    elif isinstance(variant, tuple | list) and len(variant) in (2, 3):
        width, depth = float(variant[0]), float(variant[1])
        dropout = float(variant[2]) if len(variant) == 3 else 0.2
        if width <= 0 or depth <= 0:
            raise ValueError(f"variant={variant!r}: width and depth multipliers must be > 0")
    else:
        raise TypeError(f"variant={variant!r} must be 'b0'...'b7' or (width_mult, depth_mult)")
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    if not 0 <= drop_connect_rate < 1:
        raise ValueError(f"drop_connect_rate={drop_connect_rate!r} must be in [0, 1)")
    return EfficientNet(width, depth, dropout, num_classes, in_channels, drop_connect_rate)


# --------------------------------------------------------------------------- deformable conv
def _pair(value, name):
    pair = (value, value) if isinstance(value, Integral) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, Integral) for v in pair):
        raise TypeError(f"{name}={value!r} must be an int or a pair of ints")
    return pair


def deform_conv2d(x, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    """Deformable 2-D convolution (v1; v2 when ``mask`` is given), torchvision's conventions.

    Parameters
    ----------
    x : Tensor, shape (N, C_in, H, W)
        Input.
    offset : Tensor, shape (N, 2 * G_off * kh * kw, H_out, W_out)
        Per offset group ``g`` and kernel tap ``k`` (row-major over ``kh x kw``), the pair
        ``(dy, dx)`` in input pixels at channels ``2 (g K + k)`` and ``2 (g K + k) + 1``.
        ``G_off`` (offset groups) splits the input channels into ``G_off`` blocks.
    weight : Tensor, shape (C_out, C_in / groups, kh, kw)
        Convolution weights; ``groups = C_in / weight.shape[1]``.
    bias : Tensor of shape (C_out,) or None, default=None
    stride, padding, dilation : int or pair of int, default=1, 0, 1
    mask : Tensor of shape (N, G_off * kh * kw, H_out, W_out) or None, default=None
        Modulation of every sample (DCNv2); ``None`` is a mask of ones.

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import deform_conv2d
    >>> _ = torch.manual_seed(0)
    >>> x, weight = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    >>> offset = torch.zeros(1, 2 * 9, 3, 3)
    >>> out = deform_conv2d(x, offset, weight)
    >>> tuple(out.shape)
    (1, 3, 3, 3)
    >>> torch.allclose(out, torch.nn.functional.conv2d(x, weight), atol=1e-5)
    True
    """
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    n, c_in, height, width = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_in % c_per_group:
        raise ValueError(f"weight.shape[1]={c_per_group} does not divide C_in={c_in}")
    groups = c_in // c_per_group
    taps = kh * kw
    h_out = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if offset.dim() != 4 or offset.shape[1] % (2 * taps) or offset.shape[2:] != (h_out, w_out):
        raise ValueError(
            f"offset has shape {tuple(offset.shape)}, expected (N, 2 * offset_groups * {taps}, "
            f"{h_out}, {w_out})"
        )
    off_groups = offset.shape[1] // (2 * taps)
    if c_in % off_groups:
        raise ValueError(f"offset_groups={off_groups} does not divide C_in={c_in}")
    if mask is not None and tuple(mask.shape) != (n, off_groups * taps, h_out, w_out):
        raise ValueError(
            f"mask has shape {tuple(mask.shape)}, expected {(n, off_groups * taps, h_out, w_out)}"
        )
    dtype, device = x.dtype, x.device
    # Regular sampling grid, (K, H_out, W_out) per axis, in input pixel coordinates.
    ky = torch.arange(kh, dtype=dtype, device=device).repeat_interleave(kw) * dh
    kx = torch.arange(kw, dtype=dtype, device=device).repeat(kh) * dw
    oy = torch.arange(h_out, dtype=dtype, device=device) * sh - ph
    ox = torch.arange(w_out, dtype=dtype, device=device) * sw - pw
    offset = offset.reshape(n, off_groups, taps, 2, h_out, w_out)
    ys = ky[:, None, None] + oy[None, :, None] + offset[:, :, :, 0]
    xs = kx[:, None, None] + ox[None, None, :] + offset[:, :, :, 1]
    # grid_sample (align_corners=False) reads pixel p at normalised (2p + 1) / size - 1 and
    # treats every corner outside the image as zero: the deformable-conv sampling rule.
    grid = torch.stack(((2 * xs + 1) / width - 1, (2 * ys + 1) / height - 1), dim=-1)
    grid = grid.reshape(n * off_groups, taps * h_out, w_out, 2)
    images = x.reshape(n * off_groups, c_in // off_groups, height, width)
    cols = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    cols = cols.reshape(n, off_groups, c_in // off_groups, taps, h_out * w_out)
    if mask is not None:
        cols = cols * mask.reshape(n, off_groups, 1, taps, h_out * w_out)
    cols = cols.reshape(n, groups, c_per_group * taps, h_out * w_out)
    out = torch.matmul(weight.reshape(groups, c_out // groups, c_per_group * taps), cols)
    out = out.reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


class DeformConv2d(torch.nn.Module):
    """Deformable convolution layer whose offsets (and mask) come from a parallel conv.

    The offset branch is a convolution with this layer's kernel, stride, padding and dilation
    producing ``2 * offset_groups * kh * kw`` channels (plus ``offset_groups * kh * kw`` mask
    logits when ``modulated``); it is initialised to zero, so training starts from a regular
    convolution (and a mask of ``sigmoid(0) = 0.5`` in v2, as in the DCNv2 paper).

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    kernel_size, stride, padding, dilation : int or pair of int
        As in ``torch.nn.Conv2d`` (defaults 1, 0, 1 for the last three).
    groups : int, default=1
        Convolution groups.
    offset_groups : int, default=1
        Input channel blocks with their own offsets.
    modulated : bool, default=False
        DCNv2: learn a sigmoid modulation mask per sample.
    bias : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import DeformConv2d
    >>> _ = torch.manual_seed(0)
    >>> conv = DeformConv2d(2, 4, kernel_size=3, padding=1, modulated=True)
    >>> x = torch.randn(1, 2, 6, 6)
    >>> tuple(conv(x).shape)
    (1, 4, 6, 6)
    """

    def __init__(
        self,
        in_ch,
        out_ch,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        offset_groups=1,
        modulated=False,
        bias=True,
    ):
        super().__init__()
        if in_ch % groups or out_ch % groups:
            raise ValueError(f"groups={groups} must divide in_ch={in_ch} and out_ch={out_ch}")
        if in_ch % offset_groups:
            raise ValueError(f"offset_groups={offset_groups} must divide in_ch={in_ch}")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.modulated = modulated
        taps = self.kernel_size[0] * self.kernel_size[1]
        self.weight = torch.nn.Parameter(torch.empty(out_ch, in_ch // groups, *self.kernel_size))
        self.bias = torch.nn.Parameter(torch.zeros(out_ch)) if bias else None
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        n_offset = (3 if modulated else 2) * offset_groups * taps
        self.offset_conv = torch.nn.Conv2d(
            in_ch, n_offset, self.kernel_size, self.stride, self.padding, self.dilation
        )
        torch.nn.init.zeros_(self.offset_conv.weight)
        torch.nn.init.zeros_(self.offset_conv.bias)
        self._n_offsets = 2 * offset_groups * taps

    def forward(self, x):
        raw = self.offset_conv(x)
        offset, mask = raw[:, : self._n_offsets], None
        if self.modulated:
            mask = torch.sigmoid(raw[:, self._n_offsets :])
        return deform_conv2d(
            x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask
        )


# --------------------------------------------------------------------------- RoI pooling
def _rois(boxes, x):
    """Boxes as one ``(K, 5)`` tensor ``[batch_index, x1, y1, x2, y2]``."""
    if isinstance(boxes, list | tuple):
        for i, b in enumerate(boxes):
            if b.dim() != 2 or b.shape[1] != 4:
                raise ValueError(f"boxes[{i}] has shape {tuple(b.shape)}, expected (K_i, 4)")
        index = torch.cat([x.new_full((len(b), 1), float(i)) for i, b in enumerate(boxes)])
        boxes = torch.cat([index, torch.cat(list(boxes)).to(x.dtype)], dim=1)
    elif not (isinstance(boxes, torch.Tensor) and boxes.dim() == 2 and boxes.shape[1] == 5):
        shape = tuple(boxes.shape) if hasattr(boxes, "shape") else type(boxes).__name__
        raise ValueError(f"boxes has shape {shape}, expected (K, 5) or a list of (K_i, 4)")
    boxes = boxes.to(x.dtype)
    batch = boxes[:, 0].long()
    if len(batch) and (batch.min() < 0 or batch.max() >= x.shape[0]):
        raise ValueError(f"boxes batch index out of range [0, {x.shape[0]})")
    return batch, boxes[:, 1:]


def roi_pool(x, boxes, output_size, spatial_scale=1.0):
    """Max pooling of each box onto an ``output_size`` grid (Fast R-CNN, torchvision's rules).

    Box corners are scaled and rounded to pixels; the box spans ``x2 - x1 + 1`` pixels (at
    least 1); bin ``(i, j)`` covers rows ``floor(i h / ph) ... ceil((i + 1) h / ph)``
    (clipped to the image) and an empty bin gives 0.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    boxes : Tensor of shape (K, 5) ``[batch_index, x1, y1, x2, y2]`` or list of (K_i, 4)
        Boxes in input-image coordinates.
    output_size : int or pair of int
        ``(ph, pw)`` bins.
    spatial_scale : float, default=1.0
        Factor from box coordinates to ``x``'s pixels (``1 / stride`` of the feature map).

    Returns
    -------
    Tensor, shape (K, C, ph, pw)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import roi_pool
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> boxes = torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]])  # (batch index, x1, y1, x2, y2)
    >>> roi_pool(x, boxes, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    out_h, out_w = _pair(output_size, "output_size")
    batch, corners = _rois(boxes, x)
    _, c, height, width = x.shape
    # C's round(): half away from zero.
    scaled = corners * spatial_scale
    start_end = (torch.sign(scaled) * torch.floor(scaled.abs() + 0.5)).long()
    x1, y1, x2, y2 = start_end.unbind(1)
    rows = _bin_ranges(y1, (y2 - y1 + 1).clamp(min=1), out_h, height)
    cols = _bin_ranges(x1, (x2 - x1 + 1).clamp(min=1), out_w, width)
    (r_idx, r_ok), (c_idx, c_ok) = rows, cols
    # The max over a rectangle is a max over its rows, then over its columns: stage 1 keeps
    # (k, ph, C, W) per chunk of boxes instead of every (ph, Bh, pw, Bw, C) pixel at once.
    n, bh, bw = len(batch), r_idx.shape[2], c_idx.shape[2]
    by_row = x.permute(0, 2, 1, 3).reshape(-1, c, width)  # (N H, C, W)
    pooled = x.new_zeros((n, out_h, c, out_w))
    chunk = max(1, (1 << 24) // max(1, out_h * bh * c * width))
    for part in torch.split(torch.arange(n, device=x.device), chunk):
        k = len(part)
        index = batch[part, None, None] * height + r_idx[part]
        lines = by_row.index_select(0, index.reshape(-1)).reshape(k, out_h, bh, c, width)
        lines = lines.masked_fill(~r_ok[part, :, :, None, None], -math.inf).amax(dim=2)
        cols_index = c_idx[part].reshape(k, 1, 1, out_w * bw).expand(-1, out_h, c, -1)
        cells = lines.gather(3, cols_index).reshape(k, out_h, c, out_w, bw)
        cells = cells.masked_fill(~c_ok[part, None, None], -math.inf).amax(dim=4)
        empty = ~r_ok[part].any(2)[:, :, None, None] | ~c_ok[part].any(2)[:, None, None, :]
        pooled[part] = cells.masked_fill(empty, 0.0)
    return pooled.permute(0, 2, 1, 3).contiguous()


def _bin_ranges(start, length, bins, size):
    """Pixel indices ``(K, bins, B)`` and validity of each roi_pool bin along one axis."""
    bin_size = length.to(torch.float64) / bins
    i = torch.arange(bins, dtype=torch.float64, device=start.device)
    lo = torch.floor(i[None] * bin_size[:, None]).long() + start[:, None]
    hi = torch.ceil((i[None] + 1) * bin_size[:, None]).long() + start[:, None]
    lo, hi = lo.clamp(0, size), hi.clamp(0, size)
    extent = int((hi - lo).max().clamp(min=1)) if lo.numel() else 1
    idx = lo[:, :, None] + torch.arange(extent, device=start.device)
    ok = idx < hi[:, :, None]
    return idx.clamp(max=size - 1), ok


def roi_align(x, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoIAlign (Mask R-CNN): average of bilinear samples on a regular grid in each bin.

    Follows torchvision: box corners are scaled (and shifted by -0.5 pixel when
    ``aligned``); without ``aligned`` a box is at least 1 x 1 pixel; each of the
    ``ph x pw`` bins averages ``gh x gw`` samples at the centres of a regular sub-grid,
    ``gh = sampling_ratio`` or, when ``sampling_ratio <= 0``, ``ceil(box_h / ph)``. A sample
    beyond one pixel outside the image is 0; others are clamped to the image and read by
    bilinear interpolation.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    boxes : Tensor of shape (K, 5) ``[batch_index, x1, y1, x2, y2]`` or list of (K_i, 4)
    output_size : int or pair of int
        ``(ph, pw)`` bins.
    spatial_scale : float, default=1.0
        Factor from box coordinates to ``x``'s pixels.
    sampling_ratio : int, default=-1
        Samples per bin and axis; ``<= 0`` chooses ``ceil(box side / bins)`` per box.
    aligned : bool, default=False
        Shift the box by -0.5 pixel so that pixel centres sit at half-integers (Detectron2).

    Returns
    -------
    Tensor, shape (K, C, ph, pw)

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import roi_align
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> boxes = torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]])  # (batch index, x1, y1, x2, y2)
    >>> roi_align(x, boxes, 2, aligned=True)
    tensor([[[[1.5625, 3.0000],
              [7.3125, 8.7500]]]])
    """
    out_h, out_w = _pair(output_size, "output_size")
    batch, corners = _rois(boxes, x)
    n_boxes, c = len(batch), x.shape[1]
    if n_boxes == 0:
        return x.new_zeros((0, c, out_h, out_w))
    scaled = corners * spatial_scale - (0.5 if aligned else 0.0)
    x1, y1, x2, y2 = scaled.unbind(1)
    box_w, box_h = x2 - x1, y2 - y1
    if not aligned:
        box_w, box_h = box_w.clamp(min=1.0), box_h.clamp(min=1.0)
    if sampling_ratio > 0:
        grid_h = torch.full((n_boxes,), sampling_ratio, device=x.device)
        grid_w = grid_h
    else:
        grid_h = torch.ceil(box_h / out_h).long()
        grid_w = torch.ceil(box_w / out_w).long()
    # Bilinear sampling, the outside rule and the bin average all factor over the two axes,
    # so each box is A_y X A_x^T with (ph, H) and (pw, W) weight matrices: two matmuls
    # instead of gathering 4 corners x C channels for every sample (the gather needs
    # K ph pw gh gw C values at once, gigabytes for 1000 boxes of a 50 x 50 map).
    weights_y = _axis_weights(y1, box_h / out_h, grid_h, out_h, x.shape[2])  # (K, ph, H)
    weights_x = _axis_weights(x1, box_w / out_w, grid_w, out_w, x.shape[3])  # (K, pw, W)
    pooled = x.new_zeros((n_boxes, c, out_h, out_w))
    # Chunks keep the intermediate (k, C, ph, W) near 2^24 values.
    chunk = max(1, (1 << 24) // max(1, c * out_h * x.shape[3]))
    for image in torch.unique(batch).tolist():
        rows = torch.nonzero(batch == image).ravel()
        for part in torch.split(rows, chunk):
            half = torch.einsum("kih,chw->kciw", weights_y[part], x[image])
            pooled[part] = torch.einsum("kciw,kjw->kcij", half, weights_x[part])
    return pooled


def _axis_weights(start, bin_size, grid, bins, size):
    """RoIAlign's sampling along one axis as a matrix ``(K, bins, size)``.

    Row ``i`` of box ``k`` holds the bilinear weights of the ``grid[k]`` samples of bin
    ``i`` on the ``size`` pixels, divided by ``grid[k]``: a sample beyond one pixel outside
    the image weighs nothing, others are clamped to the image (the last pixel takes all).
    """
    g_max = max(int(grid.max()), 1)
    i = torch.arange(bins, dtype=start.dtype, device=start.device)
    g = torch.arange(g_max, dtype=start.dtype, device=start.device)
    count = grid.clamp(min=1).to(start.dtype)[:, None, None]
    width = bin_size[:, None, None]
    points = start[:, None, None] + i[None, :, None] * width + (g + 0.5) * width / count
    keep = (g < grid[:, None, None]) & (points >= -1.0) & (points <= size)
    points = points.clamp(min=0.0)
    low = points.floor().long()
    edge = low >= size - 1
    low = low.clamp(max=size - 1)
    high = (low + 1).clamp(max=size - 1)
    frac = torch.where(edge, torch.zeros_like(points), points - low)
    scale = keep.to(start.dtype) / count
    weights = start.new_zeros((len(start), bins, size))
    weights.scatter_add_(2, low, (1 - frac) * scale)
    weights.scatter_add_(2, high, frac * scale)
    return weights


class MultiScaleRoIAlign(torch.nn.Module):
    """RoIAlign over a feature pyramid, each box read from the level of its size (FPN).

    Follows torchvision's ``MultiScaleRoIAlign``: the scale of each feature map is
    ``2 ** round(log2(map side / largest image side))``; a box of area ``w h`` goes to level
    ``k = floor(canonical_level + log2(sqrt(w h) / canonical_scale) + 1e-6)`` (Lin et al.,
    2017, eq. 1) clipped to the pyramid's levels, and is pooled there by :func:`roi_align`
    with ``aligned=False``.

    Parameters
    ----------
    featmap_names : list of str
        Keys of the feature maps to use, finest (largest) first.
    output_size : int or pair of int
        ``(ph, pw)`` bins.
    sampling_ratio : int
        As in :func:`roi_align`.
    canonical_scale, canonical_level : int, default=224, 4
        A box of side ``canonical_scale`` maps to level ``canonical_level``.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import MultiScaleRoIAlign
    >>> _ = torch.manual_seed(0)
    >>> pool = MultiScaleRoIAlign(["p2", "p3"], output_size=2, sampling_ratio=2)
    >>> features = {"p2": torch.randn(1, 4, 16, 16), "p3": torch.randn(1, 4, 8, 8)}
    >>> boxes = [torch.tensor([[0.0, 0.0, 8.0, 8.0], [0.0, 0.0, 60.0, 60.0]])]
    >>> tuple(pool(features, boxes, [(64, 64)]).shape)
    (2, 4, 2, 2)
    """

    def __init__(
        self, featmap_names, output_size, sampling_ratio, *, canonical_scale=224, canonical_level=4
    ):
        super().__init__()
        if isinstance(featmap_names, str) or not len(featmap_names):
            raise ValueError(f"featmap_names={featmap_names!r} must be a non-empty list of keys")
        self.featmap_names = list(featmap_names)
        self.output_size = _pair(output_size, "output_size")
        self.sampling_ratio = sampling_ratio
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(self, x, boxes, image_shapes):
        """Pool ``boxes`` (list of ``(K_i, 4)``, image coordinates) from the maps in ``x``.

        ``x`` maps names to ``(N, C, H_l, W_l)`` tensors and ``image_shapes`` lists the
        ``(H, W)`` of each image; returns ``(sum K_i, C, ph, pw)`` in the order of ``boxes``.
        """
        maps = [x[name] for name in self.featmap_names]
        side = max(max(int(h), int(w)) for h, w in image_shapes)
        scales = []
        for name, fmap in zip(self.featmap_names, maps):
            levels = {round(math.log2(int(s) / side)) for s in fmap.shape[-2:]}
            if len(levels) != 1:
                raise ValueError(
                    f"feature map {name!r} of size {tuple(fmap.shape[-2:])} has different "
                    f"scales along H and W for images of side {side}"
                )
            scales.append(2.0 ** levels.pop())
        k_min, k_max = -math.log2(scales[0]), -math.log2(scales[-1])
        batch, corners = _rois(boxes, maps[0])
        area = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
        level = torch.floor(
            self.canonical_level + torch.log2(area.sqrt() / self.canonical_scale) + 1e-6
        )
        level = (level.clamp(k_min, k_max) - k_min).long()
        rois = torch.cat([batch[:, None].to(corners.dtype), corners], dim=1)
        out = maps[0].new_zeros((len(rois), maps[0].shape[1], *self.output_size))
        for index, (fmap, scale) in enumerate(zip(maps, scales)):
            chosen = torch.nonzero(level == index).ravel()
            if len(chosen):
                out[chosen] = roi_align(
                    fmap, rois[chosen], self.output_size, scale, self.sampling_ratio
                )
        return out


# --------------------------------------------------------------------------- sub-pixel
class SubPixelUpsample(torch.nn.Module):
    """Upsample by ``scale``: conv to ``out_ch * scale**2`` channels, then ``PixelShuffle``.

    ICNR initialisation: the conv's ``out_ch * scale**2`` kernels are ``scale**2`` copies of
    ``out_ch`` kaiming-initialised kernels, arranged so that ``PixelShuffle`` puts the copies of
    one kernel into one ``scale x scale`` output block. At initialisation the layer therefore
    equals nearest-neighbour upsampling of an ``out_ch`` convolution: no checkerboard.

    Parameters
    ----------
    in_ch, out_ch : int
        Channels in and out.
    scale : int
        Upsampling factor ``r``: ``(N, in_ch, H, W) -> (N, out_ch, r H, r W)``.
    kernel_size : int, default=3
        Of the convolution (padding ``kernel_size // 2`` keeps the size).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import SubPixelUpsample
    >>> _ = torch.manual_seed(0)
    >>> up = SubPixelUpsample(4, 3, scale=2)
    >>> tuple(up(torch.randn(1, 4, 5, 5)).shape)
    (1, 3, 10, 10)
    """

    def __init__(self, in_ch, out_ch, scale, kernel_size=3):
        super().__init__()
        if not isinstance(scale, Integral) or scale < 1:
            raise ValueError(f"scale={scale!r} must be a positive integer")
        self.scale = scale
        self.conv = torch.nn.Conv2d(in_ch, out_ch * scale**2, kernel_size, padding=kernel_size // 2)
        self.shuffle = torch.nn.PixelShuffle(scale)
        self.reset_parameters()

    def reset_parameters(self):
        """ICNR: each output channel's ``scale**2`` sub-pixel kernels start identical."""
        out_ch = self.conv.out_channels // self.scale**2
        base = torch.empty(out_ch, *self.conv.weight.shape[1:])
        torch.nn.init.kaiming_normal_(base)
        with torch.no_grad():
            self.conv.weight.copy_(base.repeat_interleave(self.scale**2, dim=0))
            self.conv.bias.zero_()

    def forward(self, x):
        return self.shuffle(self.conv(x))


# --------------------------------------------------------------------------- receptive field
class _Field:
    """Geometry of one feature map along (H, W): size, jump, receptive field, first centre."""

    def __init__(self, size, jump, rf, start):
        self.size, self.jump = tuple(size), tuple(jump)
        self.rf, self.start = tuple(rf), tuple(start)

    def through(self, kernel, stride, padding, dilation, ceil_mode=False):
        size, jump, rf, start = [], [], [], []
        for a in range(2):
            k, s, p, d = kernel[a], stride[a], padding[a], dilation[a]
            span = self.size[a] + 2 * p - d * (k - 1) - 1
            n = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (n - 1) * s >= self.size[a] + p:
                n -= 1  # PyTorch: the last window must start inside the input or left padding
            size.append(n)
            jump.append(self.jump[a] * s)
            rf.append(self.rf[a] + (k - 1) * d * self.jump[a])
            start.append(self.start[a] + ((k - 1) * d / 2 - p) * self.jump[a])
        return _Field(size, jump, rf, start)

    @staticmethod
    def union(fields):
        """Receptive field of a sum / concatenation: the hull of every input's window."""
        first = fields[0]
        for f in fields[1:]:
            if f.size != first.size or f.jump != first.jump:
                raise ValueError(
                    f"cannot merge feature maps of sizes {first.size} / {f.size} and jumps "
                    f"{first.jump} / {f.jump}"
                )
        rf, start = [], []
        for a in range(2):
            lo = min(f.start[a] - (f.rf[a] - 1) / 2 for f in fields)
            hi = max(f.start[a] + (f.rf[a] - 1) / 2 for f in fields)
            rf.append(hi - lo + 1)
            start.append((hi + lo) / 2)
        return _Field(first.size, first.jump, rf, start)


_GLOBAL = object()  # a tensor that depends on the whole input (global pool, flatten, linear)


def _window_of(node, modules, args):
    """(kernel, stride, padding, dilation, ceil_mode) of a conv / pool node, or None."""
    if node.op == "call_module":
        m = modules[node.target]
        if isinstance(m, torch.nn.Conv2d | DeformConv2d):
            padding = m.padding
            if isinstance(padding, str):
                padding = (
                    (0, 0)
                    if padding == "valid"
                    else tuple(d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
                )
            return m.kernel_size, m.stride, padding, m.dilation, False
        if isinstance(m, torch.nn.MaxPool2d | torch.nn.AvgPool2d):
            kernel = _pair(m.kernel_size, "kernel_size")
            stride = _pair(m.stride or m.kernel_size, "stride")
            dilation = _pair(getattr(m, "dilation", 1), "dilation")
            return kernel, stride, _pair(m.padding, "padding"), dilation, m.ceil_mode
        return None
    if node.op == "call_function" and node.target in (F.max_pool2d, F.avg_pool2d):
        names = ("input", "kernel_size", "stride", "padding")
        params = dict(zip(names, args)) | dict(node.kwargs)
        kernel = _pair(params["kernel_size"], "kernel_size")
        stride = _pair(params.get("stride") or kernel, "stride")
        dilation = _pair(params.get("dilation", 1), "dilation")
        ceil = bool(params.get("ceil_mode", False))
        return kernel, stride, _pair(params.get("padding", 0), "padding"), dilation, ceil
    return None


def _input_nodes(node, map_arg, node_type):
    found = []
    map_arg((node.args, node.kwargs), lambda a: found.append(a) if isinstance(a, node_type) else a)
    return found


def receptive_field(module, input_shape):
    """Receptive field of every convolution / pooling layer of ``module``, exactly.

    The network is traced with ``torch.fx`` (in eval mode) and its shapes propagated on a
    zero input. Along each axis a feature map carries its size ``n``, jump ``j`` (input
    pixels between neighbouring units), receptive-field size ``r`` and the centre ``c`` of
    its first unit (input pixel coordinates, pixel ``0`` at ``0``). A layer of kernel ``k``,
    stride ``s``, padding ``p`` and dilation ``d`` maps them to
    ``n' = floor((n + 2p - d (k - 1) - 1) / s) + 1``, ``j' = j s``,
    ``r' = r + (k - 1) d j``, ``c' = c + ((k - 1) d / 2 - p) j``. Element-wise ops keep the
    field; a sum or concatenation of maps (residual blocks) takes the hull of its inputs.
    Operands that depend on the whole input through a global pool (a squeeze-and-excitation
    gate) are not spatial and leave the field of the convolution path unchanged: the table
    is the receptive field of the convolution path, the usual convention. Padding is
    counted as if the image continued, so the field of a border unit extends past the image.

    Parameters
    ----------
    module : torch.nn.Module
        Network taking one ``(N, C, H, W)`` tensor; it must be traceable by ``torch.fx``.
    input_shape : tuple (C, H, W)
        Shape of one input image.

    Returns
    -------
    list of dict
        One row per convolution / pooling / merge, in execution order, with keys ``layer``
        (module name or node name), ``size`` (H, W), ``jump``, ``rf`` and ``start``
        (each a pair over H and W).

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import receptive_field
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, 2, 1), torch.nn.Conv2d(1, 1, 3))
    >>> [(r["size"], r["rf"]) for r in receptive_field(net, (1, 16, 16))]
    [((8, 8), (3, 3)), ((6, 6), (7, 7))]
    """
    from torch.fx import Node, symbolic_trace
    from torch.fx.node import map_arg
    from torch.fx.passes.shape_prop import ShapeProp

    if len(input_shape) != 3:
        raise ValueError(f"input_shape={input_shape!r} must be (C, H, W)")
    was_training = module.training
    module.eval()
    try:
        graph_module = symbolic_trace(module)
        with torch.no_grad():
            ShapeProp(graph_module).propagate(torch.zeros((1, *input_shape)))
    finally:
        module.train(was_training)
    modules = dict(graph_module.named_modules())
    fields, rows = {}, []
    for node in graph_module.graph.nodes:
        if node.op == "placeholder":
            h, w = input_shape[1:]
            fields[node] = _Field((h, w), (1, 1), (1, 1), (0.0, 0.0))
            continue
        if node.op in ("output", "get_attr"):
            continue
        inputs = _input_nodes(node, map_arg, Node)
        spatial = [fields[a] for a in inputs if isinstance(fields.get(a), _Field)]
        meta = node.meta.get("tensor_meta")
        shape = tuple(meta.shape) if hasattr(meta, "shape") else None
        if not spatial:
            fields[node] = _GLOBAL if any(fields.get(a) is _GLOBAL for a in inputs) else None
            continue
        window = _window_of(node, modules, node.args)
        if window is not None:
            field = spatial[0].through(*window)
        elif shape is not None and len(shape) == 4 and all(shape[2:] == f.size for f in spatial):
            field = _Field.union(spatial) if len(spatial) > 1 else spatial[0]
        elif shape is None or len(shape) != 4 or shape[2:] == (1, 1):
            fields[node] = _GLOBAL
            continue
        else:
            raise ValueError(
                f"receptive_field cannot follow {node.op} {node.target!r} (node {node.name}): "
                f"it changes the feature map size to {shape[2:]}"
            )
        if shape is not None and len(shape) == 4 and shape[2:] != field.size:
            raise ValueError(
                f"layer {node.target!r}: computed size {field.size} but the network gives "
                f"{shape[2:]}"
            )
        fields[node] = field
        if window is not None or len(spatial) > 1:
            name = node.target if node.op == "call_module" else node.name
            rows.append(
                {
                    "layer": name,
                    "size": field.size,
                    "jump": field.jump,
                    "rf": tuple(int(r) if float(r).is_integer() else r for r in field.rf),
                    "start": field.start,
                }
            )
    return rows


# --------------------------------------------------------------------------- classifier
class SmallCNN(torch.nn.Module):
    """Three 3x3 conv-BN-ReLU layers (widths ``w, 2w, 4w``), 2x2 max pool after the first
    two while the map is at least 4 pixels, global average pool and a linear layer.

    ``deformable=True`` makes the last convolution a :class:`DeformConv2d`.

    Examples
    --------
    >>> import torch
    >>> from skextras.nn.vision import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> net = SmallCNN(in_channels=1, num_classes=10, image_size=(8, 8), width=4).eval()
    >>> tuple(net(torch.randn(2, 1, 8, 8)).shape)
    (2, 10)
    """

    def __init__(self, in_channels, num_classes, image_size, width=16, deformable=False):
        super().__init__()
        layers, channels, size = [], in_channels, min(image_size)
        for i, out in enumerate((width, 2 * width, 4 * width)):
            conv = (
                DeformConv2d(channels, out, 3, padding=1, bias=False)
                if deformable and i == 2
                else torch.nn.Conv2d(channels, out, 3, padding=1, bias=False)
            )
            layers += [conv, torch.nn.BatchNorm2d(out), torch.nn.ReLU()]
            if i < 2 and size >= 4:
                layers.append(torch.nn.MaxPool2d(2))
                size //= 2
            channels = out
        self.features = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class _ImageNetwork(torch.nn.Module):
    """Reshape flat rows to images, upsample to the backbone's minimum side, run it."""

    def __init__(self, backbone, image_shape, min_side):
        super().__init__()
        self.backbone = backbone
        self.image_shape = tuple(image_shape)
        self.min_side = min_side

    def forward(self, x):
        x = x.reshape(-1, *self.image_shape)
        side = min(x.shape[2:])
        if side < self.min_side:
            factor = math.ceil(self.min_side / side)
            x = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        return self.backbone(x)


def _augment(x, image_shape, mode):
    """Random shifts of up to 1/8 of each side (zero fill), plus horizontal flips."""
    x = x.reshape(-1, *image_shape)
    n, _, h, w = x.shape
    ph, pw = max(1, h // 8), max(1, w // 8)
    padded = F.pad(x, (pw, pw, ph, ph))
    dy = torch.randint(0, 2 * ph + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * pw + 1, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    idx = torch.arange(n, device=x.device)[:, None, None, None]
    ch = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    out = padded[idx, ch, rows, cols]
    if mode == "shift_flip":
        flip = torch.rand(n, device=x.device) < 0.5
        out = torch.where(flip[:, None, None, None], out.flip(3), out)
    return out.reshape(n, -1)


class ImageClassifier(TorchClassifierMixin, TorchEstimator):
    """Image classifier on a convolutional backbone, trained by the shared torch loop.

    Parameters
    ----------
    backbone : {"small_cnn", "efficientnet_b0", ..., "efficientnet_b7"} or callable, \
default="small_cnn"
        Network; a callable is called as ``backbone(in_channels, num_classes)`` and must map
        ``(N, C, H, W)`` images to logits. EfficientNets upsample images whose smaller side
        is below 32 pixels (bilinear, integer factor) inside the model.
    image_shape : tuple (C, H, W) or None, default=None
        Shape used to reshape flat rows; ``None`` takes it from 4-D ``X`` in ``fit``, or
        reads 2-D rows of ``s * s`` features as one-channel ``s x s`` images (otherwise as
        ``1 x n_features`` strips).
    pretrained : str, Path or None, default=None
        Local ``state_dict`` file (``torch.save``) to start the backbone from; loaded with
        ``weights_only=True``. ``None`` starts from random weights. Nothing is downloaded.
    augment : {None, "shift", "shift_flip"}, default=None
        Training-time augmentation: random shifts of up to 1/8 of each side, optionally with
        horizontal flips. Off by default.
    width : int, default=16
        Width of the first ``small_cnn`` layer.
    deformable : bool, default=False
        ``small_cnn`` with a deformable last convolution.
    lr, ..., **module_params
        Training settings, see :class:`~skextras.nn.TorchEstimator`.

    Attributes
    ----------
    image_shape_ : tuple (C, H, W)
        Image shape used.
    classes_ : ndarray
        Class labels.
    module_ : torch.nn.Module
        Network (flat rows in, logits out).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skextras.nn import ImageClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ImageClassifier(image_shape=(1, 8, 8), max_epochs=1, random_state=0)
    >>> clf.fit(X[:200] / 16, y[:200]).predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "backbone": [
            StrOptions({"small_cnn"} | {f"efficientnet_{v}" for v in EFFICIENTNET_VARIANTS}),
            callable,
        ],
        "image_shape": [tuple, list, None],
        "pretrained": [str, os.PathLike, None],
        "augment": [StrOptions({"shift", "shift_flip"}), None],
        "width": [Interval(Integral, 1, None, closed="left")],
        "deformable": ["boolean"],
    }

    def __init__(
        self,
        backbone="small_cnn",
        image_shape=None,
        pretrained=None,
        *,
        augment=None,
        width=16,
        deformable=False,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adamw",
        lr_schedule="constant",
        warmup_epochs=0,
        batch_size=128,
        max_epochs=200,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=None,
        random_state=None,
        verbose=0,
        device="cpu",
        distributed="auto",
        **module_params,
    ):
        self.backbone = backbone
        self.image_shape = image_shape
        self.pretrained = pretrained
        self.augment = augment
        self.width = width
        self.deformable = deformable
        TorchEstimator.__init__(self, **base_params(locals()))

    def _flat(self, X, reset):
        """4-D images to flat rows (remembering their shape on ``reset``)."""
        if hasattr(X, "ndim") and X.ndim == 4:
            shape = tuple(int(s) for s in X.shape[1:])
            if reset:
                self._shape_from_X = shape
            elif shape != self.image_shape_:
                raise ValueError(f"X has images of shape {shape}, expected {self.image_shape_}")
            return np.asarray(X).reshape(len(X), -1)
        if reset:
            self._shape_from_X = None
        return X

    def _resolve_image_shape(self, n_features):
        shape = self.image_shape if self.image_shape is not None else self._shape_from_X
        if shape is None:
            side = math.isqrt(n_features)
            shape = (1, side, side) if side * side == n_features else (1, 1, n_features)
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1 or math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} does not match rows of {n_features} features"
            )
        return shape

    def _make_fit_data(self, X, y, reset):
        X = self._flat(X, reset)
        X, y = super()._make_fit_data(X, y, reset)
        if reset:
            self.image_shape_ = self._resolve_image_shape(X.shape[1])
        return X, y

    def _build_module(self):
        channels, num_classes = self.image_shape_[0], len(self.classes_)
        min_side = 1
        if callable(self.backbone):
            backbone = self.backbone(channels, num_classes, **self._module_params())
        elif self.backbone == "small_cnn":
            backbone = SmallCNN(
                channels,
                num_classes,
                self.image_shape_[1:],
                self.width,
                self.deformable,
                **self._module_params(),
            )
        else:
            variant = self.backbone.split("_")[1]
            backbone = efficientnet(variant, num_classes, channels, **self._module_params())
            min_side = 32
        if self.pretrained is not None:
            state = torch.load(self.pretrained, map_location="cpu", weights_only=True)
            backbone.load_state_dict(state)
        return _ImageNetwork(backbone, self.image_shape_, min_side)

    def _compute_loss(self, module, batch):
        X, y = batch
        if self.augment is not None and module.training:
            X = _augment(X, self.image_shape_, self.augment)
        return F.cross_entropy(module(X), y)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes); ``X`` flat or ``(n, C, H, W)``."""
        check_is_fitted(self)
        X = validate_data(self, self._flat(X, reset=False), reset=False, dtype=np.float32)
        return self._apply(lambda x: torch.softmax(self.module_(x), dim=1), X).astype(np.float64)

    def _fitted_state(self):
        return {**super()._fitted_state(), "image_shape_": np.asarray(self.image_shape_)}

    def _restore_fitted(self):
        self.image_shape_ = tuple(int(s) for s in self.image_shape_)
        super()._restore_fitted()
