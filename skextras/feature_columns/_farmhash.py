"""Farmhash ``Fingerprint64`` and ``FingerprintCat64`` as numba kernels.

Fingerprint64 is farmhash's ``farmhashna::Hash64`` (the function TensorFlow's
``tf.fingerprint(method="farmhash64")``, ``string_to_hash_bucket_fast`` and
``sparse_cross_hashed`` use). All arithmetic is on uint64 and wraps modulo 2**64.
Strings reach the kernels as a flat uint8 buffer plus offsets, so one call hashes a whole
column without a Python loop per value.

Cold start: the hashing functions take a ``long_text`` argument, None when every string has
at most 16 bytes (category names, ids: the usual case). numba removes the ``long_text is
None`` branch before typing, so such a call compiles only the short-string path, not the
17-32, 33-64 and 64+ byte ones (about half of the compile time). Outputs and scratch come
from the caller (an array allocation inside a kernel is one more function to compile).
"""

from functools import partial

import numba as nb
import numpy as np

# error_model="numpy": no ZeroDivisionError branches (the divisors here are never zero)
njit = partial(nb.njit, cache=True, error_model="numpy")

_K0 = np.uint64(0xC3A5C85C97CB3127)
_K1 = np.uint64(0xB492B66FBE98F273)
_K2 = np.uint64(0x9AE16A3B2F90404F)
_KMUL = np.uint64(0xC6A4A7935BD1E995)
_U = [np.uint64(i) for i in range(65)]
_S8, _S15, _S16, _S18, _S21 = _U[8], _U[15], _U[16], _U[18], _U[21]
_S24, _S25, _S30, _S32, _S33 = _U[24], _U[25], _U[30], _U[32], _U[33]
_S37, _S40, _S42, _S43, _S44 = _U[37], _U[40], _U[42], _U[43], _U[44]
_S47, _S48, _S56 = _U[47], _U[48], _U[56]
_ONE, _TWO, _THREE, _NINE = _U[1], _U[2], _U[3], _U[9]
_C81, _C113, _C255, _C63 = np.uint64(81), np.uint64(113), np.uint64(255), np.uint64(63)
_SEED_Y = np.uint64((81 * 0xB492B66FBE98F273 + 113) % 2**64)


@njit
def _rot(v, s):
    return (v >> s) | (v << (np.uint64(64) - s))


@njit
def _smix(v):
    return v ^ (v >> _S47)


@njit
def _f64(buf, p):
    v = np.uint64(0)
    for i in range(8):
        v |= np.uint64(buf[p + i]) << np.uint64(8 * i)
    return v


@njit
def _f32(buf, p):
    v = np.uint64(0)
    for i in range(4):
        v |= np.uint64(buf[p + i]) << np.uint64(8 * i)
    return v


@njit
def _len16(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> _S47
    b = (v ^ a) * mul
    b ^= b >> _S47
    return b * mul


@njit
def _hash_0_to_16(buf, s, n):
    ln = np.uint64(n)
    if n >= 8:
        mul = _K2 + ln * _TWO
        a = _f64(buf, s) + _K2
        b = _f64(buf, s + n - 8)
        c = _rot(b, _S37) * mul + a
        d = (_rot(a, _S25) + b) * mul
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + ln * _TWO
        a = _f32(buf, s)
        return _len16(ln + (a << _THREE), _f32(buf, s + n - 4), mul)
    if n > 0:
        a = np.uint64(buf[s])
        b = np.uint64(buf[s + (n >> 1)])
        c = np.uint64(buf[s + n - 1])
        y = a + (b << _S8)
        z = ln + (c << _TWO)
        return _smix(y * _K2 ^ z * _K0) * _K2
    return _K2


@njit
def _hash_17_to_32(buf, s, n):
    mul = _K2 + np.uint64(n) * _TWO
    a = _f64(buf, s) * _K1
    b = _f64(buf, s + 8)
    c = _f64(buf, s + n - 8) * mul
    d = _f64(buf, s + n - 16) * _K2
    return _len16(_rot(a + b, _S43) + _rot(c, _S30) + d, a + _rot(b + _K2, _S18) + c, mul)


@njit
def _hash_33_to_64(buf, s, n):
    mul = _K2 + np.uint64(n) * _TWO
    a = _f64(buf, s) * _K2
    b = _f64(buf, s + 8)
    c = _f64(buf, s + n - 8) * mul
    d = _f64(buf, s + n - 16) * _K2
    y = _rot(a + b, _S43) + _rot(c, _S30) + d
    z = _len16(y, a + _rot(b + _K2, _S18) + c, mul)
    e = _f64(buf, s + 16) * mul
    f = _f64(buf, s + 24)
    g = (y + _f64(buf, s + n - 32)) * mul
    h = (z + _f64(buf, s + n - 24)) * mul
    return _len16(_rot(e + f, _S43) + _rot(g, _S30) + h, e + _rot(f + a, _S18) + g, mul)


@njit
def _weak32(buf, p, a, b):
    w = _f64(buf, p)
    x = _f64(buf, p + 8)
    y = _f64(buf, p + 16)
    z = _f64(buf, p + 24)
    a += w
    b = _rot(b + a + z, _S21)
    c = a
    a += x
    a += y
    b += _rot(a, _S44)
    return a + z, b + c


@njit
def fingerprint64_at(buf, s, n):
    """Fingerprint64 of ``buf[s:s + n]`` (uint8 buffer) as uint64."""
    if n <= 16:
        return _hash_0_to_16(buf, s, n)
    if n <= 32:
        return _hash_17_to_32(buf, s, n)
    if n <= 64:
        return _hash_33_to_64(buf, s, n)
    x = _C81
    y = _SEED_Y
    z = _smix(y * _K2 + _C113) * _K2
    v0 = np.uint64(0)
    v1 = np.uint64(0)
    w0 = np.uint64(0)
    w1 = np.uint64(0)
    x = x * _K2 + _f64(buf, s)
    end = s + ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    p = s
    while True:
        x = _rot(x + y + v0 + _f64(buf, p + 8), _S37) * _K1
        y = _rot(y + v1 + _f64(buf, p + 48), _S42) * _K1
        x ^= w1
        y += v0 + _f64(buf, p + 40)
        z = _rot(z + w0, _S33) * _K1
        v0, v1 = _weak32(buf, p, v1 * _K1, x + w0)
        w0, w1 = _weak32(buf, p + 32, z + w1, y + _f64(buf, p + 16))
        x, z = z, x
        p += 64
        if p == end:
            break
    mul = _K1 + ((z & _C255) << _ONE)
    p = last64
    w0 += np.uint64((n - 1) & 63)
    v0 += w0
    w0 += v0
    x = _rot(x + y + v0 + _f64(buf, p + 8), _S37) * mul
    y = _rot(y + v1 + _f64(buf, p + 48), _S42) * mul
    x ^= w1 * _NINE
    y += v0 * _NINE + _f64(buf, p + 40)
    z = _rot(z + w0, _S33) * mul
    v0, v1 = _weak32(buf, p, v1 * mul, x + w0)
    w0, w1 = _weak32(buf, p + 32, z + w1, y + _f64(buf, p + 16))
    x, z = z, x
    return _len16(_len16(v0, w0, mul) + _smix(y) * _K0 + z, _len16(v1, w1, mul) + x, mul)


@njit
def fingerprint_cat64(a, b):
    """Farmhash ``FingerprintCat64(a, b)``: the order-dependent mix used to hash crosses."""
    r = a ^ _KMUL
    r ^= _smix(b * _KMUL) * _KMUL
    r *= _KMUL
    r = _smix(r) * _KMUL
    return _smix(r)


def long_text(lengths):
    """The ``long_text`` argument for strings of these byte lengths: None when all have at
    most 16 bytes."""
    return None if lengths.max(initial=0) <= 16 else True


def fingerprint64_buffer(buf, offsets):
    """Fingerprint64 of each ``buf[offsets[i]:offsets[i + 1]]``; uint64 array of len-1."""
    out = np.empty(offsets.shape[0] - 1, dtype=np.uint64)
    _fingerprint64_spans(buf, offsets, out, long_text(np.diff(offsets)))
    return out


@njit
def _fingerprint64_spans(buf, offsets, out, long_text):
    for i in range(out.shape[0]):
        if long_text is None:  # fingerprint64_at is then not compiled at all
            out[i] = _hash_0_to_16(buf, offsets[i], offsets[i + 1] - offsets[i])
        else:
            out[i] = fingerprint64_at(buf, offsets[i], offsets[i + 1] - offsets[i])


def fingerprint64_codepoints(codes, lengths):
    """Fingerprint64 of the UTF-8 text of each row of ``codes`` (uint32 code points, the
    first ``lengths[i]`` of row i), encoding into a scratch buffer row by row."""
    n, w = codes.shape
    out = np.empty(n, dtype=np.uint64)
    # at most 16 bytes: ASCII of at most 16 code points, or at most 4 code points
    ascii_only = w == 0 or codes.max() < 0x80
    short = lengths.max(initial=0) <= (16 if ascii_only else 4)
    scratch = np.empty(4 * w + 1, dtype=np.uint8)
    _fingerprint64_codepoints(codes, lengths, out, scratch, None if short else True)
    return out


@njit
def _fingerprint64_codepoints(codes, lengths, out, scratch, long_text):
    # int64, not the literal 0: the hash functions would also compile for a literal start
    start = np.int64(0)
    for i in range(codes.shape[0]):
        p = start
        for j in range(lengths[i]):
            # code point c as UTF-8 at scratch[p]
            c = codes[i, j]
            if c < 0x80:
                scratch[p] = c
                p += 1
            elif c < 0x800:
                scratch[p] = 0xC0 | (c >> 6)
                scratch[p + 1] = 0x80 | (c & 0x3F)
                p += 2
            elif c < 0x10000:
                scratch[p] = 0xE0 | (c >> 12)
                scratch[p + 1] = 0x80 | ((c >> 6) & 0x3F)
                scratch[p + 2] = 0x80 | (c & 0x3F)
                p += 3
            else:
                scratch[p] = 0xF0 | (c >> 18)
                scratch[p + 1] = 0x80 | ((c >> 12) & 0x3F)
                scratch[p + 2] = 0x80 | ((c >> 6) & 0x3F)
                scratch[p + 3] = 0x80 | (c & 0x3F)
                p += 4
        if long_text is None:
            out[i] = _hash_0_to_16(scratch, start, p)
        else:
            out[i] = fingerprint64_at(scratch, start, p)


@njit
def int_decimal_rows(values):
    """ASCII decimal text of each int64 (as TF's ``as_string``), as buffer + offsets."""
    n = values.shape[0]
    buf = np.empty(n * 20, dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int64)
    digits = np.empty(20, dtype=np.uint8)
    ten = np.uint64(10)
    p = 0
    for i in range(n):
        v = values[i]
        if v < 0:
            buf[p] = 45
            p += 1
            # -(v + 1) + 1 keeps int64 min representable.
            mag = np.uint64(-(v + 1)) + np.uint64(1)
        else:
            mag = np.uint64(v)
        k = 0
        while True:
            digits[k] = np.uint8(48 + mag % ten)
            mag //= ten
            k += 1
            if mag == 0:
                break
        for j in range(k):
            buf[p + j] = digits[k - 1 - j]
        p += k
        offsets[i + 1] = p
    return buf[:p], offsets
