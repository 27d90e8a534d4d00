"""Factory functions with ``tf.feature_column``'s names, arguments and defaults."""

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
    """Real-valued feature; output float32 of width ``prod(shape)``.

    ``normalizer_fn`` maps the raw array (before the float32 cast) to an array.
    """
    return NumericColumn(key, shape, default_value, dtype, normalizer_fn)


def bucketized_column(source_column, boundaries):
    """Bucket id = number of ``boundaries`` <= value, per element of ``source_column``.

    Boundaries are compared as float32 (TF's op attribute); NaN and +inf land in the last
    bucket, -inf in the first.
    """
    return BucketizedColumn(source_column, boundaries)


def categorical_column_with_hash_bucket(key, hash_bucket_size, dtype="string"):
    """Id = Fingerprint64(value) mod ``hash_bucket_size``; integers hash as decimal text."""
    return HashedCategoricalColumn(key, hash_bucket_size, dtype)


def categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0
):
    """Id = position in ``vocabulary_list``; unknown values get ``default_value`` or, with
    ``num_oov_buckets``, len(vocabulary) + Fingerprint64(value) mod num_oov_buckets."""
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
    ``vocabulary_size`` keeps the first lines only."""
    return VocabularyFileCategoricalColumn(
        key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets
    )


def categorical_column_with_identity(key, num_buckets, default_value=None):
    """Integer values are the ids; out-of-range values get ``default_value`` if given."""
    return IdentityCategoricalColumn(key, num_buckets, default_value)


def crossed_column(keys, hash_bucket_size, hash_key=None):
    """Hashed Cartesian product of raw keys and categorical columns (FingerprintCat64)."""
    return CrossedColumn(keys, hash_bucket_size, hash_key)


def weighted_categorical_column(categorical_column, weight_feature_key, dtype="float32"):
    """Attach the float weights feature ``weight_feature_key`` to each id."""
    return WeightedCategoricalColumn(categorical_column, weight_feature_key, dtype)


def indicator_column(categorical_column):
    """Multi-hot of width ``num_buckets``: counts, or summed weights if weighted."""
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
    """Combine (sum / mean / sqrtn) rows of a ``[num_buckets, dimension]`` table.

    ``initializer`` is an array of that shape, a callable ``(shape, dtype) -> array``, or
    None for TF's truncated normal with stddev 1/sqrt(dimension) (seeded by the layer's
    ``random_state``).
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
    """Embedding columns that share one table; returns a list in the order given."""
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
    """Numeric values per timestep; padded with ``default_value`` by SequenceFeatures."""
    return SequenceNumericColumn(key, shape, default_value, dtype, normalizer_fn)


def sequence_categorical_column_with_identity(key, num_buckets, default_value=None):
    """Identity ids per timestep (wrap in indicator_column or embedding_column)."""
    return SequenceCategoricalColumn(
        categorical_column_with_identity(key, num_buckets, default_value)
    )


def sequence_categorical_column_with_hash_bucket(key, hash_bucket_size, dtype="string"):
    """Hashed ids per timestep."""
    return SequenceCategoricalColumn(
        categorical_column_with_hash_bucket(key, hash_bucket_size, dtype)
    )


def sequence_categorical_column_with_vocabulary_list(
    key, vocabulary_list, dtype=None, default_value=-1, num_oov_buckets=0
):
    """Vocabulary ids per timestep."""
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
    """Vocabulary-file ids per timestep."""
    return SequenceCategoricalColumn(
        categorical_column_with_vocabulary_file(
            key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets
        )
    )
