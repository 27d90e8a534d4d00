"""
Token mixers: forward time against sequence length
==================================================

Every token mixer of :class:`~skextras.nn.SequenceClassifier` (``mixer=...``) on the same
input, one CPU thread: softmax attention costs O(n^2) per layer, while linear attention,
Performer, the chunked GAU (FLASH), the S4D convolution and the selective scan of Mamba grow
linearly. ``benchmarks/sequence.py`` holds the full comparison against torch's
``scaled_dot_product_attention``.
"""

import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

from skextras.nn.sequence import make_mixer

torch.set_num_threads(1)
torch.manual_seed(0)
d_model, lengths = 64, [128, 256, 512, 1024, 2048]
rows = []
for name in ["softmax", "linear", "performer", "flash", "s4d", "mamba"]:
    mixer = make_mixer(name, d_model, n_heads=4, causal=False).eval()
    for n in lengths:
        x = torch.randn(2, n, d_model)
        with torch.no_grad():
            mixer(x)  # warm-up: first-call allocation and caches
            start = time.perf_counter()
            for _ in range(3):
                mixer(x)
        rows.append({"mixer": name, "length": n, "ms": 1000 * (time.perf_counter() - start) / 3})
table = pd.DataFrame(rows).pivot(index="length", columns="mixer", values="ms")
print(table.round(2).to_string())

# %%
ax = table.plot(marker="o", logx=True, logy=True, figsize=(7, 4.5))
ax.set_xlabel("sequence length (batch 2, d_model 64)")
ax.set_ylabel("forward time, ms (1 thread)")
ax.set_title("Quadratic softmax attention against the linear-time mixers")
plt.tight_layout()
plt.show()
