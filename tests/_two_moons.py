"""Two-moons reference data of the generative-model tests, and the energy distance."""

import functools

from scipy.spatial.distance import cdist
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture


def energy_distance(a, b):
    """Szekely's energy distance 2 E|a-b| - E|a-a'| - E|b-b'| (0 iff equal distributions)."""
    return 2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean()


@functools.cache
def two_moons():
    """``(X, X_test, gaussian, threshold)``: 1000 training and 1000 held-out points.

    ``gaussian`` is sklearn's full-covariance ``GaussianMixture(1)`` fitted to ``X``. The
    best Gaussian (right mean and covariance, wrong shape) samples at an energy distance of
    about 0.018 from ``X_test``, two independent samples of the moons at about 0.0002 (the
    noise floor). ``threshold`` is half the Gaussian's distance: a generative model must at
    least halve the mismatch a moment-matched Gaussian leaves.
    """
    X, _ = make_moons(1000, noise=0.05, random_state=0)
    X_test, _ = make_moons(1000, noise=0.05, random_state=1)
    gaussian = GaussianMixture(1, covariance_type="full", random_state=0).fit(X)
    threshold = 0.5 * energy_distance(gaussian.sample(1000)[0], X_test)
    return X, X_test, gaussian, threshold
