import numpy as np
import pytest
import scipy.sparse as sp

from skextras.datasets import load_agaricus, load_higgs_sample


@pytest.mark.parametrize("subset, n_rows", [("train", 7000), ("test", 500), ("all", 7500)])
def test_higgs_sample_matches_lightgbm_example(shared_data, subset, n_rows):
    X, y = load_higgs_sample(subset=subset, return_X_y=True)
    assert X.shape == (n_rows, 28) and y.shape == (n_rows,)
    if subset == "test":
        ref = np.loadtxt(shared_data / "lightgbm/binary_classification/binary.test")
        np.testing.assert_array_equal(X, ref[:, 1:])
        np.testing.assert_array_equal(y, ref[:, 0])


def test_higgs_sample_as_frame_has_named_columns():
    bunch = load_higgs_sample(as_frame=True)
    assert list(bunch.frame.columns[-1:]) == ["target"]
    assert bunch.data.columns[0] == "f0"
    assert set(np.unique(bunch.target)) == {0, 1}


def test_agaricus_is_sparse_and_names_match_featmap():
    bunch = load_agaricus()
    assert sp.issparse(bunch.data) and bunch.data.format == "csr"
    assert bunch.data.shape == (6513, 126)
    # First UCI mushroom row: convex cap, smooth surface, brown, bruises, pungent odor.
    first = set(bunch.feature_names[bunch.data[0].indices])
    assert {"cap-shape=convex", "odor=pungent", "bruises?=bruises"} <= first
    assert bunch.target[0] == 1


def test_agaricus_as_frame_is_sparse_frame():
    bunch = load_agaricus(subset="test", as_frame=True)
    assert bunch.data.shape == (1611, 126)
    assert all(isinstance(t, __import__("pandas").SparseDtype) for t in bunch.data.dtypes)


def test_unknown_subset_is_rejected():
    with pytest.raises(ValueError, match="subset"):
        load_higgs_sample(subset="validation")
