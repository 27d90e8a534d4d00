"""Write ``_spec``'s examples with skextras' own writer, for TensorFlow to read back.

Run with the project's Python (``PYTHONPATH=$PWD python tests/reference/...``) before
``make_tf_fixtures.py``, which records what TF parsed into ``tf_read_ours.json``.
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _spec  # noqa: E402

from skextras.io import make_example, make_sequence_example, write_tfrecord  # noqa: E402

OUT = HERE.parent / "data" / "feature_columns"
_DTYPES = {"bytes": object, "float": np.float32, "int64": np.int64}


def typed(value):
    """A spec value {"bytes"|"float"|"int64": list} as a typed numpy array."""
    ((kind, values),) = value.items()
    return np.array(values, dtype=_DTYPES[kind])


def example_bytes():
    return [make_example({k: typed(v) for k, v in ex.items()}) for ex in _spec.EXAMPLES]


def sequence_example_bytes():
    return [
        make_sequence_example(
            {k: typed(v) for k, v in ex["context"].items()},
            {k: [typed(s) for s in steps] for k, steps in ex["feature_lists"].items()},
        )
        for ex in _spec.SEQUENCE_EXAMPLES
    ]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    records = example_bytes()
    for comp, suffix in [(None, ""), ("GZIP", ".gz"), ("ZLIB", ".zlib")]:
        write_tfrecord(OUT / f"ours_examples.tfrecord{suffix}", records, comp)
    write_tfrecord(OUT / "ours_sequence_examples.tfrecord", sequence_example_bytes())


if __name__ == "__main__":
    main()
