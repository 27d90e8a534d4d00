"""Sequence columns: per-timestep numeric values and categorical ids (TF's
``sequence_*`` columns), turned into padded ``[n, T, width]`` by ``SequenceFeatures``."""

import math

import numpy as np

from ._columns import (
    CategoricalColumn,
    DenseColumn,
    EmbeddingColumn,
    IndicatorColumn,
    _check_shape,
    categorical_child,
)
from ._inputs import feature_ragged
from ._kernels import COMBINERS, embed_combine


class SequenceNumericColumn(DenseColumn):
    """Real values per timestep, see :func:`sequence_numeric_column`."""

    def __init__(self, key, shape=(1,), default_value=0.0, dtype="float32", normalizer_fn=None):
        self.key = key
        self.shape = shape
        self.default_value = default_value
        self.dtype = dtype
        self.normalizer_fn = normalizer_fn

    @property
    def name(self):
        return self.key

    def width(self):
        return math.prod(_check_shape(self.shape))

    def _sequence(self, feats, tables):
        rag = feature_ragged(feats, self.key, drop_missing=False)
        if rag.values.size and rag.values.dtype.kind not in "biuf":
            raise ValueError(f"sequence_numeric_column {self.key!r} needs numeric values")
        k = self.width()
        values = rag.values.astype(np.float64)
        if self.normalizer_fn is not None:
            values = np.asarray(self.normalizer_fn(values))
        steps = -(-rag.width // k)
        out = np.full((rag.n_rows, steps * k), self.default_value, dtype=np.float32)
        out[rag.rows, rag.cols] = values.astype(np.float32)
        return out.reshape(rag.n_rows, steps, k), _lengths(rag, k)


def _lengths(rag, k=1):
    """TF's sequence_length_from_sparse_tensor: ceil((last position + 1) / k) per row."""
    last = np.zeros(rag.n_rows, dtype=np.int64)
    np.maximum.at(last, rag.rows, rag.cols + 1)
    return -(-last // k)


class SequenceCategoricalColumn(CategoricalColumn):
    """A categorical column read one id per timestep."""

    def __init__(self, categorical_column):
        self.categorical_column = categorical_column

    @property
    def name(self):
        return categorical_child(self).name

    def input_keys(self):
        return categorical_child(self).input_keys()

    def _n_buckets(self):
        return self.categorical_column._n_buckets()

    def _ids(self, feats):
        return self.categorical_column.cached_ids(feats)


def sequence_dense(column, feats, tables):
    """(padded [n, T, width] float32, lengths int64) of a sequence dense column."""
    if isinstance(column, SequenceNumericColumn):
        return column._sequence(feats, tables)
    cat = getattr(column, "categorical_column", None)
    if not isinstance(cat, SequenceCategoricalColumn):
        raise ValueError(
            f"SequenceFeatures needs sequence columns, got {type(column).__name__} "
            f"{column.name!r}; use DenseFeatures for non-sequence columns"
        )
    rag = cat.cached_ids(feats)
    n, steps = rag.n_rows, rag.width
    if isinstance(column, IndicatorColumn):
        depth = column.width()
        out = np.zeros((n, steps, depth), dtype=np.float32)
        ok = (rag.values >= 0) & (rag.values < depth)
        np.add.at(out, (rag.rows[ok], rag.cols[ok], rag.values[ok]), np.float32(1.0))
        return out, _lengths(rag)
    if isinstance(column, EmbeddingColumn):
        table = tables[column.table_name]
        ok = rag.values >= 0
        column.check_lookup(rag.values[ok], table)
        cells = rag.rows[ok] * steps + rag.cols[ok]
        order = np.argsort(cells, kind="stable")
        splits = np.zeros(n * steps + 1, dtype=np.int64)
        np.cumsum(np.bincount(cells, minlength=n * steps), out=splits[1:])
        max_norm = 0.0 if column.max_norm is None else float(column.max_norm)
        out = np.empty((n * steps, column.width()), dtype=np.float32)
        embed_combine(
            out,
            table,
            rag.values[ok][order],
            splits,
            np.empty(0, np.float32),
            False,
            COMBINERS[column.combiner],
            max_norm,
        )
        return out.reshape(n, steps, column.width()), _lengths(rag)
    raise ValueError(f"unsupported sequence column {type(column).__name__}")
