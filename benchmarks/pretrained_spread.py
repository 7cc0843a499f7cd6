"""Spread of the shipped network's one-pass quality on fresh scans of its held-out families, per engine:
the measured basis of the thresholds in tests/integration/test_pretrained.py.

For each held-out family, SEEDS fresh 256-pattern scans at 1e6 photons drawn as the corpus draws them
(the test's own generator), reconstructed by the network alone in each engine: mean, std, mean − 3σ and
min of amplitude and phase SSIM.

Run: .venv/bin/python benchmarks/pretrained_spread.py [--model disk64-g1] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402


def main() -> None:
    from ptycho import pretrained
    from ptycho.data_contract import from_arrays
    from ptycho.raw_data import RawData
    from ptycho.simulation.corpus import family_scan
    from ptycho.workflows.inference import infer_with_backend

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="disk64-g1")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    model = pretrained.resolve(args.model, "--model")
    held_out = pretrained.find(args.model)["held_out"] if pretrained.find(args.model) else ["spokes", "natural"]
    print(f"machine: {machine.describe()}\n")
    print("| family | engine | quantity | mean | std | mean − 3σ | min |")
    print("|---|---|---|---|---|---|---|")
    for family in held_out:
        scans = [RawData(from_arrays(family_scan(family, 1000 + s))) for s in range(args.seeds)]
        for backend in ("tensorflow", "pytorch"):
            scores = [infer_with_backend(model, raw, backend).metrics for raw in scans]
            for quantity in ("amplitude", "phase"):
                v = np.array([m[quantity]["ssim"] for m in scores])
                print(f"| {family} | {backend} | {quantity} SSIM | {v.mean():.3f} | {v.std(ddof=1):.3f} | "
                      f"{v.mean() - 3 * v.std(ddof=1):.3f} | {v.min():.3f} |", flush=True)


if __name__ == "__main__":
    main()
