"""Per-PR gate: train -> save -> load -> infer through the real command line, per backend (CPU only).

Asserts the artifact validators, both PNGs, and reconstruction quality against the ground truth with a
threshold an untrained or broken model does not reach: on this dataset an untrained model scores amplitude
SSIM 0.08 and phase SSIM 0.06; this training budget reaches about 0.43 and 0.16 (PyTorch engine).
"""

import json
import os
import subprocess
import sys

import pytest

from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.checkpoints import assert_lightning_checkpoint, assert_model_archive, assert_png_artifact
from ptycho.testing.commands import CPU_ONLY, run_ptycho

pytestmark = pytest.mark.per_pr
SPEC = SimulationSpec(N=64, object_kind="grf", object_size=128, scan_step=8, seed=2)
TRAIN = ("--epochs", "30", "--n-groups", "96", "--gridsize", "2", "--batch-size", "8", "--n-filters-scale", "1")
REFINE = ("--refine", "10")
UNTRAINED_SSIM = {"amplitude": 0.08, "phase": 0.06}  # measured: 1 epoch of 4 groups at learning rate 1e-9
BACKEND_MARK = {"tensorflow": pytest.mark.tf, "pytorch": pytest.mark.torch}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    _, arrays = simulate_dataset(SPEC)
    return write_npz(tmp_path_factory.mktemp("integration") / "grf.npz", arrays)


def ptycho(*args):
    return run_ptycho("--quiet", *args, env=CPU_ONLY)


def amplitude_and_phase_ssim(folder):
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics["amplitude"]["ssim"], metrics["phase"]["ssim"]


@pytest.mark.parametrize("backend", [pytest.param(b, marks=BACKEND_MARK[b]) for b in ("tensorflow", "pytorch")])
def test_train_save_load_infer(backend, dataset, tmp_path):
    model = tmp_path / "model"
    ptycho("train", "--backend", backend, "--train-data", str(dataset), "--output-dir", str(model), *TRAIN)
    assert_model_archive(model / "wts.h5.zip", backend=backend)
    if backend == "pytorch":
        assert_lightning_checkpoint(model / "checkpoints" / "last.ckpt")
    assert (model / "history.csv").read_text().count("\n") == 11
    ptycho("infer", "--backend", backend, "--model", str(model), "--data", str(dataset), "--output-dir",
           str(tmp_path / "out"))
    for name in ("reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png"):
        assert_png_artifact(tmp_path / "out" / name)
    amp, phase = amplitude_and_phase_ssim(tmp_path / "out")
    assert amp > 0.3, f"amplitude SSIM {amp:.3f} (an untrained model scores {UNTRAINED_SSIM['amplitude']})"
    assert phase > 0.1, f"phase SSIM {phase:.3f} (an untrained model scores {UNTRAINED_SSIM['phase']})"


@pytest.mark.gpu
@pytest.mark.torch
def test_train_save_load_infer_on_gpu(dataset, tmp_path):
    """The GPU column of the CI matrix (nox -s gpu): the same workflow with the PyTorch engine on CUDA."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    for args in (("train", "--backend", "pytorch", "--train-data", str(dataset), "--output-dir", str(tmp_path / "m"),
                  *TRAIN, "--accelerator", "gpu"),
                 ("infer", "--backend", "pytorch", "--model", str(tmp_path / "m"), "--data", str(dataset),
                  "--output-dir", str(tmp_path / "out"), "--accelerator", "gpu")):
        result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "--quiet", *args], capture_output=True,
                                text=True, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    amp, phase = amplitude_and_phase_ssim(tmp_path / "out")
    assert amp > 0.3 and phase > 0.1
