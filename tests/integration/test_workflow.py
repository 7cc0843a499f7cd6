"""Per-PR gate: train -> save -> load -> infer (+ physics refinement) through the real command line, per
backend (CPU only).

Asserts the artifact validators, the PNGs, and reconstruction quality against the ground truth, network
alone and refined. Thresholds come from ``benchmarks/gate_spread.py`` (5 training seeds per engine, this
dataset, these arguments; AMD EPYC, 2 cores): network amplitude SSIM mean 0.744 ± 0.023 (TensorFlow) and
0.721 ± 0.039 (PyTorch), phase 0.738 ± 0.023 and 0.721 ± 0.033; mean − 3σ is at least 0.606. An untrained
network (1 epoch at learning rate 1e-9) scores amplitude 0.33 (a flat amplitude) and phase 0.02. The
network thresholds sit below every mean − 3σ and far above the untrained scores. Refined: 0.997-0.999
(± 0.001) for every run; refinement alone also rescues an untrained network (0.999), so the refined
threshold gates the refinement path, and the network thresholds gate training.
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
UNTRAINED_SSIM = {"amplitude": 0.33, "phase": 0.02}  # measured: 1 epoch of 4 groups at learning rate 1e-9
NETWORK_SSIM = {"amplitude": 0.55, "phase": 0.55}  # below mean − 3σ (≥ 0.606) of 5 seeds per engine
REFINED_SSIM = 0.98  # below mean − 3σ (≥ 0.995) of the same runs
BACKEND_MARK = {"tensorflow": pytest.mark.tf, "pytorch": pytest.mark.torch}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    _, arrays = simulate_dataset(SPEC)
    return write_npz(tmp_path_factory.mktemp("integration") / "grf.npz", arrays)


def ptycho(*args):
    return run_ptycho("--quiet", *args, env=CPU_ONLY)


def amplitude_and_phase_ssim(folder, stage=None):
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics = metrics[stage] if stage else metrics
    return metrics["amplitude"]["ssim"], metrics["phase"]["ssim"]


# The seed's integration profile, literally (36 s ± 5). Recorded on the recording machine class (AMD EPYC,
# 2 cores): 36.1 s (TensorFlow) and 30.2 s (PyTorch, faster since channels-last: drift, never a failure).
@pytest.mark.runtime_budget(baseline=36, warn=60, ceiling=90, floor=20)
@pytest.mark.parametrize("backend", [pytest.param(b, marks=BACKEND_MARK[b]) for b in ("tensorflow", "pytorch")])
def test_train_save_load_infer(backend, dataset, tmp_path):
    model = tmp_path / "model"
    ptycho("train", "--backend", backend, "--train-data", str(dataset), "--output-dir", str(model), *TRAIN)
    assert_model_archive(model / "wts.h5.zip", backend=backend)
    if backend == "pytorch":
        assert_lightning_checkpoint(model / "checkpoints" / "last.ckpt")
    assert (model / "history.csv").read_text().count("\n") == 31
    ptycho("infer", "--backend", backend, "--model", str(model), "--data", str(dataset), "--output-dir",
           str(tmp_path / "out"), *REFINE)
    for name in ("reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png",
                 "network_comparison.png"):
        assert_png_artifact(tmp_path / "out" / name)
    for stage, threshold in (("network", NETWORK_SSIM), ("refined", dict.fromkeys(NETWORK_SSIM, REFINED_SSIM))):
        amp, phase = amplitude_and_phase_ssim(tmp_path / "out", stage)
        assert amp > threshold["amplitude"], (
            f"{stage} amplitude SSIM {amp:.3f} (an untrained model scores {UNTRAINED_SSIM['amplitude']})")
        assert phase > threshold["phase"], (
            f"{stage} phase SSIM {phase:.3f} (an untrained model scores {UNTRAINED_SSIM['phase']})")
    fits = json.loads((tmp_path / "out" / "consistency.json").read_text())
    assert fits["refined"]["r_factor"] < fits["network"]["r_factor"]


GPU_BACKENDS = [pytest.param("tensorflow", marks=pytest.mark.tf), pytest.param("pytorch", marks=pytest.mark.torch)]
SEES_A_GPU = {  # the gpu column must not pass on a host where the engine quietly runs on the CPU
    "tensorflow": "import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)",
    "pytorch": "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)",
}


@pytest.mark.gpu
@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.runtime_budget(baseline=30, warn=90, ceiling=300)  # no CPU baseline exists: it only runs on a GPU host
def test_train_save_load_infer_on_gpu(dataset, tmp_path, backend):
    """The GPU column of the CI matrix (nox -s gpu): the same workflow with each engine on CUDA."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    assert subprocess.run([sys.executable, "-c", SEES_A_GPU[backend]], env=env).returncode == 0, f"{backend}: no GPU"
    accelerator = ("--accelerator", "gpu") if backend == "pytorch" else ()  # TensorFlow places work itself
    for args in (("train", "--backend", backend, "--train-data", str(dataset), "--output-dir", str(tmp_path / "m"),
                  *TRAIN, *accelerator),
                 ("infer", "--backend", backend, "--model", str(tmp_path / "m"), "--data", str(dataset),
                  "--output-dir", str(tmp_path / "out"), *accelerator)):
        result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "--quiet", *args], capture_output=True,
                                text=True, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    amp, phase = amplitude_and_phase_ssim(tmp_path / "out")
    assert amp > NETWORK_SSIM["amplitude"] and phase > NETWORK_SSIM["phase"]
