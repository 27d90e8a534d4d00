"""histogram: per-node (feature, bin) sums, built in row chunks added in a fixed order, against
the in-order sums of ``np.add.at`` for every kernel path (outputs, widths, feature subsets,
threads)."""

import numpy as np
import pytest

from skextras._engine import histogram
from skextras._engine._numba import threads
from skextras._engine.binning import BinMapper
from skextras._engine.histogram import HIST_WIDTH, PAIR_WIDTH, build_histograms


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("width", ["padded", "narrow", "pair"])
@pytest.mark.parametrize("subset", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("p", [7, histogram.WIDE_FEATURES + 8])
def test_histograms_equal_in_order_sums_for_every_kernel_path(
    n_outputs, width, subset, n_threads, p, monkeypatch
):
    # any batch is split between the threads (by feature, or by chunks of rows); nodes of
    # 2048+ rows are built in chunks; more than WIDE_FEATURES features take the
    # feature-by-feature kernel
    monkeypatch.setattr(histogram, "_PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(histogram, "CHUNK_ROWS", 1024)
    rng = np.random.RandomState(1)
    n = 30_000
    X = rng.normal(size=(n, p))
    X[rng.rand(n, p) < 0.1] = np.nan
    bm = BinMapper(max_bin=32, random_state=0)
    Xb = bm.fit_transform(X)
    g = rng.normal(size=(n, n_outputs))
    h = rng.uniform(0.0, 2.0, size=n)
    h[::5] = 0.0
    features = np.array([0, 2, 3, 6] if subset else range(p), dtype=np.int32)
    if n_outputs > 1 and width == "pair":
        pytest.skip("histograms without counts are single-output")
    n_stats = HIST_WIDTH if n_outputs == 1 and width == "padded" else n_outputs + 2
    n_stats = PAIR_WIDTH if width == "pair" else n_stats
    hists = np.full((6, p, 32, n_stats), np.nan)
    rows = np.sort(rng.choice(n, 12_000, replace=False)).astype(np.int32)
    bounds = [0, 5000, 5100, 8000, 11_000, 12_000]
    nb = bm.n_bins_non_missing_.astype(np.int64)
    sums = np.empty(n_outputs + 2)
    with threads(n_threads):
        # slot 5: all rows without an index array (the root); slots 0-4: row subsets, enough
        # nodes for the node-group split between threads
        build_histograms(Xb, None, [0], [n], g, h, features, nb, hists, np.array([5]), sums=sums)
        build_histograms(Xb, rows, bounds[:-1], bounds[1:], g, h, features, nb, hists,
                         np.array([3, 0, 1, 4, 2]), np.ascontiguousarray(Xb))  # fmt: skip
    nodes = [(5, np.arange(n))]
    nodes += [(s, rows[a:b]) for s, a, b in zip([3, 0, 1, 4, 2], bounds[:-1], bounds[1:])]
    assert len(histogram.row_chunks(n)) - 1 == histogram.MAX_CHUNKS
    for slot, node_rows in nodes:
        chunks = histogram.row_chunks(node_rows.size)
        for f in features:
            expected = 0.0
            for a, b in zip(chunks, chunks[1:]):
                # np.add.at adds in row order, as the kernels must within a chunk; the chunks
                # are then added in order (bit-identical sums)
                c_rows, c_bins = node_rows[a:b], Xb[node_rows[a:b], f]
                chunk = np.zeros((32, n_outputs + 2))
                for k in range(n_outputs):
                    np.add.at(chunk[:, k], c_bins, g[c_rows, k])
                np.add.at(chunk[:, n_outputs], c_bins, h[c_rows])
                np.add.at(chunk[:, n_outputs + 1], c_bins, h[c_rows] != 0)
                expected = expected + chunk
            used = [*range(nb[f]), 31]
            columns = min(n_stats, n_outputs + 2)
            np.testing.assert_array_equal(hists[slot, f, used, :columns], expected[used, :columns])
    chunks = histogram.row_chunks(n)
    expected_sums = 0.0
    for a, b in zip(chunks, chunks[1:]):
        # np.cumsum adds in row order: its last value is the in-order sum
        in_order = np.cumsum(np.column_stack([g[a:b], h[a:b], h[a:b] != 0]), axis=0)[-1]
        expected_sums = expected_sums + in_order
    np.testing.assert_array_equal(sums, expected_sums)


def test_row_chunks_even_bounded_and_covering():
    assert histogram.row_chunks(100) == [0, 100]
    for n in (2 * histogram.CHUNK_ROWS, 5 * histogram.CHUNK_ROWS + 7, 10**7):
        bounds = histogram.row_chunks(n)
        k = len(bounds) - 1
        assert k % 2 == 0 and 2 <= k <= histogram.MAX_CHUNKS
        assert bounds[0] == 0 and bounds[-1] == n and all(np.diff(bounds) > 0)
