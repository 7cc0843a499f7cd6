"""Engine benchmark: both engines on one simulated dataset, side by side in one table.

Dataset: N=64, gridsize 2, about 1,000 patterns from a 256×256 object, 1e9 photons per pattern.
Per engine (each in its own process, so peak memory is its own): training throughput (patterns/s) within
a fixed wall-clock budget, inference + stitching throughput, amplitude/phase SSIM against the ground truth,
peak resident memory; for PyTorch also the achieved training FLOP/s (torch.utils.flop_counter) against
this machine's float32 matmul FLOP/s.

Run: .venv/bin/python benchmarks/bench_engines.py [--minutes 10] [--engines tensorflow pytorch]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, resource
import numpy as np
engine, data, minutes, scale = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
from ptycho.config.config import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from ptycho.raw_data import RawData
from ptycho.workflows.common import create_ptycho_data_container
from ptycho.workflows.inference import reconstruct
raw = RawData.from_file(data)
groups = 256
config = TrainingConfig(model=ModelConfig(N=64, gridsize=2, n_filters_scale=scale), nepochs=1, n_groups=groups,
                        batch_size=16, backend=engine, output_dir=sys.argv[5])
out = {"engine": engine}
start = time.perf_counter(); epochs = 0
if engine == "tensorflow":
    from ptycho.workflows import components as c
    results = c.train_cdi_model(raw, None, config)
    trainer_model = results["model_instance"]
    from ptycho.tf.train import Trainer
    trainer = Trainer(trainer_model, config)
    data_c, scale_i = results["train_container"], results["intensity_scale"]
    epochs = 1
    while time.perf_counter() - start < minutes * 60:
        trainer.fit(data_c, None, scale_i, seed=epochs, epochs=1); epochs += 1
    model = results["diffraction_to_obj"]
    saved = {**results["params"], "intensity_scale": trainer_model.intensity_scale}
else:
    from ptycho_torch.workflows import components as c
    execution = PyTorchExecutionConfig(accelerator="cpu", enable_progress_bar=False, logger_backend="none",
                                       enable_checkpointing=False)
    results = c.train_cdi_model_torch(raw, None, config, execution)
    module = results["lightning_module"]
    import lightning.pytorch as L, torch
    from ptycho_torch.datamodule import PtychoDataModule
    dm = PtychoDataModule(results["train_container"], None, results["intensity_scale"], 16)
    epochs = 1
    remaining = minutes * 60 - (time.perf_counter() - start)
    if remaining > 0:
        module.train()
        trainer = L.Trainer(accelerator="cpu", max_time={"seconds": int(remaining)}, max_epochs=10_000, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            num_sanity_val_steps=0)
        trainer.fit(module, datamodule=dm); epochs += trainer.current_epoch
    model_t = module.model.eval()
    from ptycho_torch.model import DiffractionToObject
    model = DiffractionToObject(model_t)
    saved = {**results["params"], "intensity_scale": model_t.intensity_scale}
    # FLOPs of one training step (forward + backward) at batch 16
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.rand(16, 4, 64, 64) * 1000; off = torch.zeros(16, 1, 2, 4)
    model_t.train()
    with FlopCounterMode(display=False) as counter:
        o = model_t(x, off); o["pred_intensity"].mean().backward()
    out["flops_per_group"] = counter.get_total_flops() / 16
train_seconds = time.perf_counter() - start
out["train_seconds"] = train_seconds; out["epochs"] = epochs
out["train_patterns_per_second"] = epochs * groups * 4 / train_seconds
saved.setdefault("N", 64); saved["gridsize"] = 2; saved["n_filters_scale"] = scale
rec = reconstruct(model, saved, raw, n_groups=None, M=20)
out["infer_patterns_per_second"] = rec.patterns_per_second
out["amplitude_ssim"] = rec.metrics["amplitude"]["ssim"]; out["phase_ssim"] = rec.metrics["phase"]["ssim"]
if "flops_per_group" in out:
    out["achieved_flops"] = out["flops_per_group"] * out["train_patterns_per_second"] / 4
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""


def matmul_flops(size: int = 1024, repeats: int = 10) -> float:
    import torch

    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget per engine")
    parser.add_argument("--engines", nargs="+", default=["tensorflow", "pytorch"])
    parser.add_argument("--n-filters-scale", type=int, default=1)
    args = parser.parse_args()
    from ptycho.data_contract import write_npz
    from ptycho.simulation import SimulationSpec, simulate_dataset

    tmp = Path(tempfile.mkdtemp(prefix="ptycho-bench-"))
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_kind="grf", object_size=256, scan_step=6.0, seed=0))
    data = write_npz(tmp / "bench.npz", arrays)
    rows = []
    for engine in args.engines:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                engine,
                str(data),
                str(args.minutes),
                str(args.n_filters_scale),
                str(tmp / engine),
            ],
            capture_output=True,
            text=True,
        )
        line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(result.stderr[-3000:])
            continue
        rows.append(json.loads(line[7:]))
    print(
        f"dataset: {len(arrays['xcoords'])} patterns of 64x64, gridsize 2, 256x256 object, 1e9 photons; "
        f"training budget {args.minutes} min per engine, n_filters_scale {args.n_filters_scale}"
    )
    header = ("engine", "epochs", "train pat/s", "infer+stitch pat/s", "amp SSIM", "phase SSIM", "peak RSS MB")
    print(" | ".join(header))
    for r in rows:
        print(
            " | ".join(
                [
                    r["engine"],
                    str(r["epochs"]),
                    f"{r['train_patterns_per_second']:.1f}",
                    f"{r['infer_patterns_per_second']:.1f}",
                    f"{r['amplitude_ssim']:.3f}",
                    f"{r['phase_ssim']:.3f}",
                    f"{r['peak_rss_mb']:.0f}",
                ]
            )
        )
    torch_row = next((r for r in rows if "achieved_flops" in r), None)
    if torch_row:
        peak = matmul_flops()
        print(
            f"pytorch training: {torch_row['achieved_flops'] / 1e9:.1f} GFLOP/s achieved vs {peak / 1e9:.1f} GFLOP/s "
            f"float32 matmul ({100 * torch_row['achieved_flops'] / peak:.0f}%)"
        )


if __name__ == "__main__":
    main()
