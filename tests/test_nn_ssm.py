"""State-space mixers: S4D convolution = scan, selective parallel scan = sequential loop."""

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("torch_one_thread")]

from skextras.nn.ssm import S4D, SelectiveSSM, selective_scan  # noqa: E402


def _s4d_loop(layer, u):
    """The ZOH recurrence written from the definition, one channel and one state at a time."""
    dt = torch.exp(layer.log_dt)
    A = torch.complex(-torch.exp(layer.log_a_real), layer.a_imag)
    C = torch.view_as_complex(layer.C.contiguous())
    y = torch.zeros_like(u)
    for h in range(u.shape[2]):
        for n in range(A.shape[1]):
            dA = torch.exp(dt[h] * A[h, n])
            dB = (dA - 1) / A[h, n]
            state = torch.zeros(u.shape[0], dtype=A.dtype)
            for t in range(u.shape[1]):
                state = dA * state + dB * u[:, t, h]
                y[:, t, h] += 2 * (C[h, n] * state).real
    return y + layer.D * u


def test_s4d_conv_and_scan_equal_the_recurrence_loop():
    torch.manual_seed(0)
    layer = S4D(2, d_state=4).double()
    u = torch.randn(2, 9, 2, dtype=torch.float64)
    expected = _s4d_loop(layer, u)
    for mode in ("conv", "scan"):
        layer.mode = mode
        torch.testing.assert_close(layer.ssm(u), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-5), (torch.float32, 1e-4)])
def test_s4d_fft_convolution_equals_scan_on_long_sequences(dtype, tol):
    torch.manual_seed(0)
    layer = S4D(8, d_state=16).to(dtype)
    x = torch.randn(2, 300, 8, dtype=dtype)
    conv = layer(x)
    layer.mode = "scan"
    torch.testing.assert_close(layer(x), conv, rtol=tol, atol=tol)


def test_s4d_kernel_is_cached_until_a_parameter_changes():
    torch.manual_seed(0)
    layer = S4D(4, d_state=4)
    with torch.no_grad():
        first = layer.kernel(16)
        assert layer.kernel(16) is first
        assert layer.kernel(17) is not first
        layer.log_dt.add_(0.1)  # what an optimiser step does
        changed = layer.kernel(17)
    assert not torch.allclose(changed, first[:, :16].new_zeros(1)) and changed.shape == (4, 17)
    with torch.no_grad():
        layer.D.add_(1.0)
        assert layer.kernel(17) is not changed
    assert layer.kernel(17).requires_grad  # with gradients the kernel is rebuilt, not cached


def test_s4d_cached_kernel_and_spectrum_survive_a_training_step_without_updates():
    torch.manual_seed(0)
    layer = S4D(4, d_state=4)
    x = torch.randn(1, 16, 4)
    with torch.no_grad():
        first, spectrum = layer.kernel(16), layer.kernel_spectrum(16)
    layer(x).sum().backward()  # rebuilds the kernel with gradients; parameters unchanged
    with torch.no_grad():
        assert layer.kernel(16) is first and layer.kernel_spectrum(16) is spectrum
        conv = layer.ssm(x)
        layer.mode = "scan"
        torch.testing.assert_close(conv, layer.ssm(x), rtol=1e-4, atol=1e-4)


def _selective_loop(u, dt, A, B, C, D):
    """The definition: one channel, one state, one step at a time."""
    y = torch.zeros_like(u)
    for b in range(u.shape[0]):
        for d in range(u.shape[2]):
            for n in range(A.shape[1]):
                h = u.new_zeros(())
                for t in range(u.shape[1]):
                    h = torch.exp(dt[b, t, d] * A[d, n]) * h + dt[b, t, d] * B[b, t, n] * u[b, t, d]
                    y[b, t, d] += C[b, t, n] * h
    return y + D * u


def _scan_inputs(L=23, d=3, n=2, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    u = torch.randn(2, L, d, generator=g, dtype=dtype)
    dt = torch.rand(2, L, d, generator=g, dtype=dtype) * 0.5
    A = -torch.rand(d, n, generator=g, dtype=dtype) * 2
    B, C = (torch.randn(2, L, n, generator=g, dtype=dtype) for _ in range(2))
    return u, dt, A, B, C, torch.randn(d, generator=g, dtype=dtype)


def _selective_head_loop(u, dt, A, B, C, D):
    """The definition with one decay per head: each channel of a head of P consecutive channels
    uses the head's ``dt`` and ``A`` in the per-channel, per-state loop."""
    width = u.shape[2] // A.shape[0]
    per_channel = A.repeat_interleave(width)[:, None].expand(-1, B.shape[2])
    return _selective_loop(u, dt.repeat_interleave(width, -1), per_channel, B, C, D)


def _head_inputs(L=23, heads=3, width=2, n=4, dtype=torch.float64, dt_scale=0.5, a_scale=2.0):
    g = torch.Generator().manual_seed(1)
    u = torch.randn(2, L, heads * width, generator=g, dtype=dtype)
    dt = torch.rand(2, L, heads, generator=g, dtype=dtype) * dt_scale
    A = -torch.rand(heads, generator=g, dtype=dtype) * a_scale
    B, C = (torch.randn(2, L, n, generator=g, dtype=dtype) for _ in range(2))
    return u, dt, A, B, C, torch.randn(heads * width, generator=g, dtype=dtype)


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
@pytest.mark.parametrize("chunk_size", [1, 4, 7, 64])
@pytest.mark.parametrize("decays", ["per-state", "per-head"])
def test_selective_scan_equals_the_definition_loop(mode, chunk_size, decays):
    if decays == "per-state":  # Mamba-1: two-level chunked scan
        args, loop = _scan_inputs(), _selective_loop
    else:  # Mamba-2: state-space-duality scan
        args, loop = _head_inputs(), _selective_head_loop
    expected = loop(*args)
    torch.testing.assert_close(
        selective_scan(*args, mode=mode, chunk_size=chunk_size), expected, rtol=1e-10, atol=1e-10
    )


def test_state_space_duality_scan_is_finite_and_exact_with_large_log_decays():
    # dt A down to -800 per step: cumulative products of the decays underflow and their
    # inverses overflow in float32; the log-space chunk decays must not.
    args64 = _head_inputs(L=200, dt_scale=50.0, a_scale=16.0)
    expected = selective_scan(*args64, mode="sequential")
    got = selective_scan(*(t.float() for t in args64), mode="parallel", chunk_size=64)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), expected, rtol=1e-4, atol=1e-4 * expected.abs().max())


def test_state_space_duality_scan_passes_gradcheck_in_every_input():
    u, dt, A, B, C, D = (t.requires_grad_() for t in _head_inputs(L=7, heads=2, width=2, n=3))
    assert torch.autograd.gradcheck(
        lambda *a: selective_scan(*a, mode="parallel", chunk_size=3), (u, dt, A, B, C, D)
    )


@pytest.mark.parametrize("n_heads", [2, None], ids=["heads", "per-state"])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-5), (torch.float32, 1e-4)])
def test_selective_ssm_parallel_equals_sequential(dtype, tol, n_heads):
    torch.manual_seed(0)
    layer = SelectiveSSM(8, d_state=4, chunk_size=16, n_heads=n_heads).to(dtype)
    x = torch.randn(2, 150, 8, dtype=dtype)
    parallel = layer(x)
    layer.mode = "sequential"
    torch.testing.assert_close(layer(x), parallel, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "make",
    [
        lambda: S4D(4, d_state=4, mode="conv"),
        lambda: S4D(4, d_state=4, mode="scan"),
        lambda: SelectiveSSM(4, d_state=2, mode="parallel", chunk_size=2),
        lambda: SelectiveSSM(4, d_state=2, mode="sequential"),
        lambda: SelectiveSSM(4, d_state=2, mode="parallel", chunk_size=2, n_heads=None),
        lambda: SelectiveSSM(4, d_state=2, mode="sequential", n_heads=None),
    ],
    ids=["s4d-conv", "s4d-scan", "mamba-ssd", "mamba-sequential", "mamba1-chunked", "mamba1-seq"],
)
def test_gradients_of_every_ssm_pass_gradcheck(make):
    torch.manual_seed(0)
    layer = make().double()
    x = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layer(t), (x,))


@pytest.mark.parametrize(
    "make",
    [
        lambda: S4D(4, d_state=4),
        lambda: SelectiveSSM(4, d_state=2, chunk_size=4),
        lambda: SelectiveSSM(4, d_state=2, chunk_size=4, n_heads=None),
    ],
    ids=["s4d", "mamba-ssd", "mamba1"],
)
def test_padded_batch_gives_each_sequence_its_own_outputs(make):
    torch.manual_seed(0)
    layer = make().double()
    lengths = [10, 4]
    x = torch.randn(2, 10, 4, dtype=torch.float64)
    mask = torch.arange(10)[None] < torch.tensor(lengths)[:, None]
    batched = layer(x, mask)
    for i, n in enumerate(lengths):
        torch.testing.assert_close(batched[i : i + 1, :n], layer(x[i : i + 1, :n]))


def _scan_with_dt(dt, per_state=False):
    u, _, A, B, C, D = _head_inputs()
    if per_state:
        A = -torch.rand(u.shape[2], 4, dtype=u.dtype)
    return selective_scan(u, dt.to(u.dtype), A, B, C, D)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: S4D(4, mode="fft"), "mode='fft'"),
        (lambda: S4D(4, d_state=3), "d_state=3"),
        (lambda: SelectiveSSM(4, mode="fast"), "mode='fast'"),
        (lambda: SelectiveSSM(4, n_heads=3), "n_heads=3"),
        (lambda: _scan_with_dt(torch.rand(2, 23, 5)), "per-head decays"),
        (lambda: _scan_with_dt(torch.rand(2, 23, 5), per_state=True), "per-state decays"),
        (lambda: selective_scan(*_head_inputs(), chunk_size=0), "chunk_size=0"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ssms_run_on_cuda_inputs():
    for layer in (S4D(4, d_state=4), SelectiveSSM(4, d_state=2)):
        x = torch.randn(1, 9, 4)
        expected = layer(x)
        got = layer.cuda()(x.cuda())
        assert got.device.type == "cuda"
        torch.testing.assert_close(got.cpu(), expected, rtol=1e-4, atol=1e-4)
