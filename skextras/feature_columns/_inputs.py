"""Input conversion: dict / DataFrame features to dense arrays or ragged (sparse) values.

TensorFlow's feature columns see either a dense ``[n, k]`` tensor or a ``SparseTensor``.
Here a dense feature stays a numpy array and a multivalent feature given as lists becomes a
:class:`Ragged` (flat values + row splits + the position of each value in its row), which
is also the shape of every id tensor the categorical columns produce.
"""

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._farmhash import fingerprint64_buffer, fingerprint64_codepoints, int_decimal_rows


@dataclass
class Ragged:
    """Sparse 2-D values in CSR order, like a ``tf.SparseTensor`` of rank 2.

    Attributes
    ----------
    values : ndarray of shape (nnz,)
    row_splits : int64 ndarray of shape (n_rows + 1,)
    cols : int64 ndarray of shape (nnz,)
        Position of each value inside its row (the SparseTensor's second index).
    width : int
        The dense shape's second dimension.
    dense : bool
        True when the values came from a dense array (TF crosses dense inputs last).
    weights : float32 ndarray of shape (nnz,) or None
    hashes : uint64 ndarray of shape (nnz,) or None
        Fingerprint64 of text values, computed once per transform and used by hashing,
        crossing and (verified) vocabulary lookups.
    codes, uniques : ndarray or None
        When the text was factorised: ``values == uniques[codes]``, so lookups can work on
        the distinct strings.
    """

    values: np.ndarray
    row_splits: np.ndarray
    cols: np.ndarray
    width: int
    dense: bool = False
    weights: np.ndarray | None = None
    hashes: np.ndarray | None = None
    codes: np.ndarray | None = None
    uniques: np.ndarray | None = None
    _rows: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def n_rows(self):
        return self.row_splits.shape[0] - 1

    @property
    def rows(self):
        """Row index of each value (computed once)."""
        if self._rows is None:
            counts = np.diff(self.row_splits)
            self._rows = np.repeat(np.arange(self.n_rows, dtype=np.int64), counts)
        return self._rows

    def keep(self, mask):
        """The entries where ``mask`` is true, keeping their positions."""
        counts = np.bincount(self.rows[mask], minlength=self.n_rows)
        splits = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=splits[1:])
        weights = None if self.weights is None else self.weights[mask]
        hashes = None if self.hashes is None else self.hashes[mask]
        codes = None if self.codes is None else self.codes[mask]
        return Ragged(
            self.values[mask],
            splits,
            self.cols[mask],
            self.width,
            self.dense,
            weights,
            hashes,
            codes,
            self.uniques,
        )

    def with_values(self, values, weights=None):
        out = Ragged(values, self.row_splits, self.cols, self.width, self.dense, weights)
        out._rows = self._rows
        return out


class Features(dict):
    """Feature dict with a cache shared by the columns during one transform (as TF's
    FeatureTransformationCache): each raw feature is parsed and each column's ids are
    computed once even when several columns use them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache = {}


def get_feature(feats, key):
    if key not in feats:
        raise ValueError(f"feature {key!r} is missing from X (got {sorted(feats)})")
    return feats[key]


def memoize(feats, key, fn):
    """``fn()`` cached under ``key`` in ``feats.cache`` (plain dicts: no caching)."""
    cache = getattr(feats, "cache", None)
    if cache is None:
        return fn()
    if key not in cache:
        cache[key] = fn()
    return cache[key]


def feature_ragged(feats, key, drop_missing=True):
    """Raw feature ``key`` as :class:`Ragged` (text fingerprinted), cached per transform.

    With ``drop_missing``, dense features lose TF's missing markers ('' and -1).
    """
    rag, present = memoize(
        feats, ("ragged", key), lambda: _with_hashes(as_ragged(get_feature(feats, key)))
    )
    if not drop_missing or not rag.dense or present.all():
        return rag
    return memoize(feats, ("present", key), lambda: rag.keep(present))


def _with_hashes(rag):
    """(rag with text fingerprints attached, mask of values that are not missing markers)."""
    if is_text(rag.values) and rag.values.size:
        hashes, lengths, codes, uniques = _text_fingerprints(rag.values)
        rag = Ragged(
            rag.values, rag.row_splits, rag.cols, rag.width, rag.dense, None, hashes, codes, uniques
        )
        return rag, lengths > 0
    return rag, present_mask(rag.values)


def hash_values(rag):
    """Fingerprint64 of a Ragged's values (cached for text)."""
    return rag.hashes if rag.hashes is not None else fingerprint64(rag.values)


def to_feature_dict(X):
    """A dict name -> ndarray or :class:`Ragged` from a dict or a pandas DataFrame."""
    if isinstance(X, pd.DataFrame):
        items = [(str(k), X[k]) for k in X.columns]
    elif isinstance(X, dict):
        items = list(X.items())
    else:
        raise TypeError(f"X must be a dict of arrays or a pandas DataFrame, got {type(X).__name__}")
    out = Features()
    n = None
    for key, value in items:
        feature = _as_feature(key, value)
        rows = feature.n_rows if isinstance(feature, Ragged) else feature.shape[0]
        if n is not None and rows != n:
            raise ValueError(f"feature {key!r} has {rows} rows, expected {n}")
        n = rows
        out[key] = feature
    return out


def _as_feature(key, value):
    if isinstance(value, Ragged):
        return value
    if isinstance(value, pd.Series):
        value = _series_to_numpy(value)
    if isinstance(value, np.ndarray) and (value.dtype != object or value.ndim != 1):
        return value if value.ndim else value.reshape(1)
    if isinstance(value, (list, tuple, np.ndarray)):
        seq = value
    elif isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"feature {key!r} must be an array, a list or a pandas Series with one entry per "
            f"row, got {type(value).__name__} {value!r:.60}"
        )
    else:
        seq = list(value)
    if isinstance(_first_present(seq), _LIST_LIKE):
        return _ragged_from_lists(key, seq)
    arr = np.asarray(seq)
    if arr.dtype == object and arr.ndim == 1:
        arr = _normalise_text(key, _check_scalars(key, arr))
    return arr


def _series_to_numpy(series):
    """A pandas column as numpy; pandas' missing values become TF's missing markers
    (-1 for nullable integers, '' for strings, NaN for floats)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return series.astype(dtype.categories.dtype).pipe(_series_to_numpy)
    if pd.api.types.is_integer_dtype(dtype) and series.hasnans:
        return series.to_numpy(dtype=np.int64, na_value=-1)
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return series.to_numpy(dtype=object, na_value="")
    if pd.api.types.is_float_dtype(dtype) and isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return series.to_numpy()


_LIST_LIKE = (list, tuple, np.ndarray)


def _first_present(seq):
    """The first value that is not None / NaN (decides whether a column holds lists)."""
    for v in seq:
        if v is not None and not (isinstance(v, float) and v != v):
            return v
    return None


def _ragged_from_lists(key, seq):
    """Rows of lists as :class:`Ragged`; a missing row (None / NaN) is an empty list."""
    try:
        lengths = np.fromiter(map(len, seq), np.int64, len(seq))
    except TypeError:
        seq = [v if isinstance(v, _LIST_LIKE) else () for v in seq]
        lengths = np.fromiter(map(len, seq), np.int64, len(seq))
    splits = np.zeros(len(seq) + 1, dtype=np.int64)
    np.cumsum(lengths, out=splits[1:])
    flat = list(itertools.chain.from_iterable(seq))
    try:
        values = np.asarray(flat) if flat else np.array([], dtype=object)
    except ValueError:
        values = np.zeros((0, 0))  # inhomogeneous: a row holds lists
    if values.ndim != 1:
        raise ValueError(f"feature {key!r}: each row must be a flat list of scalars")
    if values.dtype == object:
        values = _normalise_text(key, _check_scalars(key, values))
    starts = np.repeat(splits[:-1], lengths)
    cols = np.arange(values.shape[0], dtype=np.int64) - starts
    width = int(lengths.max()) if lengths.size else 0
    return Ragged(values, splits, cols, width, dense=False)


_SCALARS = (str, bytes, int, float, np.number, np.bool_, type(None))


def _check_scalars(key, arr):
    """Object values must be scalars (text, numbers, None): a dict or a set is no feature."""
    bad = next((i for i, v in enumerate(arr) if not isinstance(v, _SCALARS)), None)
    if bad is not None:
        raise TypeError(
            f"feature {key!r}: value {bad} is a {type(arr[bad]).__name__} ({arr[bad]!r:.60}); "
            "values must be str, bytes or numbers"
        )
    return arr


def _normalise_text(key, arr):
    """Object arrays holding bytes become str (TF sees the UTF-8 bytes either way); other
    values (None, str) are kept, so a missing value among bytes stays missing."""
    if not any(isinstance(v, bytes) for v in arr):
        return arr
    out = np.empty(arr.shape, dtype=object)
    for i, v in enumerate(arr):
        try:
            out[i] = v.decode("utf-8") if isinstance(v, bytes) else v
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"feature {key!r}: value {i} ({v!r:.60}) is not UTF-8: {exc}"
            ) from None
    return out


def is_text(arr):
    """True for str / bytes / object (text) arrays."""
    return arr.dtype.kind in "OUS"


def as_2d(arr):
    """``[n]`` or ``[n, ...]`` as ``[n, k]`` (zero rows included)."""
    return arr.reshape(arr.shape[0], math.prod(arr.shape[1:]))


def as_ragged(feature):
    """Any feature as :class:`Ragged`, every value kept (dense ones flagged ``dense``)."""
    if isinstance(feature, Ragged):
        return feature
    arr = as_2d(feature)
    n, k = arr.shape
    splits = np.arange(0, n * k + 1, k, dtype=np.int64)
    cols = np.tile(np.arange(k, dtype=np.int64), n)
    return Ragged(arr.reshape(-1), splits, cols, k, dense=True)


def present_mask(values):
    """Where ``values`` is not TF's missing marker ('' for text, -1 for integers), as in
    TF's ``_to_sparse_input_and_drop_ignore_values``."""
    if values.dtype.kind in "iu":
        return values != -1
    if is_text(values):
        return np.asarray(values != "", dtype=bool)
    return np.ones(values.shape, dtype=bool)


def fingerprint64(values):
    """Farmhash Fingerprint64 of each value, uint64; integers hash as their decimal text.

    TensorFlow's ``tf.fingerprint`` / ``tf.strings.to_hash_bucket_fast`` hash (the hash of
    :func:`categorical_column_with_hash_bucket`), bit for bit.

    Parameters
    ----------
    values : array-like of str, bytes or int
        Text is hashed as its UTF-8 bytes; integers as their decimal text.

    Returns
    -------
    ndarray of uint64, the shape of ``values``

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.feature_columns import fingerprint64
    >>> fingerprint64(np.array(["a", "paris"], dtype=object))
    array([12917804110809363939, 16889890634556049197], dtype=uint64)
    >>> fingerprint64(np.array([25])) == fingerprint64(np.array(["25"], dtype=object))
    array([ True])
    """
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        buf, offsets = int_decimal_rows(values.astype(np.int64, copy=False).reshape(-1))
        return fingerprint64_buffer(buf, offsets).reshape(values.shape)
    if values.dtype.kind == "b":
        raise TypeError("boolean features cannot be hashed; cast them to int or str")
    return _text_fingerprints(values.reshape(-1))[0].reshape(values.shape)


def _text_fingerprints(values):
    """(Fingerprint64 of each text value's UTF-8 bytes, length of each value, codes,
    uniques); codes and uniques are None unless the values were factorised.

    Missing values of pandas (None / NaN) count as the empty string. Columns with few
    distinct values (judged on a sample) are factorised first and each distinct string is
    hashed once; high-cardinality columns are hashed value by value, which is cheaper.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), None, None
    if values.dtype == object and values.size > 4 * _SAMPLE:
        sample = values[:: values.size // _SAMPLE]
        if len(pd.unique(sample)) < 0.2 * sample.size:
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            uniques = np.asarray(uniques, dtype=object)
            hashes, lengths = _hash_text(uniques)
            return hashes[codes], lengths[codes], codes, uniques
    return (*_hash_text(values), None, None)


_SAMPLE = 1000


def _hash_text(values):
    if values.dtype.kind == "S":
        width = values.dtype.itemsize
        raw = np.frombuffer(values.tobytes(), dtype=np.uint8)
        lengths = np.char.str_len(values).astype(np.int64)
        starts = np.arange(values.size, dtype=np.int64) * width
        return _hash_spans(raw, starts, lengths), lengths
    lengths = None
    if values.dtype == object:
        # numpy's fixed-width text drops trailing NULs, so the lengths come from the objects.
        try:
            lengths = np.fromiter(map(len, values), np.int64, values.size)
        except TypeError:
            values = np.where(pd.isna(values), "", values)
    if lengths is not None:
        # With the width known numpy converts in one pass over the objects, not two.
        text = values.astype(f"U{max(int(lengths.max()), 1)}")
    else:
        text = values.astype(str)
        lengths = np.char.str_len(text).astype(np.int64)
    codes = text.view(np.uint32).reshape(text.size, -1)
    if codes.shape[1] < lengths.max(initial=0):
        codes = np.pad(codes, ((0, 0), (0, int(lengths.max()) - codes.shape[1])))
    return fingerprint64_codepoints(np.ascontiguousarray(codes), lengths), lengths


def _hash_spans(raw, starts, lengths):
    offsets = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    take = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return fingerprint64_buffer(raw[take], offsets)
