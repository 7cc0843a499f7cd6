"""CPU against GPU: the same trained PyTorch model reconstructs the same scan on both devices.

Trains a small model (CPU, 5 epochs), then stitches the scan with it on the CPU and on the GPU, with
cuDNN's TF32 convolutions off (the engine's setting) and on, and prints the largest difference relative to
the object's peak and both phase SSIMs. Needs a CUDA device: .venv/bin/python benchmarks/device_agreement.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from ptycho.config.config import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from ptycho.data_contract import write_npz
from ptycho.raw_data import RawData
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.workflows import models
from ptycho.workflows.inference import infer_with_backend


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check compares CPU and GPU")
    tmp = Path(tempfile.mkdtemp(prefix="ptycho-devices-"))
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=128, scan_step=6, seed=1))
    raw = RawData.from_file(write_npz(tmp / "scan.npz", arrays))
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=2, n_filters_scale=1), nepochs=5, n_groups=128,
                            batch_size=8, output_dir=tmp, backend="pytorch")
    execution = PyTorchExecutionConfig(accelerator="cpu", enable_progress_bar=False, logger_backend="none")
    models.save_model(models.train_model("pytorch", raw, None, config, execution), tmp)
    cpu = infer_with_backend(tmp, raw, "pytorch", accelerator="cpu")
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32
        gpu = infer_with_backend(tmp, raw, "pytorch", accelerator="gpu")
        error = np.max(np.abs(gpu.obj - cpu.obj)) / np.max(np.abs(cpu.obj))
        print(f"TF32 {'on ' if tf32 else 'off'}: max |GPU - CPU| / max |CPU| = {error:.2e}; phase SSIM CPU "
              f"{cpu.metrics['phase']['ssim']:.4f}, GPU {gpu.metrics['phase']['ssim']:.4f}")


if __name__ == "__main__":
    main()
