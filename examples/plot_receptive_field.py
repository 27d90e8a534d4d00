"""
Receptive fields of EfficientNet-B0
===================================

:func:`~skextras.nn.vision.receptive_field` traces a network with ``torch.fx`` and propagates
each layer's kernel, stride, padding and dilation to the exact receptive field of every
feature map. The table is checked against the gradient of one output unit with respect to
the input: the pixels with a non-zero gradient lie inside the computed field.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from skextras.nn.vision import efficientnet, receptive_field

torch.set_num_threads(1)
net = efficientnet("b0", num_classes=10).eval()
rows = receptive_field(net, (3, 224, 224))
table = pd.DataFrame(
    {
        "layer": [r["layer"] for r in rows],
        "size": [r["size"][0] for r in rows],
        "jump": [r["jump"][0] for r in rows],
        "rf": [r["rf"][0] for r in rows],
    }
)
print(table.iloc[:: max(len(table) // 15, 1)].to_string(index=False))

# %%
# The gradient of one unit of the stride-8 feature map
# ----------------------------------------------------
features = torch.nn.Sequential(*list(net.features)[:4]) if hasattr(net, "features") else None
stem_rows = receptive_field(features, (3, 224, 224)) if features is not None else rows
x = torch.zeros(1, 3, 224, 224, requires_grad=True)
out = features(x) if features is not None else net(x)
i = out.shape[-1] // 2
out[0, :, i, i].sum().backward()
grad = x.grad[0].abs().sum(0).numpy()
field = stem_rows[-1]
start, size = field["start"][0] + i * field["jump"][0], field["rf"][0]
inside = np.zeros_like(grad, dtype=bool)
lo, hi = int(max(start - size // 2, 0)), int(min(start + size // 2 + 1, 224))
inside[lo:hi, lo:hi] = True
print(f"receptive field {size} px; gradient outside it: {grad[~inside].sum():.3g}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
left.plot(table["rf"].to_numpy(), label="receptive field (px)")
left.plot(table["jump"].to_numpy(), label="jump (stride to the input)")
left.set_yscale("log")
left.set_xlabel("layer (execution order)")
left.legend()
left.set_title("EfficientNet-B0 at 224 x 224")
right.imshow(np.log1p(grad / grad.max() * 1e3), cmap="magma")
right.add_patch(plt.Rectangle((lo, lo), hi - lo, hi - lo, fill=False, color="c", lw=1.5))
right.set_title("|d unit / d input| and the computed field")
fig.tight_layout()
plt.show()
