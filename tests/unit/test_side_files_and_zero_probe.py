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


HDF5_BOMB = """
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as h5:  # a few kB that declare a 4 GiB object (chunks never written)
    h5.create_dataset("object", shape=(1, 16384, 16384), dtype=np.complex128, chunks=(1, 256, 256),
                      compression="gzip")
    h5.create_dataset("probe", data=np.ones((1, 1, 64, 64), np.complex64))
from ptycho.cli.main import main
code = main(["inspect", sys.argv[1]])
from ptycho.testing.memory import peak_rss_kb
print("exit", code, "peak MB", peak_rss_kb() / 1024)
"""


def test_inspect_refuses_an_hdf5_bomb_without_reading_it(tmp_path):
    """The outside campaign: a few-kB product.h5 declaring one chunked, compressed 16384² complex dataset
    made ``ptycho inspect`` allocate 2.1 GB and exit 0."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", HDF5_BOMB, str(tmp_path / "product.h5")], capture_output=True,
                            text=True, timeout=120)
    assert "exit 1" in result.stdout and "'object' declares (1, 16384, 16384)" in result.stderr, result
    assert (tmp_path / "product.h5").stat().st_size < 100_000
    # the interpreter with numpy and h5py is about 60 MB; the declared object alone is 4 GiB
    assert float(result.stdout.split("peak MB")[1]) < 400, result.stdout
