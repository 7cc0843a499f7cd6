"""Spread of the integration gate's quality over training seeds: where its thresholds come from.

Runs exactly the per-PR integration workflow (``tests/integration/test_workflow.py``: same dataset, same
training arguments, ``ptycho train`` then ``ptycho infer --refine``, real subprocesses) for several
``--seed`` values per engine, and prints mean, standard deviation and mean − 3σ of the network-only and
refined SSIMs, plus wall time. The gate's thresholds sit at or below mean − 3σ of these runs.

Run: .venv/bin/python benchmarks/gate_spread.py [--seeds 0 1 2 3 4] [--engines tensorflow pytorch]
     [--train-args "--amp-activation swish"]   (extra training flags, e.g. to compare a setting)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from test_workflow import REFINE, SPEC, TRAIN  # noqa: E402 - the gate's own settings, written once

from ptycho.data_contract import write_npz  # noqa: E402
from ptycho.simulation import simulate_dataset  # noqa: E402
from ptycho.testing.commands import CPU_ONLY, run_ptycho  # noqa: E402


def one_run(engine: str, seed: int, data: Path, folder: Path, extra: tuple[str, ...] = ()) -> dict:
    start = time.perf_counter()
    run_ptycho(
        "--quiet",
        "train",
        "--backend",
        engine,
        "--train-data",
        str(data),
        "--output-dir",
        str(folder / "model"),
        *TRAIN,
        *extra,
        "--seed",
        str(seed),
        env=CPU_ONLY,
        echo=False,
    )
    run_ptycho(
        "--quiet",
        "infer",
        "--backend",
        engine,
        "--model",
        str(folder / "model"),
        "--data",
        str(data),
        "--output-dir",
        str(folder / "out"),
        *REFINE,
        env=CPU_ONLY,
        echo=False,
    )
    metrics = json.loads((folder / "out" / "metrics.json").read_text())
    return {
        "seconds": time.perf_counter() - start,
        **{f"{stage}_{part}": metrics[stage][part]["ssim"] for stage in metrics for part in ("amplitude", "phase")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--engines", nargs="+", default=["tensorflow", "pytorch"])
    parser.add_argument("--train-args", default="", help="extra `ptycho train` flags, as one string")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_npz(Path(tmp) / "gate.npz", simulate_dataset(SPEC)[1])
        rows = {}
        for engine in args.engines:
            rows[engine] = []
            for seed in args.seeds:
                row = one_run(engine, seed, data, Path(tmp) / f"{engine}-{seed}", tuple(shlex.split(args.train_args)))
                rows[engine].append(row)
                print(engine, seed, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    print("\n| engine | quantity | mean | std | mean − 3σ | min | runs |\n|---|---|---|---|---|---|---|")
    for engine, runs in rows.items():
        for key in runs[0]:
            values = np.array([r[key] for r in runs])
            if len(values) < 2:  # one seed has no spread
                print(f"| {engine} | {key} | {values[0]:.3f} | | | {values[0]:.3f} | 1 |")
                continue
            print(
                f"| {engine} | {key} | {values.mean():.3f} | {values.std(ddof=1):.3f} | "
                f"{values.mean() - 3 * values.std(ddof=1):.3f} | {values.min():.3f} | {len(values)} |"
            )


if __name__ == "__main__":
    main()
