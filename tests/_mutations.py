"""Byte mutations shared by the fuzzing modules: truncate, flip one bit, overwrite or
insert a byte at a fraction of the input, drawn by hypothesis as ``(kind, where, byte)``."""

from hypothesis import strategies as st

KINDS = ("truncate", "flip", "overwrite", "insert")
mutations = st.tuples(st.sampled_from(KINDS), st.floats(0, 1), st.integers(0, 255))


def mutate(raw, kind, where, byte):
    """``raw`` with one mutation at ``where`` (a fraction of its length)."""
    if not raw:
        return bytes([byte])
    i = min(int(where * len(raw)), len(raw) - 1)
    if kind == "truncate":
        return raw[:i]
    if kind == "flip":
        return raw[:i] + bytes([raw[i] ^ (1 << (byte % 8))]) + raw[i + 1 :]
    if kind == "overwrite":
        return raw[:i] + bytes([byte]) + raw[i + 1 :]
    return raw[:i] + bytes([byte]) + raw[i:]
