"""Factory functions with ``tf.feature_column``'s names, arguments and defaults."""

import numpy as np

from ._columns import (
    BucketizedColumn,
    CategoricalColumn,
    CrossedColumn,
    EmbeddingColumn,
    HashedCategoricalColumn,
    IdentityCategoricalColumn,
    IndicatorColumn,
    NumericColumn,
    SharedEmbeddingColumn,
    VocabularyFileCategoricalColumn,
    VocabularyListCategoricalColumn,
    WeightedCategoricalColumn,
)
from ._sequence import SequenceCategoricalColumn, SequenceNumericColumn


def numeric_column(key, shape=(1,), default_value=None, dtype="float32", normalizer_fn=None):
    """Real-valued feature; dense output float32 of width ``prod(shape)``.

    Parameters
    ----------
    key : str
        Feature name in ``X``.
    shape : int or tuple of int, default=(1,)
        Values per row; the input is ``[n]`` or ``[n, *shape]``.
    default_value : float, optional
        Kept for TF compatibility (TF uses it when parsing examples).
    dtype : str, default="float32"
    normalizer_fn : callable, optional
        Applied to the raw ``[n, prod(shape)]`` array before the float32 cast.

    Returns
    -------
    NumericColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> fc.DenseFeatures([fc.numeric_column("x", shape=2)]).fit_transform(
    ...     {"x": np.array([[1.0, 2.0]])})
    array([[1., 2.]], dtype=float32)

    Raises
    ------
    TypeError
        For a ``normalizer_fn`` that is not callable or a non-numeric ``default_value``.
    ValueError
        For a ``dtype`` that is not an integer or floating type (as TF's "dtype must be
        convertible to float").
    """
    if normalizer_fn is not None and not callable(normalizer_fn):
        raise TypeError(
            f"normalizer_fn must be a callable, got {type(normalizer_fn).__name__} "
            f"{normalizer_fn!r:.60}"
        )
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind not in ("i", "u", "f"):
        raise ValueError(f"dtype must be convertible to float (integer or floating), got {dtype!r}")
    if default_value is not None:
        try:
            np.asarray(default_value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"default_value must be numbers compatible with dtype {dtype!r}, got "
                f"{default_value!r:.60}"
            ) from None
    return NumericColumn(key, shape, default_value, dtype, normalizer_fn)


def bucketized_column(source_column, boundaries):
    """Bucket id = number of ``boundaries`` <= value, per element of ``source_column``.

    Parameters
    ----------
    source_column : NumericColumn
        One-dimensional numeric column; element i of its shape gets ids offset by
        ``i * (len(boundaries) + 1)``.
    boundaries : sorted list of float
        Compared as float32 (TF's op attribute): NaN and +inf land in the last bucket,
        -inf in the first.

    Returns
    -------
    BucketizedColumn
        Dense (one-hot of width ``(len(boundaries) + 1) * prod(shape)``) and categorical.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> col = fc.bucketized_column(fc.numeric_column("x"), [0.0, 1.0])
    >>> col.ids({"x": np.array([-5.0, 0.0, np.nan])}).values
    array([0, 1, 2])
    """
    column = BucketizedColumn(source_column, boundaries)
    column._edges()
    return column


def categorical_column_with_hash_bucket(key, hash_bucket_size, dtype="string"):
    """Id = Fingerprint64(UTF-8 value) mod ``hash_bucket_size``.

    Parameters
    ----------
    key : str
    hash_bucket_size : int >= 1
    dtype : {"string", "int64"}, default="string"
        Integer features are hashed as their decimal text, as TF does.

    Returns
    -------
    HashedCategoricalColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> col = fc.categorical_column_with_hash_bucket("city", 10)
    >>> col.ids({"city": np.array(["paris", "roma", "paris"], dtype=object)}).values
    array([7, 5, 7])
    """
    column = HashedCategoricalColumn(key, hash_bucket_size, dtype)
    column._n_buckets()
    return column


def categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0
):
    """Id = position of the value in ``vocabulary_list``.

    Parameters
    ----------
    key : str
    vocabulary_list : list of str or int
        Unique entries.
    dtype : str, optional
    default_value : int, default=-1
        Id of values not in the vocabulary (-1: ignored by indicator and embedding).
    num_oov_buckets : int, default=0
        If > 0, unknown values get ``len(vocabulary_list) + Fingerprint64(value) mod
        num_oov_buckets`` instead (cannot be combined with ``default_value``).

    Returns
    -------
    VocabularyListCategoricalColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> col = fc.categorical_column_with_vocabulary_list("s", ["a", "b"], num_oov_buckets=1)
    >>> col.ids({"s": np.array([["b", ""], ["zz", "a"]], dtype=object)}).values
    array([1, 2, 0])
    """
    return VocabularyListCategoricalColumn(
        key, vocabulary_list, dtype, default_value, num_oov_buckets
    )


def categorical_column_with_vocabulary_file(
    key,
    vocabulary_file,
    vocabulary_size=None,
    dtype="string",
    default_value=None,
    num_oov_buckets=0,
):
    """As the list version, vocabulary read from a UTF-8 file (one entry per line);
    ``vocabulary_size`` keeps the first lines only.

    Parameters
    ----------
    key : str
    vocabulary_file : str or path-like
        UTF-8 text, one vocabulary entry per line; the line number is the id.
    vocabulary_size : int, optional
        Use only the first ``vocabulary_size`` lines (all lines by default).
    dtype : {"string", "int64"}, default="string"
    default_value : int, optional
        Id of out-of-vocabulary values when ``num_oov_buckets == 0`` (default -1: dropped).
    num_oov_buckets : int, default=0
        Out-of-vocabulary values hash into this many extra ids after the vocabulary.

    Returns
    -------
    VocabularyFileCategoricalColumn

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("fr\\nit\\nde\\n")
    >>> col = fc.categorical_column_with_vocabulary_file("country", path, num_oov_buckets=1)
    >>> col.ids({"country": np.array(["it", "es", "fr"], dtype=object)}).values
    array([1, 3, 0])
    """
    return VocabularyFileCategoricalColumn(
        key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets
    )


def categorical_column_with_identity(key, num_buckets, default_value=None):
    """Integer values used as ids directly.

    Parameters
    ----------
    key : str
    num_buckets : int >= 1
    default_value : int, optional
        Id of values outside ``[0, num_buckets)``; without it they keep their value (TF):
        indicator columns ignore them and embedding columns raise.

    Returns
    -------
    IdentityCategoricalColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> weekday = fc.categorical_column_with_identity("weekday", 7)
    >>> layer = fc.DenseFeatures([fc.indicator_column(weekday)])
    >>> layer.fit_transform({"weekday": np.array([0, 6])})
    array([[1., 0., 0., 0., 0., 0., 0.],
           [0., 0., 0., 0., 0., 0., 1.]], dtype=float32)
    """
    return IdentityCategoricalColumn(key, num_buckets, default_value)


def crossed_column(keys, hash_bucket_size, hash_key=None):
    """Hashed Cartesian product of raw features and categorical columns.

    Parameters
    ----------
    keys : list of str or categorical columns (not hashed or weighted), length >= 2
        Raw string / integer features are crossed as given (dense ``''`` and ``-1``
        included); categorical columns contribute their ids. Nested crosses are flattened.
    hash_bucket_size : int >= 1
    hash_key : int, optional
        Seed of the FingerprintCat64 fold, default 0xDECAFCAFFE as TF.

    Returns
    -------
    CrossedColumn
        Named by the sorted leaf names joined with ``_X_``.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> cross = fc.crossed_column(["a", "b"], 100)
    >>> X = {"a": np.array(["x", "y"], dtype=object), "b": np.array(["u", "v"], dtype=object)}
    >>> cross.name, cross.ids(X).values
    ('a_X_b', array([89, 34]))
    """
    column = CrossedColumn(keys, hash_bucket_size, hash_key)
    column._validate()
    return column


def weighted_categorical_column(categorical_column, weight_feature_key, dtype="float32"):
    """Attach the float weights feature ``weight_feature_key`` to each id.

    Parameters
    ----------
    categorical_column : categorical column
    weight_feature_key : str
        Float feature shaped like the values (dense: zeros are dropped and the rest
        paired with the ids in order, as TF).
    dtype : str, default="float32"

    Returns
    -------
    WeightedCategoricalColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> words = fc.categorical_column_with_vocabulary_list("w", ["a", "b", "c"])
    >>> weighted = fc.weighted_categorical_column(words, "w_weight")
    >>> X = {"w": np.array([["a", "c"]], dtype=object), "w_weight": np.array([[0.5, 2.0]])}
    >>> fc.DenseFeatures([fc.indicator_column(weighted)]).fit_transform(X)
    array([[0.5, 0. , 2. ]], dtype=float32)
    """
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dtype)


def indicator_column(categorical_column):
    """Multi-hot of width ``num_buckets``: counts, or summed weights if weighted.

    Parameters
    ----------
    categorical_column : categorical column

    Returns
    -------
    IndicatorColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> words = fc.categorical_column_with_vocabulary_list("w", ["a", "b", "c"])
    >>> X = {"w": np.array([["a", "c"], ["b", "b"]], dtype=object)}
    >>> fc.DenseFeatures([fc.indicator_column(words)]).fit_transform(X)
    array([[1., 0., 1.],
           [0., 2., 0.]], dtype=float32)
    """
    return IndicatorColumn(categorical_column)


def embedding_column(
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
    """Combine the rows of a ``[num_buckets, dimension]`` table picked by the ids.

    Parameters
    ----------
    categorical_column : categorical column
    dimension : int >= 1
    combiner : {"mean", "sum", "sqrtn"}, default="mean"
        sum(w e), sum(w e) / sum(w), sum(w e) / sqrt(sum(w^2)); empty rows give zeros.
    initializer : array, callable or None
        An array ``[num_buckets, dimension]``, a callable ``(shape, dtype) -> array``, or
        None for TF's truncated normal with stddev 1/sqrt(dimension) (seeded by the
        layer's ``random_state``).
    ckpt_to_load_from, tensor_name_in_ckpt : None
        Not supported; pass the checkpoint's array as ``initializer``.
    max_norm : float, optional
        Each looked-up row is clipped to this L2 norm before combining.
    trainable, use_safe_embedding_lookup : bool
        Kept for TF compatibility.

    Returns
    -------
    EmbeddingColumn
        Its table is ``DenseFeatures.embedding_weights_["<name>_embedding"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> words = fc.categorical_column_with_vocabulary_list("w", ["a", "b", "c"])
    >>> table = np.arange(6.0).reshape(3, 2)
    >>> emb = fc.embedding_column(words, 2, combiner="sum", initializer=table)
    >>> X = {"w": np.array([["a", "c"], ["b", ""]], dtype=object)}
    >>> fc.DenseFeatures([emb]).fit_transform(X)
    array([[4., 6.],
           [2., 3.]], dtype=float32)
    """
    if not isinstance(categorical_column, CategoricalColumn):
        raise ValueError(
            f"categorical_column must be a categorical column, got {categorical_column!r}"
        )
    return EmbeddingColumn(
        categorical_column,
        dimension,
        combiner,
        initializer,
        ckpt_to_load_from,
        tensor_name_in_ckpt,
        max_norm,
        trainable,
        use_safe_embedding_lookup,
    )


def shared_embeddings(
    categorical_columns,
    dimension,
    combiner="mean",
    initializer=None,
    shared_embedding_collection_name=None,
    ckpt_to_load_from=None,
    tensor_name_in_ckpt=None,
    max_norm=None,
    trainable=True,
    use_safe_embedding_lookup=True,
):
    """Embedding columns that share one table; returns a list in the order given.

    Parameters
    ----------
    categorical_columns : list of categorical columns
        All with the same number of buckets.
    dimension, combiner, initializer, max_norm, trainable, use_safe_embedding_lookup
        As in :func:`embedding_column`.
    shared_embedding_collection_name : str, optional
        Key of the shared table in ``DenseFeatures.embedding_weights_``; default the sorted
        column names joined by ``_`` and suffixed ``_shared_embedding``, as TF.
    ckpt_to_load_from, tensor_name_in_ckpt : None
        Not supported; pass the checkpoint's array as ``initializer``.

    Returns
    -------
    list of SharedEmbeddingColumn

    Examples
    --------
    >>> import numpy as np
    >>> from skextras import feature_columns as fc
    >>> a = fc.categorical_column_with_identity("a", 3)
    >>> b = fc.categorical_column_with_identity("b", 3)
    >>> columns = fc.shared_embeddings([a, b], 2, initializer=np.arange(6.0).reshape(3, 2))
    >>> layer = fc.DenseFeatures(columns)
    >>> layer.fit_transform({"a": np.array([0, 1]), "b": np.array([2, 2])})
    array([[0., 1., 4., 5.],
           [2., 3., 4., 5.]], dtype=float32)
    >>> sorted(layer.embedding_weights_)
    ['a_b_shared_embedding']
    """
    if ckpt_to_load_from is not None:
        raise ValueError("ckpt_to_load_from is not supported: pass the array as initializer")
    columns = list(categorical_columns)
    sizes = {c._n_buckets() for c in columns}
    if len(sizes) != 1:
        raise ValueError(
            "To use shared_embeddings, all categorical_columns must have the same number of "
            f"buckets, got {sorted(sizes)}"
        )
    if shared_embedding_collection_name is None:
        names = sorted(c.name for c in columns)
        shared_embedding_collection_name = "_".join(names) + "_shared_embedding"
    return [
        SharedEmbeddingColumn(
            c,
            dimension,
            shared_embedding_collection_name,
            combiner,
            initializer,
            max_norm,
            trainable,
            use_safe_embedding_lookup,
        )
        for c in columns
    ]


def sequence_numeric_column(
    key, shape=(1,), default_value=0.0, dtype="float32", normalizer_fn=None
):
    """Numeric values per timestep; padded with ``default_value`` by SequenceFeatures.

    Parameters
    ----------
    key : str
    shape : tuple of int, default=(1,)
        Shape of the value at one timestep.
    default_value : float, default=0.0
        Padding of the timesteps past a sequence's end.
    dtype : str, default="float32"
    normalizer_fn : callable, optional
        Applied to the values, as in :func:`numeric_column`.

    Returns
    -------
    SequenceNumericColumn

    Examples
    --------
    >>> from skextras import feature_columns as fc
    >>> col = fc.sequence_numeric_column("x", default_value=-1.0)
    >>> X = {"x": [[1.0, 2.0, 3.0], [4.0]]}
    >>> padded, lengths = fc.SequenceFeatures([col]).fit(X).transform(X)
    >>> padded[:, :, 0], lengths
    (array([[ 1.,  2.,  3.],
           [ 4., -1., -1.]], dtype=float32), array([3, 1]))
    """
    return SequenceNumericColumn(key, shape, default_value, dtype, normalizer_fn)


def sequence_categorical_column_with_identity(key, num_buckets, default_value=None):
    """Identity ids per timestep (wrap in indicator_column or embedding_column).

    Parameters
    ----------
    key, num_buckets, default_value
        As in :func:`categorical_column_with_identity`.

    Returns
    -------
    SequenceCategoricalColumn

    Examples
    --------
    >>> from skextras import feature_columns as fc
    >>> col = fc.sequence_categorical_column_with_identity("ids", 3)
    >>> X = {"ids": [[0, 2], [1]]}
    >>> layer = fc.SequenceFeatures([fc.indicator_column(col)]).fit(X)
    >>> padded, lengths = layer.transform(X)
    >>> padded[0], lengths
    (array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32), array([2, 1]))
    """
    return SequenceCategoricalColumn(
        categorical_column_with_identity(key, num_buckets, default_value)
    )


def sequence_categorical_column_with_hash_bucket(key, hash_bucket_size, dtype="string"):
    """Hashed ids per timestep (wrap in indicator_column or embedding_column).

    Parameters
    ----------
    key, hash_bucket_size, dtype
        As in :func:`categorical_column_with_hash_bucket`.

    Returns
    -------
    SequenceCategoricalColumn

    Examples
    --------
    >>> from skextras import feature_columns as fc
    >>> col = fc.sequence_categorical_column_with_hash_bucket("tokens", 10)
    >>> X = {"tokens": [["paris", "roma"], ["paris"]]}
    >>> emb = fc.embedding_column(col, 4)
    >>> padded, lengths = fc.SequenceFeatures([emb], random_state=0).fit(X).transform(X)
    >>> padded.shape, lengths
    ((2, 2, 4), array([2, 1]))
    """
    return SequenceCategoricalColumn(
        categorical_column_with_hash_bucket(key, hash_bucket_size, dtype)
    )


def sequence_categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0
):
    """Vocabulary ids per timestep (wrap in indicator_column or embedding_column).

    Parameters
    ----------
    key, vocabulary_list, dtype, default_value, num_oov_buckets
        As in :func:`categorical_column_with_vocabulary_list`.

    Returns
    -------
    SequenceCategoricalColumn

    Examples
    --------
    >>> from skextras import feature_columns as fc
    >>> col = fc.sequence_categorical_column_with_vocabulary_list("w", ["a", "b"])
    >>> X = {"w": [["b", "a", "a"], ["a"]]}
    >>> padded, lengths = fc.SequenceFeatures([fc.indicator_column(col)]).fit(X).transform(X)
    >>> padded[0], lengths
    (array([[0., 1.],
           [1., 0.],
           [1., 0.]], dtype=float32), array([3, 1]))
    """
    return SequenceCategoricalColumn(
        categorical_column_with_vocabulary_list(
            key, vocabulary_list, dtype, default_value, num_oov_buckets
        )
    )


def sequence_categorical_column_with_vocabulary_file(
    key,
    vocabulary_file,
    vocabulary_size=None,
    num_oov_buckets=0,
    default_value=None,
    dtype="string",
):
    """Vocabulary-file ids per timestep (wrap in indicator_column or embedding_column).

    Parameters
    ----------
    key, vocabulary_file, vocabulary_size, num_oov_buckets, default_value, dtype
        As in :func:`categorical_column_with_vocabulary_file`.

    Returns
    -------
    SequenceCategoricalColumn

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras import feature_columns as fc
    >>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a\\nb\\n")
    >>> col = fc.sequence_categorical_column_with_vocabulary_file("w", path)
    >>> X = {"w": [["b", "a"], ["a"]]}
    >>> padded, lengths = fc.SequenceFeatures([fc.indicator_column(col)]).fit(X).transform(X)
    >>> padded[1], lengths
    (array([[1., 0.],
           [0., 0.]], dtype=float32), array([2, 1]))
    """
    return SequenceCategoricalColumn(
        categorical_column_with_vocabulary_file(
            key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets
        )
    )
