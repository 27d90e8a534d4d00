"""Cases shared by the TF fixture script and the tests: column specs, inputs, TFRecord content.

A column spec is ``{"fn": name, "args": [...], "kwargs": {...}}``; an argument that is a spec
(or a list of specs) is built first; ``{"array": ...}`` is an embedding initializer array,
``{"normalizer": name}`` a normalizer_fn, ``{"file": name}`` a file in the fixture folder.
Features: ``{key: {"dtype": ..., "values": nested lists, "ragged": bool}}``.
Imports neither tensorflow nor skextras, so both sides can use it.
"""

import math

NORMALIZERS = {"times2_minus1": lambda x: x * 2.0 - 1.0}

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
INF, NAN = math.inf, math.nan


def build(spec, api, make_array, base_dir):
    """Build a column (or list of columns) from ``spec`` with ``api`` (a feature_column module)."""
    if isinstance(spec, list):
        return [build(s, api, make_array, base_dir) for s in spec]
    if not isinstance(spec, dict):
        return spec
    if "array" in spec:
        return make_array(spec["array"])
    if "normalizer" in spec:
        return NORMALIZERS[spec["normalizer"]]
    if "file" in spec:
        return str(base_dir / spec["file"])
    if "fn" not in spec:
        return spec
    args = [build(a, api, make_array, base_dir) for a in spec.get("args", [])]
    kwargs = {k: build(v, api, make_array, base_dir) for k, v in spec.get("kwargs", {}).items()}
    return getattr(api, spec["fn"])(*args, **kwargs)


def col(fn, *args, **kwargs):
    return {"fn": fn, "args": list(args), "kwargs": kwargs}


def feat(dtype, values, ragged=False):
    return {"dtype": dtype, "values": values, "ragged": ragged}


def table(rows, dim, scale=0.37):
    """A deterministic, irregular embedding table (no rounding ties)."""
    return {
        "array": [
            [round(math.sin(1.3 * r + 0.7 * d + 0.1) * scale * (1 + d), 6) for d in range(dim)]
            for r in range(rows)
        ]
    }


TEXT = ["apple", "", "é", "中文", "😀", "banana", "apple", "zzz"]
TEXT2D = [["apple", "pear"], ["", "é"], ["中文", ""], ["", ""], ["😀", "😀"], ["x", "apple"]]
TEXT_RAGGED = [["apple", "pear", "kiwi"], [], ["é"], ["中文", "apple"], ["", "x"], ["apple"]]
INTS = [0, 1, -1, 7, I64_MAX, I64_MIN, 123456789, 42]
INTS2D = [[3, -1], [-1, -1], [0, 9], [I64_MAX, 2], [5, 5], [1, -1]]
EDGE_FLOATS = [NAN, -INF, INF, 0.0, 1.0, 2.5, -0.0, 0.99999999, 1.0000000001, 2.4999999, 1e30]
VOCAB = ["apple", "pear", "é", "中文", "x"]
STR_COLS = {"s": feat("string", TEXT)}
STR2D = {"s2": feat("string", TEXT2D)}
RAG = {"r": feat("string", TEXT_RAGGED, ragged=True)}

_num = col("numeric_column", "f")
_hash_s2 = col("categorical_column_with_hash_bucket", "s2", 13)
_vocab_s2 = col("categorical_column_with_vocabulary_list", "s2", VOCAB, num_oov_buckets=3)
_vocab_r = col("categorical_column_with_vocabulary_list", "r", VOCAB, num_oov_buckets=2)
_ident = col("categorical_column_with_identity", "i2", 10)
_weighted = col(
    "weighted_categorical_column",
    col("categorical_column_with_vocabulary_list", "s2", VOCAB, default_value=0),
    "w2",
)
W2 = [[0.5, 2.0], [0.0, 1.5], [3.0, 0.0], [0.0, 0.0], [0.25, 0.75], [1.0, -2.0]]


def _dense_cases():
    cases = [
        ("numeric_float64_edges", [_num], {"f": feat("float64", EDGE_FLOATS)}),
        ("numeric_int64_extremes", [_num], {"f": feat("int64", INTS)}),
        (
            "numeric_shape2_normalizer",
            [col("numeric_column", "g", shape=[2], normalizer_fn={"normalizer": "times2_minus1"})],
            {"g": feat("float32", [[0.1, 0.2], [NAN, INF], [-1.5, 3.25]])},
        ),
        (
            "bucketized_edges",
            [col("bucketized_column", _num, [0.0, 1.0, 2.5])],
            {"f": feat("float64", EDGE_FLOATS)},
        ),
        (
            "bucketized_shape2",
            [col("bucketized_column", col("numeric_column", "g", shape=[2]), [-1.0, 0.5])],
            {"g": feat("float32", [[0.1, 0.5], [NAN, -INF], [-1.0, 3.25]])},
        ),
    ]
    for name, key, feats in [("str", "s", STR_COLS), ("int", "n", {"n": feat("int64", INTS)})]:
        kwargs = {"dtype": "int64"} if name == "int" else {}
        hashed = col("categorical_column_with_hash_bucket", key, 10007, **kwargs)
        cases.append((f"hash_{name}_indicator", [col("indicator_column", hashed)], feats))
    cases += [
        ("hash_padded_indicator", [col("indicator_column", _hash_s2)], STR2D),
        (
            "hash_ragged_indicator",
            [col("indicator_column", col("categorical_column_with_hash_bucket", "r", 7))],
            RAG,
        ),
        ("vocab_oov_indicator", [col("indicator_column", _vocab_s2)], STR2D),
        (
            "vocab_default_indicator",
            [
                col(
                    "indicator_column",
                    col("categorical_column_with_vocabulary_list", "s", VOCAB, default_value=2),
                )
            ],
            STR_COLS,
        ),
        (
            "vocab_int_indicator",
            [
                col(
                    "indicator_column",
                    col(
                        "categorical_column_with_vocabulary_list",
                        "n",
                        [7, 0, I64_MAX, 42],
                        dtype="int64",
                        num_oov_buckets=2,
                    ),
                )
            ],
            {"n": feat("int64", INTS)},
        ),
        (
            "vocab_file_indicator",
            [
                col(
                    "indicator_column",
                    col(
                        "categorical_column_with_vocabulary_file",
                        "s2",
                        {"file": "vocab.txt"},
                        vocabulary_size=4,
                        num_oov_buckets=2,
                    ),
                )
            ],
            STR2D,
        ),
        (
            "identity_default_indicator",
            [
                col(
                    "indicator_column",
                    col("categorical_column_with_identity", "i2", 10, default_value=0),
                )
            ],
            {"i2": feat("int64", INTS2D)},
        ),
        ("identity_indicator", [col("indicator_column", _ident)], {"i2": feat("int64", INTS2D)}),
        (
            "cross2_raw_indicator",
            [col("indicator_column", col("crossed_column", ["s2", "i2"], 50))],
            {**STR2D, "i2": feat("int64", INTS2D)},
        ),
        (
            "cross2_hashkey_indicator",
            [col("indicator_column", col("crossed_column", ["s2", "i2"], 50, hash_key=12345))],
            {**STR2D, "i2": feat("int64", INTS2D)},
        ),
        (
            "cross3_mixed_indicator",
            [
                col(
                    "indicator_column",
                    col(
                        "crossed_column",
                        [
                            "s2",
                            col("bucketized_column", col("numeric_column", "g2"), [0.0]),
                            _vocab_r,
                        ],
                        97,
                    ),
                )
            ],
            {**STR2D, **RAG, "g2": feat("float32", [-1.0, 2.0, 0.0, NAN, 5.0, -3.0])},
        ),
        (
            "cross3_hashkey_embedding",
            [
                col(
                    "embedding_column",
                    col("crossed_column", ["s2", "i2", _ident], 31, hash_key=7),
                    3,
                    combiner="sum",
                    initializer=table(31, 3),
                )
            ],
            {**STR2D, "i2": feat("int64", INTS2D)},
        ),
        (
            "weighted_indicator",
            [col("indicator_column", _weighted)],
            {**STR2D, "w2": feat("float32", W2)},
        ),
    ]
    shifted = {
        "i2": feat("int64", [[1, 2], [3, -1], [4, 0]]),
        "w2": feat("float32", [[0.0, 2.0], [1.0, 5.0], [0.5, 0.25]]),
    }
    weighted_id = col(
        "weighted_categorical_column", col("categorical_column_with_identity", "i2", 5), "w2"
    )
    cases += [
        ("weighted_zero_weight_shifts_indicator", [col("indicator_column", weighted_id)], shifted),
        (
            "weighted_zero_weight_shifts_embedding",
            [col("embedding_column", weighted_id, 2, combiner="sum", initializer=table(5, 2))],
            shifted,
        ),
    ]
    for comb in ("sum", "mean", "sqrtn"):
        cases += [
            (
                f"embedding_{comb}_padded",
                [col("embedding_column", _vocab_s2, 4, combiner=comb, initializer=table(8, 4))],
                STR2D,
            ),
            (
                f"embedding_{comb}_ragged_maxnorm",
                [
                    col(
                        "embedding_column",
                        _vocab_r,
                        3,
                        combiner=comb,
                        initializer=table(7, 3, scale=2.0),
                        max_norm=0.8,
                    )
                ],
                RAG,
            ),
            (
                f"embedding_{comb}_weighted",
                [col("embedding_column", _weighted, 3, combiner=comb, initializer=table(5, 3))],
                {**STR2D, "w2": feat("float32", W2)},
            ),
        ]
    bucket_g2 = col("bucketized_column", col("numeric_column", "g2"), [-1.0, 0.0, 3.0])
    g2 = {"g2": feat("float32", [-1.0, 2.0, 0.0, NAN, 5.0, -3.0])}
    cases += [
        (
            "bucketized_categorical_embedding",
            [col("embedding_column", bucket_g2, 2, combiner="sum", initializer=table(4, 2))],
            g2,
        ),
        (
            "cross_nested_indicator",
            [
                col(
                    "indicator_column",
                    col("crossed_column", [col("crossed_column", ["s2", "i2"], 5), bucket_g2], 23),
                )
            ],
            {**STR2D, **g2, "i2": feat("int64", INTS2D)},
        ),
    ]
    cases += [
        (
            "shared_embeddings_mean",
            [
                col(
                    "shared_embeddings",
                    [
                        _vocab_s2,
                        col(
                            "categorical_column_with_vocabulary_list", "r", VOCAB, num_oov_buckets=3
                        ),
                    ],
                    2,
                    initializer=table(8, 2),
                )
            ],
            {**STR2D, **RAG},
        ),
        (
            "several_columns",
            [
                col("indicator_column", _ident),
                _num,
                col("embedding_column", _hash_s2, 2, combiner="sqrtn", initializer=table(13, 2)),
                col("bucketized_column", col("numeric_column", "g2"), [-1.0, 0.0, 3.0]),
                col("indicator_column", col("crossed_column", ["s2", "i2"], 11)),
            ],
            {
                **STR2D,
                "i2": feat("int64", INTS2D),
                "f": feat("float64", [0.5, NAN, -INF, 2.0, 1e-40, -7.25]),
                "g2": feat("float32", [-1.0, 2.0, 0.0, NAN, 5.0, -3.0]),
            },
        ),
    ]
    return [{"name": n, "columns": c, "features": f, "layer": "dense"} for n, c, f in cases]


def _ids_cases():
    specs = {
        "hash": (_hash_s2, STR2D),
        "hash_int": (
            col("categorical_column_with_hash_bucket", "n", 100, dtype="int64"),
            {"n": feat("int64", INTS)},
        ),
        "vocab": (_vocab_s2, STR2D),
        "vocab_ragged": (_vocab_r, RAG),
        "identity": (_ident, {"i2": feat("int64", INTS2D)}),
        "bucketized": (
            col("bucketized_column", col("numeric_column", "g", shape=[2]), [0.5]),
            {"g": feat("float32", [[0.1, 0.5], [NAN, -INF], [-1.0, 3.25]])},
        ),
        "cross": (col("crossed_column", ["s2", _vocab_r], 1000), {**STR2D, **RAG}),
        "weighted": (_weighted, {**STR2D, "w2": feat("float32", W2)}),
    }
    return [
        {"name": f"ids_{n}", "columns": [c], "features": f, "layer": "ids"}
        for n, (c, f) in specs.items()
    ]


SEQ_INTS = [[1, 3, 2], [], [4], [0, 0]]
SEQ_TEXT = [["a", "b"], [], ["é"], ["a", "zz"]]


def _sequence_cases():
    seq_id = col("sequence_categorical_column_with_identity", "q", 5)
    seq_hash = col("sequence_categorical_column_with_hash_bucket", "t", 6)
    seq_vocab = col(
        "sequence_categorical_column_with_vocabulary_list", "t", ["a", "b"], num_oov_buckets=1
    )
    seq_file = col(
        "sequence_categorical_column_with_vocabulary_file",
        "t",
        {"file": "vocab.txt"},
        num_oov_buckets=1,
    )
    feats = {"q": feat("int64", SEQ_INTS, ragged=True), "t": feat("string", SEQ_TEXT, ragged=True)}
    cases = [
        (
            "sequence_numeric",
            [col("sequence_numeric_column", "v", default_value=-1.0)],
            {"v": feat("float32", [[1.5, 2.0], [], [NAN], [3.0, -INF]], ragged=True)},
        ),
        (
            "sequence_numeric_shape2",
            [col("sequence_numeric_column", "v2", shape=[2])],
            {"v2": feat("float32", [[1.0, 2.0, 3.0, 4.0], [], [5.0, -6.5]], ragged=True)},
        ),
        ("sequence_identity_indicator", [col("indicator_column", seq_id)], feats),
        (
            "sequence_hash_embedding",
            [col("embedding_column", seq_hash, 2, initializer=table(6, 2))],
            feats,
        ),
        (
            "sequence_mixed",
            [
                col("indicator_column", seq_vocab),
                col("embedding_column", seq_file, 3, combiner="sum", initializer=table(7, 3)),
            ],
            feats,
        ),
    ]
    return [{"name": n, "columns": c, "features": f, "layer": "sequence"} for n, c, f in cases]


CASES = _dense_cases() + _ids_cases() + _sequence_cases()

VOCAB_FILE_LINES = ["apple", "é", "x", "中文", "pear", "kiwi"]

# TFRecord content: written by TF (read back by us) and by us (read back by TF).
EXAMPLES = [
    {
        "label": {"int64": [1]},
        "age": {"float": [31.5]},
        "city": {"bytes": ["paris"]},
        "tags": {"bytes": ["a", "", "é", "中文"]},
        "ids": {"int64": [I64_MIN, -1, 0, I64_MAX, 300]},
        "scores": {"float": [0.1, -2.5, 1e-30, 3.4e38]},
    },
    {
        "label": {"int64": [0]},
        "age": {"float": [-0.0]},
        "city": {"bytes": [""]},
        "tags": {"bytes": []},
        "ids": {"int64": []},
        "scores": {"float": []},
    },
    {
        "label": {"int64": [1]},
        "age": {"float": [7.25]},
        "city": {"bytes": ["😀"]},
        "tags": {"bytes": ["x"]},
        "ids": {"int64": [5]},
        "scores": {"float": [1.0]},
    },
]
SEQUENCE_EXAMPLES = [
    {
        "context": {"user": {"bytes": ["u1"]}, "n": {"int64": [2]}},
        "feature_lists": {
            "clicks": [{"int64": [1, 2]}, {"int64": []}, {"int64": [-7]}],
            "words": [{"bytes": ["hé"]}, {"bytes": ["", "b"]}],
            "dwell": [{"float": [0.5]}, {"float": [1.25, -3.0]}],
        },
    },
    {"context": {}, "feature_lists": {"clicks": []}},
]
