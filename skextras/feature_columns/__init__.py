"""TensorFlow-exact feature columns as scikit-learn transformers.

The functions carry ``tf.feature_column``'s names, arguments and defaults; ``DenseFeatures``
and ``SequenceFeatures`` play ``tf_keras.layers.DenseFeatures`` and
``tf_keras.experimental.SequenceFeatures``. See ``docs/feature_columns.md``.

The names are imported on first use (see ``skextras/_lazy.py``): importing this package
does not compile or load any numba kernel.
"""

from skextras._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "bucketized_column": "_api",
        "categorical_column_with_hash_bucket": "_api",
        "categorical_column_with_identity": "_api",
        "categorical_column_with_vocabulary_file": "_api",
        "categorical_column_with_vocabulary_list": "_api",
        "crossed_column": "_api",
        "embedding_column": "_api",
        "indicator_column": "_api",
        "numeric_column": "_api",
        "sequence_categorical_column_with_hash_bucket": "_api",
        "sequence_categorical_column_with_identity": "_api",
        "sequence_categorical_column_with_vocabulary_file": "_api",
        "sequence_categorical_column_with_vocabulary_list": "_api",
        "sequence_numeric_column": "_api",
        "shared_embeddings": "_api",
        "weighted_categorical_column": "_api",
        "SparseIds": "_columns",
        "fingerprint64": "_inputs",
        "DenseFeatures": "_layers",
        "SequenceFeatures": "_layers",
    },
)
