"""Findings of the outside fault campaign: a zero probe and a model folder's damaged side files."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from ptycho.data_contract import write_npz
from ptycho.outputs import read_training_losses
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.commands import CPU_ONLY, run_ptycho

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_reconstruct_refuses_a_zero_probe_instead_of_writing_nan(tmp_path):
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=96, scan_step=16, seed=1))
    arrays["probeGuess"] = np.zeros_like(arrays["probeGuess"])  # contract-valid, lights nothing
    data = write_npz(tmp_path / "dark.npz", arrays)
    result = run_ptycho("reconstruct", "--data", str(data), "--output-dir", str(tmp_path / "out"), "--iterations",
                        "1", check=False)
    assert result.returncode == 1 and "'probeGuess' is all zeros" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "consistency.json").exists()


@pytest.mark.parametrize(("text", "losses"), [('{"train_loss": [3, 2.5]}', (3.0, 2.5)), ("[1, 2]", ()),
                                              ('{"train_loss": 5}', ()), ("{not json", ()),
                                              ('{"train_loss": ["a"]}', ())])
def test_training_history_is_a_side_file(tmp_path, caplog, text, losses):
    (tmp_path / "history.json").write_text(text)
    assert read_training_losses(tmp_path) == losses
    assert bool(losses) or "history.json: unreadable training history" in caplog.text


@pytest.mark.tf
def test_infer_with_a_malformed_history_still_reconstructs(tmp_path):
    model = shutil.copytree(FIXTURES / "archives" / "v1" / "tensorflow", tmp_path / "model")
    (model / "history.json").write_text("[1, 2]")  # used to end in AttributeError after inference
    result = run_ptycho("infer", "--backend", "tensorflow", "--model", str(model), "--data",
                        str(FIXTURES / "data" / "sim_n64.npz"), "--output-dir", str(tmp_path / "out"), env=CPU_ONLY)
    assert "unreadable training history" in result.stderr and (tmp_path / "out" / "product.h5").is_file()
