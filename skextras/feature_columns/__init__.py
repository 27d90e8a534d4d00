"""TensorFlow-exact feature columns as scikit-learn transformers.

The functions carry ``tf.feature_column``'s names, arguments and defaults; ``DenseFeatures``
and ``SequenceFeatures`` play ``tf_keras.layers.DenseFeatures`` and
``tf_keras.experimental.SequenceFeatures``. See ``docs/feature_columns.md``.
"""

from ._api import (
    bucketized_column,
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
    crossed_column,
    embedding_column,
    indicator_column,
    numeric_column,
    sequence_categorical_column_with_hash_bucket,
    sequence_categorical_column_with_identity,
    sequence_categorical_column_with_vocabulary_file,
    sequence_categorical_column_with_vocabulary_list,
    sequence_numeric_column,
    shared_embeddings,
    weighted_categorical_column,
)
from ._columns import SparseIds
from ._inputs import fingerprint64
from ._layers import DenseFeatures, SequenceFeatures

__all__ = [
    "DenseFeatures",
    "SequenceFeatures",
    "SparseIds",
    "bucketized_column",
    "categorical_column_with_hash_bucket",
    "categorical_column_with_identity",
    "categorical_column_with_vocabulary_file",
    "categorical_column_with_vocabulary_list",
    "crossed_column",
    "embedding_column",
    "fingerprint64",
    "indicator_column",
    "numeric_column",
    "sequence_categorical_column_with_hash_bucket",
    "sequence_categorical_column_with_identity",
    "sequence_categorical_column_with_vocabulary_file",
    "sequence_categorical_column_with_vocabulary_list",
    "sequence_numeric_column",
    "shared_embeddings",
    "weighted_categorical_column",
]
