"""CRC32C (Castagnoli) as TFRecord uses it, slicing-by-8 in numba; masked as TF masks it.

The ``google-crc32c`` or ``crc32c`` bindings are used when installed (hardware CRC); the
numba kernel is the dependency-free fallback and gives the same values.
"""

import numba as nb
import numpy as np

_POLY = np.uint32(0x82F63B78)


def _tables():
    t = np.zeros((8, 256), dtype=np.uint32)
    for i in range(256):
        c = np.uint32(i)
        for _ in range(8):
            c = (c >> np.uint32(1)) ^ (_POLY if c & np.uint32(1) else np.uint32(0))
        t[0, i] = c
    for k in range(1, 8):
        t[k] = (t[k - 1] >> np.uint32(8)) ^ t[0, t[k - 1] & 0xFF]
    return t


_T = _tables()


@nb.njit(cache=True)
def _crc32c_numba(buf, tables):
    crc = np.uint32(0xFFFFFFFF)
    n = buf.shape[0]
    p = 0
    while p + 8 <= n:
        lo = crc ^ (
            np.uint32(buf[p])
            | (np.uint32(buf[p + 1]) << np.uint32(8))
            | (np.uint32(buf[p + 2]) << np.uint32(16))
            | (np.uint32(buf[p + 3]) << np.uint32(24))
        )
        crc = (
            tables[7, lo & 0xFF]
            ^ tables[6, (lo >> np.uint32(8)) & 0xFF]
            ^ tables[5, (lo >> np.uint32(16)) & 0xFF]
            ^ tables[4, lo >> np.uint32(24)]
            ^ tables[3, buf[p + 4]]
            ^ tables[2, buf[p + 5]]
            ^ tables[1, buf[p + 6]]
            ^ tables[0, buf[p + 7]]
        )
        p += 8
    while p < n:
        crc = tables[0, (crc ^ np.uint32(buf[p])) & 0xFF] ^ (crc >> np.uint32(8))
        p += 1
    return crc ^ np.uint32(0xFFFFFFFF)


def _native():
    try:
        import google_crc32c

        return lambda data: google_crc32c.value(bytes(data))
    except ImportError:
        pass
    try:
        import crc32c

        return lambda data: crc32c.crc32c(bytes(data))
    except ImportError:
        return None


_NATIVE = _native()


def crc32c(data, use_native=True):
    """CRC32C of ``data`` (bytes-like) as a Python int."""
    if use_native and _NATIVE is not None:
        return int(_NATIVE(data))
    return int(_crc32c_numba(np.frombuffer(data, dtype=np.uint8), _T))


def masked_crc32c(data, use_native=True):
    """TFRecord's masked CRC: rotate right by 15 and add 0xA282EAD8 (mod 2**32)."""
    c = crc32c(data, use_native)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
