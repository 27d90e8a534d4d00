"""``DenseFeatures`` and ``SequenceFeatures``: the columns as scikit-learn transformers."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._columns import DenseColumn, FeatureColumn, _n_rows, make_table
from ._inputs import to_feature_dict
from ._sequence import SequenceNumericColumn, sequence_dense


class _ColumnsLayer(BaseEstimator):
    """Fitting shared by both layers: validate columns and keys, build embedding tables.

    Column parameters are reachable as ``<column name>__<param>`` (``get_params`` /
    ``set_params``), so ``GridSearchCV`` can tune e.g. ``age_bucketized__boundaries``.
    """

    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        if deep and isinstance(self.columns, (list, tuple)):
            for col in self.columns:
                if isinstance(col, FeatureColumn):
                    params[col.name] = col
                    for k, v in col.get_params(deep=True).items():
                        params[f"{col.name}__{k}"] = v
        return params

    def set_params(self, **params):
        own = {k: v for k, v in params.items() if "__" not in k and k in self._own_params()}
        super().set_params(**own)
        for key, value in params.items():
            if key in own:
                continue
            name, _, sub = key.partition("__")
            columns = list(self.columns)
            idx = [i for i, c in enumerate(columns) if c.name == name]
            if not idx:
                raise ValueError(f"Invalid parameter {key!r}: no column named {name!r}")
            columns[idx[0]] = (
                value if not sub else clone(columns[idx[0]]).set_params(**{sub: value})
            )
            self.columns = columns
        return self

    def _own_params(self):
        return super().get_params(deep=False)

    def _sorted_columns(self):
        if not isinstance(self.columns, (list, tuple)) or not self.columns:
            raise ValueError(f"columns must be a non-empty list of columns, got {self.columns!r}")
        names = []
        for col in self.columns:
            if not isinstance(col, DenseColumn):
                raise ValueError(
                    f"Items of columns must be dense columns (numeric, bucketized, indicator, "
                    f"embedding), got {type(col).__name__} {getattr(col, 'name', col)!r}; "
                    "wrap categorical columns in indicator_column or embedding_column"
                )
            names.append(col.name)
        if len(set(names)) != len(names):
            raise ValueError(f"Duplicate column names in columns: {sorted(names)}")
        return sorted(self.columns, key=lambda c: c.name)

    def _fit_columns(self, X):
        columns = self._sorted_columns()
        feats = to_feature_dict(X)
        for col in columns:
            for key in col.input_keys():
                if key not in feats:
                    raise ValueError(f"column {col.name!r} needs feature {key!r}, not in X")
                _check_leaves(col, key, feats[key])
        rng = check_random_state(self.random_state)
        tables = {}
        for col in columns:
            for name, shape, init in col._tables():
                if name in tables:
                    if tables[name].shape != shape:
                        raise ValueError(f"shared embedding {name!r} has inconsistent shapes")
                    continue
                tables[name] = make_table(shape, init, rng)
        self.embedding_weights_ = tables
        self.feature_names_in_ = np.array(list(feats), dtype=object)
        self.n_features_in_ = len(feats)
        return columns

    def _transform_setup(self, X):
        check_is_fitted(self, "embedding_weights_")
        columns = self._sorted_columns()
        self._check_tables(columns)
        return columns, to_feature_dict(X)

    def _check_tables(self, columns):
        """Tables assigned by the user must keep their shape; they are used as float32."""
        for col in columns:
            for name, shape, _ in col._tables():
                table = self.embedding_weights_.get(name)
                if table is None or np.shape(table) != shape:
                    raise ValueError(
                        f"embedding_weights_[{name!r}] must have shape {shape}, got "
                        f"{None if table is None else np.shape(table)}"
                    )
                if not (isinstance(table, np.ndarray) and table.dtype == np.float32):
                    self.embedding_weights_[name] = np.ascontiguousarray(table, np.float32)

    def save_weights(self, path):
        """Write the embedding tables to an ``.npz`` file (no pickle)."""
        check_is_fitted(self, "embedding_weights_")
        np.savez(path, **self.embedding_weights_)

    def load_weights(self, path):
        """Read embedding tables written by :meth:`save_weights` (shapes must match the
        columns). An unfitted layer becomes fitted: with :meth:`get_config` /
        :meth:`from_config` this restores a saved layer without data."""
        shapes = {}
        for col in self._sorted_columns():
            for name, shape, _ in col._tables():
                shapes[name] = shape
        tables = {}
        with np.load(path, allow_pickle=False) as data:
            for name, shape in shapes.items():
                if name not in data or data[name].shape != shape:
                    raise ValueError(f"{path}: no table {name!r} of shape {shape}")
                tables[name] = data[name].astype(np.float32)
        if not hasattr(self, "feature_names_in_"):
            keys = dict.fromkeys(k for c in self._sorted_columns() for k in c.input_keys())
            self.feature_names_in_ = np.array(list(keys), dtype=object)
            self.n_features_in_ = len(keys)
        self.embedding_weights_ = tables
        return self

    def get_config(self):
        """The layer's parameters as JSON-compatible data (columns included)."""
        from ._config import to_config

        return {k: to_config(v) for k, v in super().get_params(deep=False).items()}

    @classmethod
    def from_config(cls, config):
        """A new (unfitted) layer from :meth:`get_config` output."""
        from ._config import from_config

        return cls(**{k: from_config(v) for k, v in config.items()})


def _check_leaves(col, key, value):
    """Ask each column in the tree that reads ``key`` to check its dtype."""
    stack = [col]
    while stack:
        c = stack.pop()
        if key in c.input_keys():
            c._check_input(key, value)
        for attr in ("categorical_column", "source_column"):
            child = getattr(c, attr, None)
            if isinstance(child, FeatureColumn):
                stack.append(child)
        for child in getattr(c, "keys", None) or []:
            if isinstance(child, FeatureColumn):
                stack.append(child)


class DenseFeatures(TransformerMixin, _ColumnsLayer):
    """Dense float32 features from TF-style feature columns (``tf_keras.layers.DenseFeatures``).

    Columns are concatenated in order of their **name**, as TensorFlow does, and every
    value equals TensorFlow's output bit for bit (embedding mean / sqrtn within a few ulp).

    Parameters
    ----------
    columns : list of dense columns
        numeric, bucketized, indicator, embedding or shared-embedding columns.
    sparse_output : bool, default=False
        Return a scipy CSR matrix (wide one-hot crosses never densify).
    random_state : int, RandomState or None, default=None
        Seeds TF's default truncated-normal initializer of embedding tables.

    Attributes
    ----------
    embedding_weights_ : dict of str -> float32 ndarray [num_buckets, dimension]
        The embedding tables, keyed by embedding column name (or shared collection name);
        read and assign them freely.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> age = fc.numeric_column("age")
    >>> city = fc.categorical_column_with_vocabulary_list("city", ["paris", "rome"])
    >>> layer = fc.DenseFeatures([fc.bucketized_column(age, [18, 65]), fc.indicator_column(city)])
    >>> X = {"age": np.array([10.0, 30.0]), "city": np.array(["rome", "oslo"])}
    >>> layer.fit_transform(X)
    array([[1., 0., 0., 0., 1.],
           [0., 1., 0., 0., 0.]], dtype=float32)
    """

    _parameter_constraints = {
        "columns": [list, tuple],
        "sparse_output": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, columns, sparse_output=False, random_state=None):
        self.columns = columns
        self.sparse_output = sparse_output
        self.random_state = random_state

    def fit(self, X, y=None):
        """Check the features' keys and dtypes and initialise the embedding tables."""
        self._validate_params()
        columns = self._fit_columns(X)
        for col in columns:
            if isinstance(col, SequenceNumericColumn) or _is_sequence(col):
                raise ValueError(f"{col.name!r} is a sequence column: use SequenceFeatures")
        return self

    def transform(self, X):
        """Float32 array [n, width] (or CSR with ``sparse_output=True``)."""
        columns, feats = self._transform_setup(X)
        tables = self.embedding_weights_
        if self.sparse_output:
            parts = [col._sparse(feats, tables) for col in columns]
            return sp.hstack(parts, format="csr", dtype=np.float32)
        widths = [col.width() for col in columns]
        out = np.zeros((_n_rows(feats), sum(widths)), dtype=np.float32)
        start = 0
        for col, width in zip(columns, widths, strict=True):
            col._dense_into(feats, tables, out[:, start : start + width])
            start += width
        return out

    def get_feature_names_out(self, input_features=None):
        """Output names: ``<column name>_<j>`` (numeric columns of width 1: the key)."""
        check_is_fitted(self, "embedding_weights_")
        return np.array(
            [f for col in self._sorted_columns() for f in col.feature_names()], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags


def _is_sequence(col):
    from ._sequence import SequenceCategoricalColumn

    return isinstance(getattr(col, "categorical_column", None), SequenceCategoricalColumn)


class SequenceFeatures(_ColumnsLayer):
    """Padded sequence features (``tf_keras.experimental.SequenceFeatures``).

    Parameters
    ----------
    columns : list of sequence columns
        sequence_numeric_column, or indicator / embedding columns of
        sequence_categorical_column_with_*.
    random_state : int, RandomState or None, default=None

    Examples
    --------
    >>> from skextras import feature_columns as fc
    >>> col = fc.sequence_numeric_column("x")
    >>> padded, lengths = fc.SequenceFeatures([col]).fit({"x": [[1.0, 2.0], [3.0]]}).transform(
    ...     {"x": [[1.0, 2.0], [3.0]]})
    >>> padded[:, :, 0], lengths
    (array([[1., 2.],
           [3., 0.]], dtype=float32), array([2, 1]))
    """

    _parameter_constraints = {"columns": [list, tuple], "random_state": ["random_state"]}

    def __init__(self, columns, random_state=None):
        self.columns = columns
        self.random_state = random_state

    def fit(self, X, y=None):
        """Check the features and initialise the embedding tables."""
        self._validate_params()
        self._fit_columns(X)
        return self

    def transform(self, X):
        """(padded float32 [n, T, width], lengths int64 [n])."""
        columns, feats = self._transform_setup(X)
        parts, lengths = [], None
        for col in columns:
            dense, lens = sequence_dense(col, feats, self.embedding_weights_)
            if lengths is not None and not np.array_equal(lengths, lens):
                raise ValueError(
                    f"sequence lengths of column {col.name!r} differ from the other columns'"
                )
            lengths = lens
            parts.append(dense)
        steps = max(p.shape[1] for p in parts)
        parts = [np.pad(p, ((0, 0), (0, steps - p.shape[1]), (0, 0))) for p in parts]
        return np.concatenate(parts, axis=2), lengths
