"""Engine speed benchmark: both engines through their whole commands, side by side in one run.

The anchor settings of the speed issue: 500 simulated patterns, N=64, batch 16, the default network width,
gridsize 1 and 2 (500 patterns per epoch either way: 500/C groups of C = gridsize² patterns).

- training patterns/s: two whole ``ptycho train`` runs of 1 and 3 epochs; the fixed costs (imports,
  tracing, data preparation, saving) cancel in the difference: 2 x 500 patterns / (t3 - t1);
- fixed cost: ``t1`` minus one epoch's share (what a 1-epoch command pays besides training);
- inference: one whole ``ptycho infer`` process on the 500 patterns (stitching included), and its peak RSS;
- training FLOP/s: FLOPs of one training step (forward + backward, counted with
  ``torch.utils.flop_counter`` on the network both engines build) x patterns/s, against the float32 matmul
  peak measured in the same run (torch, all threads);
- tiny one-epoch ``ptycho train`` (16 groups): the fixed cost a CI test pays per call.

Run: .venv/bin/python benchmarks/bench_engines.py [--engines tensorflow pytorch] [--gridsizes 1 2]
(or ``.venv/bin/nox -s bench``). Prints one table; ``--json PATH`` also writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

PATTERNS = 500
N = 64
BATCH = 16
TINY_GROUPS = 16


def run_command(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole ``ptycho`` process; a failure stops the benchmark."""
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: nothing blocks however much is logged
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "ptycho.cli.main", "--quiet", *args], stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"ptycho {' '.join(args)} failed:\n{errors.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def train(engine: str, data: Path, out: Path, gridsize: int, epochs: int, groups: int) -> tuple[float, float]:
    quiet_logger = ["--logger", "none"] if engine == "pytorch" else []  # no CSV logs: TF writes none either
    return run_command(
        ["train", "--backend", engine, "--train-data", str(data), "--output-dir", str(out), "--epochs", str(epochs),
         "--n-groups", str(groups), "--gridsize", str(gridsize), "--batch-size", str(BATCH), *quiet_logger]
    )


def flops_per_pattern(gridsize: int) -> float:
    """FLOPs of one training step per pattern: forward + backward of the network both engines build."""
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ptycho.config.config import ModelConfig
    from ptycho_torch.model import create_model

    channels = gridsize**2
    model = create_model(ModelConfig(N=N, gridsize=gridsize), np.ones((N, N), np.complex64), 1000.0).train()
    x, offsets = torch.rand(BATCH, channels, N, N), torch.zeros(BATCH, 1, 2, channels)
    with FlopCounterMode(display=False) as counter:
        model(x, offsets)["pred_intensity"].mean().backward()
    return counter.get_total_flops() / (BATCH * channels)


def matmul_peak(size: int = 1024, seconds: float = 2.0) -> float:
    """float32 matmul FLOP/s of this machine (torch, all threads): the best of repeated 1024² products."""
    import torch

    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def measure(engine: str, gridsize: int, data: Path, tmp: Path, patterns: int) -> dict:
    groups = patterns // gridsize**2
    one, _ = train(engine, data, tmp / f"{engine}-g{gridsize}-1", gridsize, 1, groups)
    three, _ = train(engine, data, tmp / f"{engine}-g{gridsize}-3", gridsize, 3, groups)
    per_second = 2 * groups * gridsize**2 / (three - one)
    infer, rss = run_command(
        ["infer", "--backend", engine, "--model", str(tmp / f"{engine}-g{gridsize}-3"), "--data", str(data),
         "--output-dir", str(tmp / f"{engine}-g{gridsize}-infer")]
    )
    return {"engine": engine, "gridsize": gridsize, "train_patterns_per_second": per_second,
            "fixed_cost_seconds": one - groups * gridsize**2 / per_second, "infer_seconds": infer,
            "infer_peak_rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=["tensorflow", "pytorch"], choices=["tensorflow", "pytorch"])
    parser.add_argument("--gridsizes", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    parser.add_argument("--patterns", type=int, default=PATTERNS, help="dataset size (the anchor: 500)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    from ptycho.data_contract import write_npz
    from ptycho.simulation import SimulationSpec, simulate_dataset

    tmp = Path(tempfile.mkdtemp(prefix="ptycho-bench-"))
    spec = SimulationSpec(N=N, object_kind="grf", object_size=384, scan_step=8.0, n_positions=args.patterns, seed=0)
    _, arrays = simulate_dataset(spec)
    if len(arrays["xcoords"]) != args.patterns:  # the scan holds at most 1,600 positions of this object
        raise SystemExit(f"the simulated scan holds {len(arrays['xcoords'])} positions, not {args.patterns}")
    data = write_npz(tmp / "bench.npz", arrays)
    rows = []
    for gridsize in args.gridsizes:
        for engine in args.engines:
            print(f"... {engine}, gridsize {gridsize}", file=sys.stderr, flush=True)
            rows.append(measure(engine, gridsize, data, tmp, args.patterns))
    tiny = {engine: train(engine, data, tmp / f"{engine}-tiny", 1, 1, TINY_GROUPS)[0] for engine in args.engines}
    # torch is imported here only after every command ran: a child's ru_maxrss starts at this process's size
    for row in rows:
        row["train_flops"] = flops_per_pattern(row["gridsize"]) * row["train_patterns_per_second"]
    peak = matmul_peak()
    print(f"machine: {machine.describe()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; "
          f"float32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"{len(arrays['xcoords'])} patterns, N={N}, batch {BATCH}, default width; whole `ptycho` commands")
    print("| engine | gridsize | training patterns/s | training GFLOP/s, nominal (% of matmul peak) | fixed cost, "
          f"1-epoch train | inference, {args.patterns} patterns (whole process) | peak RSS (inference) |")
    print("|---|---:|---:|---:|---:|---:|---:|")  # nominal: direct-convolution FLOPs; Winograd needs fewer
    for r in rows:
        print(f"| {r['engine']} | {r['gridsize']} | {r['train_patterns_per_second']:.1f} | "
              f"{r['train_flops'] / 1e9:.1f} ({100 * r['train_flops'] / peak:.0f}%) | "
              f"{r['fixed_cost_seconds']:.1f} s | "
              f"{r['infer_seconds']:.1f} s | {r['infer_peak_rss_mb'] / 1024:.2f} GB |")
    print("tiny 1-epoch `ptycho train` (16 groups), whole process: "
          + ", ".join(f"{engine} {seconds:.1f} s" for engine, seconds in tiny.items()))
    if args.json:
        payload = {"rows": rows, "tiny_train_seconds": tiny, "matmul_peak_flops": peak}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
