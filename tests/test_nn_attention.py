"""Attention mixers: linear attention's three forms, FAVOR+ error, GAU / FLASH, TransNormer."""

import math

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

import torch.nn.functional as F  # noqa: E402

from skextras.nn.attention import (  # noqa: E402
    FEATURE_MAPS,
    GAU,
    MultiHeadAttention,
    TransNormerLayer,
    block_diagonal_attention,
    chunk_length,
    linear_attention,
    performer_attention,
    softmax_attention,
)


def _qkv(n=37, d=8, dtype=torch.float64, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(2, 3, n, d, generator=g, dtype=dtype) for _ in range(3)]


def _linear_attention_loop(q, k, v, causal, phi):
    """The definition, one output at a time."""
    out = torch.zeros_like(v)
    n = q.shape[2]
    for b in range(q.shape[0]):
        for h in range(q.shape[1]):
            for i in range(n):
                keys = range(i + 1) if causal else range(n)
                weights = torch.stack([phi(q[b, h, i]) @ phi(k[b, h, j]) for j in keys])
                values = torch.stack([v[b, h, j] for j in keys])
                out[b, h, i] = (weights[:, None] * values).sum(0) / (weights.sum() + 1e-6)
    return out


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("feature_map", ["elu", "relu"])
def test_linear_attention_equals_its_definition_loop(causal, feature_map):
    q, k, v = _qkv(n=9)
    expected = _linear_attention_loop(q, k, v, causal, FEATURE_MAPS[feature_map])
    got = linear_attention(q, k, v, causal, feature_map)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("feature_map", list(FEATURE_MAPS))
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-5), (torch.float32, 1e-4)])
@pytest.mark.parametrize("chunk_size", [1, 8, 16, 64, "auto"])
def test_causal_linear_attention_parallel_recurrent_and_chunked_agree(
    feature_map, dtype, tol, chunk_size
):
    q, k, v = _qkv(n=45, dtype=dtype)
    if feature_map == "identity":  # keep the denominator away from zero
        q, k = q.abs() + 0.1, k.abs() + 0.1
    results = [
        linear_attention(q, k, v, True, feature_map, mode, chunk_size)
        for mode in ("parallel", "recurrent", "chunked")
    ]
    torch.testing.assert_close(results[1], results[0], rtol=tol, atol=tol)
    torch.testing.assert_close(results[2], results[0], rtol=tol, atol=tol)


def test_softmax_attention_matches_explicit_softmax_with_padding_mask():
    q, k, v = _qkv(n=6)
    key_mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    got = softmax_attention(q, k, v, causal=True, key_mask=key_mask)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    allowed = torch.tril(torch.ones(6, 6, dtype=torch.bool)) & key_mask[:, None, None, :]
    expected = torch.softmax(scores.masked_fill(~allowed, -math.inf), -1) @ v
    torch.testing.assert_close(got[0, :, :4], expected[0, :, :4])
    torch.testing.assert_close(got[1], expected[1])


def test_performer_error_falls_like_one_over_sqrt_features():
    q, k, v = _qkv(n=64, d=16, scale=0.5)
    exact = softmax_attention(q, k, v)
    sizes = [16, 64, 256, 1024]
    errors = []
    for m in sizes:
        draws = [
            performer_attention(q, k, v, m, generator=torch.Generator().manual_seed(s))
            for s in range(8)
        ]
        errors.append(sum(float((d - exact).pow(2).mean().sqrt()) for d in draws) / len(draws))
    assert all(a > b for a, b in zip(errors, errors[1:]))
    slope = (math.log(errors[-1]) - math.log(errors[0])) / (math.log(sizes[-1] / sizes[0]))
    assert -0.75 < slope < -0.35  # 1/sqrt(m) has slope -0.5


def test_performer_causal_matches_the_masked_estimate():
    q, k, v = _qkv(n=20, d=4)
    g = torch.Generator().manual_seed(0)
    causal = performer_attention(q, k, v, 32, causal=True, generator=g)
    again = performer_attention(q, k, v, 32, causal=False, redraw=False)
    # The same features: the last position of the causal result sees every key.
    torch.testing.assert_close(causal[..., -1, :], again[..., -1, :])


def test_block_diagonal_attention_is_softmax_inside_each_block():
    q, k, v = _qkv(n=10)
    got = block_diagonal_attention(q, k, v, 4)
    for start in range(0, 10, 4):
        s = slice(start, start + 4)
        torch.testing.assert_close(
            got[..., s, :], softmax_attention(q[..., s, :], k[..., s, :], v[..., s, :])
        )


def _mixers(causal):
    return {
        "softmax": MultiHeadAttention(8, 2, "softmax", causal),
        "linear": MultiHeadAttention(8, 2, "linear", causal, chunk_size=4),
        "performer": MultiHeadAttention(8, 2, "performer", causal, n_features=16),
        "gau": GAU(8, s=4, causal=causal),
        "flash": GAU(8, s=4, kind="flash", chunk_size=4, causal=causal),
        "transnormer-norm": TransNormerLayer(8, 2, "norm", causal=causal, chunk_size=4),
        "transnormer-diag": TransNormerLayer(8, 2, "diag", block_size=4, causal=causal),
    }


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("name", list(_mixers(False)))
def test_padded_batch_gives_each_sequence_its_own_outputs(name, causal):
    torch.manual_seed(0)
    module = _mixers(causal)[name].double().eval()
    lengths = [11, 6, 3]
    x = torch.randn(3, 11, 8, dtype=torch.float64)
    mask = torch.arange(11)[None] < torch.tensor(lengths)[:, None]
    batched = module(x * mask[..., None], mask)
    for i, n in enumerate(lengths):
        alone = module(x[i : i + 1, :n])
        torch.testing.assert_close(batched[i : i + 1, :n], alone, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("name", list(_mixers(False)))
def test_gradients_of_every_attention_mixer_pass_gradcheck(name, causal):
    torch.manual_seed(0)
    module = _mixers(causal)[name].double().eval()
    x = torch.randn(1, 6, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: module(t), (x,))


@pytest.mark.parametrize("mode", ["parallel", "recurrent", "chunked"])
def test_linear_attention_function_passes_gradcheck(mode):
    q, k, v = (t[:1, :1, :7, :3].clone().requires_grad_() for t in _qkv())
    assert torch.autograd.gradcheck(
        lambda a, b, c: linear_attention(a, b, c, True, mode=mode, chunk_size=3), (q, k, v)
    )


def test_causal_mixers_do_not_look_ahead():
    torch.manual_seed(0)
    for module in _mixers(True).values():
        module = module.double().eval()
        x = torch.randn(1, 9, 8, dtype=torch.float64)
        changed = x.clone()
        changed[:, 5:] += 1.0
        torch.testing.assert_close(module(x)[:, :5], module(changed)[:, :5])


@pytest.mark.parametrize(
    "d, n, expected", [(8, 8192, 16), (32, 8192, 32), (48, 8192, 64), (100, 8192, 128)]
)
def test_auto_chunk_length_is_the_power_of_two_nearest_the_feature_width(d, n, expected):
    assert chunk_length("auto", n, d) == expected
    assert chunk_length("auto", 40, d) == min(40, expected)
    assert chunk_length("auto", n, 4096) == 256
    assert chunk_length(24, n, d) == 24


@pytest.mark.parametrize("d", [32, 64])
def test_chunked_linear_attention_with_auto_chunks_equals_parallel_at_wide_heads(d):
    q, k, v = (torch.randn(1, 2, 300, d, dtype=torch.float64) for _ in range(3))
    chunked = linear_attention(q, k, v, True, mode="chunked")
    parallel = linear_attention(q, k, v, True, mode="parallel")
    torch.testing.assert_close(chunked, parallel, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda q: linear_attention(q, q, q, chunk_size="big"), "chunk_size='big'"),
        (lambda q: linear_attention(q, q, q, chunk_size=0), "chunk_size=0"),
        (lambda q: linear_attention(q, q, q, mode="fast"), "mode='fast'"),
        (lambda q: linear_attention(q, q, q, feature_map="tanh"), "feature_map='tanh'"),
        (lambda q: softmax_attention(q[0], q[0], q[0]), "shape"),
        (lambda q: performer_attention(q, q, q, n_features=0), "n_features=0"),
        (lambda q: MultiHeadAttention(6, 4), "n_heads=4"),
        (lambda q: GAU(8, kind="slow"), "kind='slow'"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call(torch.zeros(1, 1, 2, 2))


def test_softmax_attention_is_torch_sdpa():
    q, k, v = _qkv(dtype=torch.float32)
    torch.testing.assert_close(
        softmax_attention(q, k, v, causal=True),
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_linear_attention_runs_on_cuda_inputs():
    q, k, v = (t.float().cuda() for t in _qkv())
    out = linear_attention(q, k, v, True, mode="chunked")
    assert out.device.type == "cuda"
    torch.testing.assert_close(
        out.cpu(), linear_attention(*(t.cpu() for t in (q, k, v)), True), rtol=1e-4, atol=1e-4
    )
