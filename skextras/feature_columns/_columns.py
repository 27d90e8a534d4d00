"""Feature column classes: what each ``tf.feature_column`` computes, on numpy arrays.

Each column is a small scikit-learn ``BaseEstimator`` (so ``clone``, ``get_params`` and
``GridSearchCV`` reach its parameters); the factory functions in ``_api`` build them with
TensorFlow's names and defaults. Categorical columns turn features into ids
(:class:`~._inputs.Ragged`); dense columns turn features into float32 ``[n, width]``.
"""

import math
from collections import namedtuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ._inputs import (
    Ragged,
    as_2d,
    feature_ragged,
    fingerprint64,
    get_feature,
    hash_values,
    is_text,
    memoize,
    to_feature_dict,
)
from ._kernels import COMBINERS, cross_hashed, embed_combine, multi_hot

SparseIds = namedtuple("SparseIds", ["indices", "values", "dense_shape", "weights"])
SparseIds.__doc__ = """TF's id (and weight) SparseTensors as numpy arrays.

indices : int64 [nnz, 2] (row, position); values : int64 [nnz]; dense_shape : (n, k);
weights : float32 [nnz] or None.

Examples
--------
>>> import numpy as np
>>> from skextras import feature_columns as fc
>>> col = fc.categorical_column_with_vocabulary_list("w", ["a", "b"])
>>> ids = col.ids({"w": np.array([["b", ""], ["a", "a"]], dtype=object)})
>>> ids.indices.tolist(), ids.values.tolist(), ids.dense_shape
([[0, 0], [1, 0], [1, 1]], [1, 0, 0], (2, 2))
"""


def _n_rows(feats):
    first = next(iter(feats.values()))
    return first.n_rows if isinstance(first, Ragged) else first.shape[0]


class FeatureColumn(BaseEstimator):
    """Base of all columns: a name and the raw feature keys it reads."""

    @property
    def name(self):
        raise NotImplementedError

    def input_keys(self):
        """The raw feature keys this column reads."""
        return [self.key]

    def _check_input(self, key, value):
        """Raise a clear error when a raw feature has the wrong kind of values."""


class CategoricalColumn(FeatureColumn):
    """A column that maps features to integer ids in ``[0, num_buckets)``."""

    def _n_buckets(self):
        raise NotImplementedError

    def __getattr__(self, attr):
        # TF's columns expose num_buckets; identity columns store it as a parameter.
        if attr == "num_buckets":
            return self._n_buckets()
        raise AttributeError(attr)

    def _ids(self, feats):
        raise NotImplementedError

    def cached_ids(self, feats):
        """``_ids`` computed once per transform however many columns read them."""
        return memoize(feats, ("ids", id(self)), lambda: self._ids(feats))

    def ids(self, X, output="tensor"):
        """The sparse ids (and weights) TF's ``get_sparse_tensors`` gives for ``X``.

        Parameters
        ----------
        X : dict of arrays or pandas.DataFrame
        output : {"tensor", "csr"}, default="tensor"
            "tensor": a :class:`SparseIds` (indices, values, dense_shape, weights).
            "csr": a scipy CSR matrix of shape dense_shape holding the ids at their
            (row, position) (explicit zeros kept), or (ids, weights) CSR matrices for a
            weighted column.
        """
        rag = self._ids(to_feature_dict(X))
        shape = (rag.n_rows, rag.width)
        if output == "tensor":
            indices = np.stack([rag.rows, rag.cols], axis=1)
            return SparseIds(indices, rag.values.astype(np.int64), shape, rag.weights)
        if output != "csr":
            raise ValueError(f"output must be 'tensor' or 'csr', got {output!r}")

        def csr(data):
            return sp.csr_matrix((data, rag.cols, rag.row_splits), shape=shape)

        ids = csr(rag.values.astype(np.int64))
        return ids if rag.weights is None else (ids, csr(rag.weights))


class DenseColumn(FeatureColumn):
    """A column whose output is float32 ``[n, width]``."""

    def width(self):
        raise NotImplementedError

    def _dense(self, feats, tables):
        raise NotImplementedError

    def _dense_into(self, feats, tables, out):
        """Write the dense output into ``out``, a zero-filled column block of the layer's
        output."""
        out[:] = self._dense(feats, tables)

    def _sparse(self, feats, tables):
        return sp.csr_matrix(self._dense(feats, tables))

    def feature_names(self):
        name = self.name
        return [f"{name}_{j}" for j in range(self.width())]

    def _tables(self):
        """(table key, shape, initializer) of the embedding tables this column needs."""
        return []


def check_int(value, param, minimum=None):
    """An integer parameter, checked as TF's ops check it: 2.5 raises instead of becoming 2."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{param} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{param} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_shape(shape, param="shape"):
    dims = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"{param} must be an int or a tuple of ints, got {shape!r}") from None
    if not dims:
        raise ValueError(f"{param} must be positive integers, got {shape!r}")
    return tuple(check_int(d, param, 1) for d in dims)


class NumericColumn(DenseColumn):
    """Real-valued feature, see :func:`numeric_column`."""

    def __init__(self, key, shape=(1,), default_value=None, dtype="float32", normalizer_fn=None):
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

    def feature_names(self):
        w = self.width()
        return [self.key] if w == 1 else [f"{self.key}_{j}" for j in range(w)]

    def _check_input(self, key, value):
        if isinstance(value, Ragged) or value.dtype.kind not in "biuf":
            kind = "lists" if isinstance(value, Ragged) else value.dtype
            raise ValueError(f"numeric_column {key!r} needs a dense numeric array, got {kind}")

    def _dense(self, feats, tables):
        x = get_feature(feats, self.key)
        self._check_input(self.key, x)
        x = as_2d(x)
        if x.shape[1] != self.width():
            raise ValueError(
                f"numeric_column {self.key!r}: shape {_check_shape(self.shape)} needs "
                f"{self.width()} values per row, got {x.shape[1]}"
            )
        if self.normalizer_fn is not None:
            x = np.asarray(self.normalizer_fn(x))
        if x.dtype == np.float32:
            return x
        with np.errstate(over="ignore"):  # beyond float32 becomes +-inf, silently as in TF
            out = x.astype(np.float32)
        # TF's CPU kernels flush subnormal results of the cast to zero (FTZ).
        tiny = np.abs(out) < np.finfo(np.float32).tiny
        out[tiny] = np.copysign(np.float32(0.0), out[tiny])
        return out


class BucketizedColumn(DenseColumn, CategoricalColumn):
    """Numeric feature cut at ``boundaries``, see :func:`bucketized_column`."""

    def __init__(self, source_column, boundaries):
        self.source_column = source_column
        self.boundaries = boundaries

    @property
    def name(self):
        return f"{self.source_column.name}_bucketized"

    def input_keys(self):
        return self.source_column.input_keys()

    def _edges(self):
        if not isinstance(self.source_column, NumericColumn):
            raise ValueError(
                f"source_column must be a numeric_column, got {type(self.source_column).__name__}"
            )
        if len(_check_shape(self.source_column.shape)) > 1:
            raise ValueError(
                f"source_column must be one-dimensional, got shape {self.source_column.shape!r}"
            )
        if len(self.boundaries) == 0:
            raise ValueError("boundaries must not be empty")
        try:
            b = np.asarray(self.boundaries, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"boundaries must be a sorted list of numbers, got {self.boundaries!r:.80}"
            ) from None
        if b.ndim != 1 or (b.size > 1 and not np.all(b[1:] > b[:-1])):
            raise ValueError(f"boundaries must be a sorted list, got {self.boundaries!r}")
        return b

    def _n_buckets(self):
        return (len(self._edges()) + 1) * self.source_column.width()

    def width(self):
        return self._n_buckets()

    def _bucket(self, feats):
        x = self.source_column._dense(feats, None)
        edges = self._edges()
        # TF's Bucketize is upper_bound on float32 edges: NaN and +inf go to the last bucket.
        return np.searchsorted(edges, x, side="right").astype(np.int64), edges.size + 1

    def _ids(self, feats):
        b, depth = self._bucket(feats)
        n, k = b.shape
        ids = (b + np.arange(k, dtype=np.int64) * depth).reshape(-1)
        splits = np.arange(0, n * k + 1, k, dtype=np.int64)
        return Ragged(ids, splits, np.tile(np.arange(k, dtype=np.int64), n), k, dense=False)

    def _sparse(self, feats, tables):
        rag = self.cached_ids(feats)
        data = np.ones(rag.values.size, dtype=np.float32)
        return sp.csr_matrix((data, rag.values, rag.row_splits), shape=(rag.n_rows, self.width()))

    def _dense(self, feats, tables):
        return self._sparse(feats, tables).toarray()


class HashedCategoricalColumn(CategoricalColumn):
    """Ids by Fingerprint64 modulo ``hash_bucket_size``."""

    def __init__(self, key, hash_bucket_size, dtype="string"):
        self.key = key
        self.hash_bucket_size = hash_bucket_size
        self.dtype = dtype

    @property
    def name(self):
        return self.key

    def _n_buckets(self):
        return check_int(self.hash_bucket_size, "hash_bucket_size", 1)

    def _check_input(self, key, value):
        _check_kind(self, key, value, "OUSiu")

    def _ids(self, feats):
        rag = feature_ragged(feats, self.key)
        self._check_input(self.key, rag.values)
        ids = (hash_values(rag) % np.uint64(self._n_buckets())).astype(np.int64)
        return rag.with_values(ids)


def categorical_child(column):
    """``column.categorical_column``; ValueError naming both unless it is categorical (as
    :func:`embedding_column` checks when it is built)."""
    child = column.categorical_column
    if not isinstance(child, CategoricalColumn):
        raise ValueError(
            f"{type(column).__name__}: categorical_column must be a categorical column "
            "(categorical_column_with_*, bucketized_column, crossed_column, "
            f"weighted_categorical_column), got {type(child).__name__} {child!r:.80}"
        )
    return child


def _check_kind(column, key, value, kinds):
    values = value.values if isinstance(value, Ragged) else value
    if values.size and values.dtype.kind not in kinds:
        if "i" in kinds and "O" in kinds:
            wanted = "text or integer"
        elif "i" in kinds:
            wanted = "integer"
        else:
            wanted = "float" if kinds == "f" else "text"
        raise ValueError(
            f"{type(column).__name__} {key!r} needs {wanted} values, got dtype {values.dtype}"
        )


class _VocabularyColumn(CategoricalColumn):
    """Shared lookup of the two vocabulary columns (TF's index_table_from_*)."""

    @property
    def name(self):
        return self.key

    def _n_buckets(self):
        return len(self._vocabulary()) + check_int(self.num_oov_buckets, "num_oov_buckets", 0)

    def _check_input(self, key, value):
        text = is_text(self._vocabulary())
        _check_kind(self, key, value, "OUS" if text else "iu")

    def _lookup(self, rag):
        vocab = self._vocabulary()
        num_oov = check_int(self.num_oov_buckets, "num_oov_buckets", 0)
        default = self.default_value
        default = -1 if default is None else check_int(default, "default_value")
        if num_oov and default != -1:
            raise ValueError("Can't specify both default_value and num_oov_buckets")
        index = _vocab_index(vocab, rag)
        miss = index < 0
        if num_oov:
            oov = hash_values(rag)[miss] % np.uint64(num_oov)
            index[miss] = len(vocab) + oov.astype(np.int64)
        else:
            index[miss] = default
        return index

    def _ids(self, feats):
        rag = feature_ragged(feats, self.key)
        self._check_input(self.key, rag.values)
        return rag.with_values(self._lookup(rag))


def _vocab_index(vocab, rag):
    """Position of each value in ``vocab`` (-1 if absent).

    Text is matched on Fingerprint64 (an integer hash table), then the matches are
    compared as strings so that a hash collision can never give a wrong id. Factorised
    text is looked up once per distinct value.
    """
    if not is_text(vocab):
        return pd.Index(vocab).get_indexer(rag.values)
    if rag.codes is not None:
        return _verified_index(vocab, rag.uniques, fingerprint64(rag.uniques))[rag.codes]
    return _verified_index(vocab, rag.values, hash_values(rag))


def _verified_index(vocab, values, hashes):
    index = pd.Index(fingerprint64(vocab)).get_indexer(hashes)
    hit = index >= 0
    if not np.asarray(values[hit] == vocab[index[hit]], dtype=bool).all():
        return pd.Index(vocab).get_indexer(values)
    return index


class VocabularyListCategoricalColumn(_VocabularyColumn):
    """Ids by position in an in-memory vocabulary."""

    def __init__(self, key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0):
        self.key = key
        self.vocabulary_list = vocabulary_list
        self.dtype = dtype
        self.default_value = default_value
        self.num_oov_buckets = num_oov_buckets

    def _vocabulary(self):
        vocab = np.asarray(list(self.vocabulary_list))
        if vocab.size == 0 or vocab.ndim != 1:
            raise ValueError(
                f"vocabulary_list must be a non-empty list, got {self.vocabulary_list}"
            )
        if pd.Index(vocab).has_duplicates:
            raise ValueError(f"Duplicate keys in vocabulary_list {self.vocabulary_list!r}")
        return vocab.astype(object) if is_text(vocab) else vocab.astype(np.int64)


class VocabularyFileCategoricalColumn(_VocabularyColumn):
    """Ids by line number in a vocabulary file (one entry per line, UTF-8)."""

    def __init__(
        self,
        key,
        vocabulary_file,
        vocabulary_size=None,
        dtype="string",
        default_value=None,
        num_oov_buckets=0,
    ):
        self.key = key
        self.vocabulary_file = vocabulary_file
        self.vocabulary_size = vocabulary_size
        self.dtype = dtype
        self.default_value = default_value
        self.num_oov_buckets = num_oov_buckets

    def _vocabulary(self):
        with open(self.vocabulary_file, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if self.vocabulary_size is not None:
            size = check_int(self.vocabulary_size, "vocabulary_size")
            if size < 1 or size > len(lines):
                raise ValueError(
                    f"vocabulary_size must be in [1, {len(lines)}] for {self.vocabulary_file}, "
                    f"got {self.vocabulary_size!r}"
                )
            lines = lines[:size]
        if not lines:
            raise ValueError(f"vocabulary_file {self.vocabulary_file!r} is empty")
        if self.dtype in ("string", "str", str):
            return np.array(lines, dtype=object)
        try:
            return np.array([int(v) for v in lines], dtype=np.int64)
        except ValueError:
            line = next(i for i, v in enumerate(lines, 1) if not v.strip().lstrip("+-").isdigit())
            raise ValueError(
                f"{self.vocabulary_file}:{line}: {lines[line - 1]!r} is not an integer "
                f"(dtype={self.dtype!r})"
            ) from None


class IdentityCategoricalColumn(CategoricalColumn):
    """Integer values used as ids directly."""

    def __init__(self, key, num_buckets, default_value=None):
        self.key = key
        self.num_buckets = num_buckets
        self.default_value = default_value

    @property
    def name(self):
        return self.key

    def _n_buckets(self):
        check_int(self.num_buckets, "num_buckets", 1)
        if self.default_value is not None and not (
            0 <= check_int(self.default_value, "default_value") < self.num_buckets
        ):
            raise ValueError(
                f"default_value {self.default_value!r} not in range [0, {self.num_buckets})"
            )
        return int(self.num_buckets)

    def _check_input(self, key, value):
        _check_kind(self, key, value, "iu")

    def _ids(self, feats):
        rag = feature_ragged(feats, self.key)
        self._check_input(self.key, rag.values)
        ids = rag.values.astype(np.int64, copy=False)
        if self.default_value is not None:
            bad = (ids < 0) | (ids >= self._n_buckets())
            ids = np.where(bad, np.int64(self.default_value), ids)
        return rag.with_values(ids)


class CrossedColumn(CategoricalColumn):
    """Hashed cross of raw keys and categorical columns, see :func:`crossed_column`."""

    def __init__(self, keys, hash_bucket_size, hash_key=None):
        self.keys = keys
        self.hash_bucket_size = hash_bucket_size
        self.hash_key = hash_key

    def _leaves(self):
        leaves = []
        for key in self.keys:
            if isinstance(key, CrossedColumn):
                leaves.extend(key._leaves())
            elif isinstance(key, (HashedCategoricalColumn, WeightedCategoricalColumn)):
                raise ValueError(
                    f"crossed_column does not support {type(key).__name__} {key.name!r}: "
                    "use the feature name as a string"
                )
            elif isinstance(key, (str, CategoricalColumn)):
                leaves.append(key)
            else:
                raise ValueError(f"crossed_column keys must be str or categorical, got {key!r}")
        return leaves

    @property
    def name(self):
        names = [k if isinstance(k, str) else k.name for k in self._leaves()]
        return "_X_".join(sorted(names))

    def input_keys(self):
        out = []
        for leaf in self._leaves():
            out.extend([leaf] if isinstance(leaf, str) else leaf.input_keys())
        return out

    def _n_buckets(self):
        return check_int(self.hash_bucket_size, "hash_bucket_size", 1)

    def _check_input(self, key, value):
        if key in [leaf for leaf in self._leaves() if isinstance(leaf, str)]:
            _check_kind(self, key, value, "OUSiu")

    def _components(self, feats):
        sparse, dense = [], []
        for leaf in self._leaves():
            if isinstance(leaf, str):
                rag = feature_ragged(feats, leaf, drop_missing=False)
                self._check_input(leaf, rag.values)
                if is_text(rag.values):
                    vals = hash_values(rag)
                else:
                    vals = rag.values.astype(np.int64).view(np.uint64)
                (dense if rag.dense else sparse).append(rag.with_values(vals))
            else:
                rag = leaf.cached_ids(feats)
                sparse.append(rag.with_values(rag.values.astype(np.int64).view(np.uint64)))
        return sparse + dense

    def _validate(self):
        """TF's checks of crossed_column's arguments (also run by the factory)."""
        if len(self.keys) < 2:
            raise ValueError(f"keys must have at least 2 keys, got {self.keys!r}")
        self._leaves()
        self._n_buckets()

    def _ids(self, feats):
        self._validate()
        comps = self._components(feats)
        values = np.concatenate([c.values for c in comps])
        starts = np.cumsum([0] + [c.values.size for c in comps[:-1]])
        splits = np.stack([c.row_splits + s for c, s in zip(comps, starts, strict=True)])
        hash_key = self.hash_key
        hash_key = 0xDECAFCAFFE if hash_key is None else check_int(hash_key, "hash_key", 0)
        ids, out_splits = cross_hashed(values, splits, np.uint64(hash_key), self._n_buckets())
        counts = np.diff(out_splits)
        cols = np.arange(ids.size, dtype=np.int64) - np.repeat(out_splits[:-1], counts)
        width = int(counts.max()) if counts.size else 0
        return Ragged(ids, out_splits, cols, width)


class WeightedCategoricalColumn(CategoricalColumn):
    """A categorical column with a weight per value, see :func:`weighted_categorical_column`."""

    def __init__(self, categorical_column, weight_feature_key, dtype="float32"):
        self.categorical_column = categorical_column
        self.weight_feature_key = weight_feature_key
        self.dtype = dtype

    @property
    def name(self):
        return f"{categorical_child(self).name}_weighted_by_{self.weight_feature_key}"

    def input_keys(self):
        return categorical_child(self).input_keys() + [self.weight_feature_key]

    def _n_buckets(self):
        return self.categorical_column._n_buckets()

    def _check_input(self, key, value):
        if key == self.weight_feature_key:
            _check_kind(self, key, value, "f")

    def _ids(self, feats):
        rag = self.categorical_column.cached_ids(feats)
        w = get_feature(feats, self.weight_feature_key)
        self._check_input(self.weight_feature_key, w)
        # Weights pair with the values still present: a weight whose value was the
        # missing marker is ignored.
        if isinstance(w, Ragged):
            lengths = np.diff(w.row_splits)[rag.rows]
            if np.any(rag.cols >= lengths):
                raise ValueError(f"weights {self.weight_feature_key!r} are shorter than the values")
            weights = w.values[w.row_splits[rag.rows] + rag.cols]
        else:
            w = as_2d(w)
            if rag.cols.size and rag.cols.max() >= w.shape[1]:
                raise ValueError(
                    f"weights {self.weight_feature_key!r} have {w.shape[1]} columns, fewer than "
                    f"the values of {self.categorical_column.name!r}"
                )
            nonzero = w[w != 0]
            if nonzero.size == rag.values.size:
                # TF sparsifies dense weights by dropping zeros and pairs them with the ids
                # in order, even where that shifts a weight onto another value.
                weights = nonzero
            else:
                # TF raises here; we pair by position and ignore weights of missing values.
                weights = w[rag.rows, rag.cols]
        return rag.with_values(rag.values, weights.astype(np.float32))


class IndicatorColumn(DenseColumn):
    """Multi-hot (counts, or summed weights) of a categorical column."""

    def __init__(self, categorical_column):
        self.categorical_column = categorical_column

    @property
    def name(self):
        return f"{categorical_child(self).name}_indicator"

    def input_keys(self):
        return categorical_child(self).input_keys()

    def width(self):
        return self.categorical_column._n_buckets()

    def _sparse(self, feats, tables):
        rag = self.categorical_column.cached_ids(feats)
        depth = self.width()
        ok = (rag.values >= 0) & (rag.values < depth)
        data = np.ones(rag.values.size, np.float32) if rag.weights is None else rag.weights
        counts = np.bincount(rag.rows[ok], minlength=rag.n_rows)
        indptr = np.zeros(rag.n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        out = sp.csr_matrix((data[ok], rag.values[ok], indptr), shape=(rag.n_rows, depth))
        out.sum_duplicates()
        return out

    def _dense_into(self, feats, tables, out):
        """``out`` must hold zeros (the layer allocates its output with np.zeros)."""
        rag = self.categorical_column.cached_ids(feats)
        has_w = rag.weights is not None
        weights = rag.weights if has_w else np.empty(0, np.float32)
        multi_hot(out, rag.rows, rag.values, weights, has_w)

    def _dense(self, feats, tables):
        out = np.zeros((_n_rows(feats), self.width()), dtype=np.float32)
        self._dense_into(feats, tables, out)
        return out


def _truncated_normal(rng, shape, stddev):
    """Normal(0, stddev) redrawn outside two standard deviations, as TF's default."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * stddev).astype(np.float32)


def make_table(shape, initializer, rng):
    """The initial embedding table of ``shape`` from an array, a callable or TF's default."""
    if initializer is None:
        return _truncated_normal(rng, shape, 1.0 / math.sqrt(shape[1]))
    table = initializer(shape, np.float32) if callable(initializer) else initializer
    table = np.array(table, dtype=np.float32)
    if table.shape != tuple(shape):
        raise ValueError(
            f"initializer must give an array of shape {tuple(shape)}, got {table.shape}"
        )
    return table


class EmbeddingColumn(DenseColumn):
    """Dense embedding of a categorical column, see :func:`embedding_column`."""

    def __init__(
        self,
        categorical_column,
        dimension,
        combiner="mean",
        initializer=None,
        ckpt_to_load_from=None,
        tensor_name_in_ckpt=None,
        max_norm=None,
        trainable=True,
        use_safe_embedding_lookup=True,
    ):
        self.categorical_column = categorical_column
        self.dimension = dimension
        self.combiner = combiner
        self.initializer = initializer
        self.ckpt_to_load_from = ckpt_to_load_from
        self.tensor_name_in_ckpt = tensor_name_in_ckpt
        self.max_norm = max_norm
        self.trainable = trainable
        self.use_safe_embedding_lookup = use_safe_embedding_lookup

    @property
    def name(self):
        return f"{categorical_child(self).name}_embedding"

    @property
    def table_name(self):
        """Key of this column's table in ``DenseFeatures.embedding_weights_``."""
        return self.name

    def input_keys(self):
        return categorical_child(self).input_keys()

    def width(self):
        return check_int(self.dimension, "dimension", 1)

    def _tables(self):
        if self.ckpt_to_load_from is not None:
            raise ValueError(
                "ckpt_to_load_from is not supported: pass the checkpoint's array as initializer"
            )
        shape = (self.categorical_column._n_buckets(), self.width())
        return [(self.table_name, shape, self.initializer)]

    def _dense(self, feats, tables):
        out = np.empty((_n_rows(feats), self.width()), dtype=np.float32)
        self._dense_into(feats, tables, out)
        return out

    def check_lookup(self, ids, table):
        """ValueError for an unknown combiner or an id beyond the table: the numba lookup
        does no bounds checks, so an unchecked id would read outside the table."""
        if self.combiner not in COMBINERS:
            raise ValueError(f"combiner must be one of {sorted(COMBINERS)}, got {self.combiner!r}")
        if ids.size and ids.max() >= table.shape[0]:
            raise ValueError(
                f"{self.name}: id {int(ids.max())} is out of range for an embedding "
                f"table of {table.shape[0]} rows"
            )

    def _dense_into(self, feats, tables, out):
        table = tables[self.table_name]
        rag = self.categorical_column.cached_ids(feats)
        keep = rag.values >= 0
        if rag.weights is not None and self.combiner != "sum":
            # TF prunes weights <= 0 for mean and sqrtn only.
            keep &= rag.weights > 0
        if not keep.all():
            rag = rag.keep(keep)
        self.check_lookup(rag.values, table)
        has_w = rag.weights is not None
        weights = rag.weights if has_w else np.empty(0, np.float32)
        max_norm = 0.0 if self.max_norm is None else float(self.max_norm)
        embed_combine(
            out,
            table,
            rag.values,
            rag.row_splits,
            weights,
            has_w,
            COMBINERS[self.combiner],
            max_norm,
        )


class SharedEmbeddingColumn(EmbeddingColumn):
    """An embedding column whose table is shared, see :func:`shared_embeddings`."""

    def __init__(
        self,
        categorical_column,
        dimension,
        shared_embedding_collection_name,
        combiner="mean",
        initializer=None,
        max_norm=None,
        trainable=True,
        use_safe_embedding_lookup=True,
    ):
        self.categorical_column = categorical_column
        self.dimension = dimension
        self.shared_embedding_collection_name = shared_embedding_collection_name
        self.combiner = combiner
        self.initializer = initializer
        self.ckpt_to_load_from = None
        self.tensor_name_in_ckpt = None
        self.max_norm = max_norm
        self.trainable = trainable
        self.use_safe_embedding_lookup = use_safe_embedding_lookup

    @property
    def name(self):
        return f"{categorical_child(self).name}_shared_embedding"

    @property
    def table_name(self):
        return self.shared_embedding_collection_name
