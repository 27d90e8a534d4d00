"""``history_`` indexing, checked against the same selection written as list loops."""

import json

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from skextras.nn._history import History  # noqa: E402

RECORDS = [
    {"epoch": 0, "train_loss": 3.0, "lr": 0.1},
    {"epoch": 1, "train_loss": 2.0, "valid_loss": 2.5, "valid_score": 0.5, "lr": 0.1},
    {"epoch": 2, "train_loss": 1.0, "valid_loss": 1.5, "valid_score": 0.75, "lr": 0.05},
]


@pytest.fixture()
def history():
    return History(dict(r) for r in RECORDS)


def test_epoch_index_and_slice_are_those_of_the_list(history):
    assert history[-1] == RECORDS[-1]
    assert history[1:] == RECORDS[1:] and isinstance(history[1:], History)
    assert json.loads(json.dumps(history)) == RECORDS


def test_field_column_skips_epochs_without_the_field(history):
    assert history[:, "train_loss"] == [r["train_loss"] for r in RECORDS]
    assert history[:, "valid_loss"] == [r["valid_loss"] for r in RECORDS if "valid_loss" in r]
    assert history[-1, "valid_score"] == 0.75
    assert history[::2, "lr"] == [0.1, 0.05]


def test_several_fields_give_one_list_per_epoch(history):
    pairs = [[r["train_loss"], r["valid_loss"]] for r in RECORDS if "valid_loss" in r]
    assert history[:, ("train_loss", "valid_loss")] == pairs
    assert history[-1, ["epoch", "lr"]] == [2, 0.05]


def test_unknown_field_raises_key_error_listing_the_fields(history):
    with pytest.raises(KeyError, match="valid_acc.*train_loss"):
        history[:, "valid_acc"]
    with pytest.raises(KeyError, match="valid_loss"):
        history[0, "valid_loss"]
    assert History()[:, "train_loss"] == []
