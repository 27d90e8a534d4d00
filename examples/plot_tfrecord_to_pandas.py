"""
TFRecord to pandas and back
===========================

:func:`~skextras.io.write_examples` writes a DataFrame as a TFRecord file of
``tf.train.Example`` (one per row, GZIP here), and
:func:`~skextras.io.read_examples_to_frame` reads it back: scalar features become scalar
columns, list-valued features columns of arrays, an absent feature None. No TensorFlow or
protobuf is needed; the bytes are TensorFlow's.
"""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from skextras.io import (
    make_example,
    parse_example,
    read_examples_to_frame,
    read_tfrecord,
    write_examples,
)

frame = pd.DataFrame(
    {
        "user": ["ana", "bo", "cy", "dee"],
        "age": [31, 45, 27, 60],
        "score": np.array([0.5, 0.25, 0.75, 1.0], dtype=np.float32),
        "clicks": [[1, 2, 3], [], [7], None],  # list-valued; None = feature absent
    }
)
folder = Path(tempfile.mkdtemp())
path = folder / "users.tfrecord.gz"
n = write_examples(path, frame, compression="GZIP")
print(f"wrote {n} examples, {path.stat().st_size} bytes")

back = read_examples_to_frame(path, compression="auto")
print(back)

# %%
# Each record is a serialized ``tf.train.Example``; ``parse_example`` decodes one record into
# ``{feature: (kind, values)}`` and ``make_example`` encodes it back to the same bytes.
first = next(iter(read_tfrecord(path, compression="GZIP")))
features = parse_example(first)
print(features)
print("re-encoded bytes equal:", make_example(features) == first)
