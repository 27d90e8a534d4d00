"""
Normalizing flow: density contours on two moons
===============================================

:class:`~skextras.nn.RealNVPFlow` is an invertible network trained by maximum likelihood;
``score_samples`` is the exact log density (change of variables), so it can be drawn as
contours. ``sample`` runs the inverse on Gaussian noise.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_moons

from skextras.nn import RealNVPFlow

torch.set_num_threads(1)
X, _ = make_moons(1000, noise=0.06, random_state=0)
flow = RealNVPFlow(
    n_couplings=6, hidden_layer_sizes=(64, 64), lr=3e-3, max_epochs=80, batch_size=200,
    n_iter_no_change=None, random_state=0,
).fit(X)  # fmt: skip
print(f"mean log-likelihood on the training data: {flow.score(X):.3f} nats")

# %%
xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 150), np.linspace(-1.0, 1.5, 100))
grid = np.column_stack([xx.ravel(), yy.ravel()])
density = np.exp(flow.score_samples(grid)).reshape(xx.shape)
samples = flow.sample(500, random_state=1)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharex=True, sharey=True)
left.contourf(xx, yy, density, levels=20, cmap="viridis")
left.scatter(X[:200, 0], X[:200, 1], s=3, color="w", alpha=0.6)
left.set_title("learned density, training points in white")
right.scatter(samples[:, 0], samples[:, 1], s=4, color="C1")
right.set_title("500 samples from the flow")
fig.tight_layout()
plt.show()
