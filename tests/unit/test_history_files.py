"""``history.csv`` numbers each epoch as it was trained (finding 7 of issue 16: a resumed run restarted at 1)."""

import json

import pytest

from ptycho.outputs import epochs_trained, write_history

pytestmark = pytest.mark.per_pr


def _csv(path):
    return path.read_text().splitlines()


def test_history_without_epoch_numbers_counts_from_one(tmp_path):
    write_history({"train_loss": [3.0, 2.0], "val_loss": [3.5]}, tmp_path)
    assert _csv(tmp_path / "history.csv") == ["epoch,train_loss,val_loss", "1,3.0,3.5", "2,2.0,"]


def test_epoch_numbers_of_a_resumed_history_are_kept_in_csv_and_json(tmp_path):
    """A run resumed from a checkpoint written before history was kept lists epochs 5-8 only, numbered 5-8."""
    history = {"epoch": [5, 6, 7, 8], "train_loss": [4.0, 3.0, 2.0, 1.0], "val_loss": []}
    write_history(history, tmp_path)
    assert [line.split(",")[0] for line in _csv(tmp_path / "history.csv")[1:]] == ["5", "6", "7", "8"]
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [5, 6, 7, 8]
    assert epochs_trained(history)[-1] == 8


def test_epoch_list_of_another_length_is_not_trusted():
    assert epochs_trained({"epoch": [1], "train_loss": [2.0, 1.0]}) == [1, 2]
