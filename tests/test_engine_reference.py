"""Bit-identity of the engine's trees: every estimator of the case matrix (thread counts 1 and 2,
missing values, sample weights and row masks, monotone and interaction constraints, column
sampling per tree / level / node, loss-guided growth, deep forest trees, random thresholds,
multiclass) grows the trees and predictions recorded from the engine before its consolidation
(``tests/data/engine/reference_trees.npz``, made by ``tests/_engine_reference_cases.py`` from
commit ``ae7497e``), to the last bit."""

from pathlib import Path

import numpy as np
import pytest
from _engine_reference_cases import CASES, run_case

# AdaBoost's SAMME probabilities now sum each member's weighted leaf votes one member at a time,
# scikit-learn's own order (bit-equal to its definition, tests/test_engine_predict.py), where
# the recorded code used one matrix product: the trees are unchanged, the sums differ in the
# last bit.
SUMMED_DIFFERENTLY = {("adaboost", "predict_proba"), ("adaboost_multiclass", "predict_proba")}

REFERENCE = Path(__file__).parent / "data" / "engine" / "reference_trees.npz"


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trees_and_predictions_equal_reference_bit_for_bit(reference, name):
    expected = {k.split("/", 1)[1]: v for k, v in reference.items() if k.startswith(name + "/")}
    assert expected, f"no reference arrays for case {name!r}"
    got = run_case(name)
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        if (name, key) in SUMMED_DIFFERENTLY:
            np.testing.assert_array_max_ulp(got[key], value, maxulp=2)
            continue
        np.testing.assert_array_equal(got[key], value, err_msg=f"{name}: {key}", strict=True)
