"""The iterative solver, side by side with an earlier revision of this project, in one run.

Runs ``ptycho reconstruct --algorithm rpie --iterations K`` on the hard case's scan (400 patterns of 64×64,
bench_quality's HARD) with this checkout and with a git worktree of ``--against REV``, alternating A B A B
so a drifting machine affects both alike, and prints each one's solver seconds (from its
``consistency.json``) and whole-process seconds: medians, and the ratio. NumPy kernels: the line says
whether ``OPENBLAS_CORETYPE`` was set.

Run: .venv/bin/python benchmarks/bench_solver.py --against REV [--iterations 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402
from bench_quality import HARD  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def reconstruct(code_root: Path, data: Path, out: Path, iterations: int) -> tuple[float, float]:
    """(solver seconds, whole-process seconds) of one ``ptycho reconstruct`` with ``code_root``'s package."""
    env = dict(os.environ, PYTHONPATH=str(code_root), CUDA_VISIBLE_DEVICES="")
    command = [sys.executable, "-m", "ptycho.cli.main", "--quiet", "reconstruct", "--algorithm", "rpie",
               "--iterations", str(iterations), "--data", str(data), "--output-dir", str(out)]
    start = time.perf_counter()
    # cwd away from any checkout: ``python -m`` puts the working folder ahead of PYTHONPATH
    subprocess.run(command, check=True, env=env, capture_output=True, text=True, cwd=out.parent)
    whole = time.perf_counter() - start
    return json.loads((out / "consistency.json").read_text())["seconds"], whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="the git revision to compare with (e.g. HEAD~3)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from ptycho.data_contract import write_npz
    from ptycho.simulation import SimulationSpec, simulate_dataset

    print(f"machine: {machine.describe()}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = write_npz(scratch / "hard.npz", simulate_dataset(SimulationSpec(**HARD))[1])
        earlier = scratch / "earlier"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.against],
                       check=True, capture_output=True)
        try:
            runs = {"this checkout": [], args.against: []}
            for i in range(args.runs):
                for which, (label, code) in enumerate((("this checkout", ROOT), (args.against, earlier))):
                    out = scratch / f"out-{which}-{i}"
                    runs[label].append(reconstruct(code, data, out, args.iterations))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=True)
    print(f"\nrPIE, {args.iterations} iterations, 400 patterns of 64×64, medians of {args.runs} alternating runs\n")
    print("| code | solver s | whole process s |\n|---|---|---|")
    medians = {}
    for label, rows in runs.items():
        medians[label] = [statistics.median(r[k] for r in rows) for k in (0, 1)]
        print(f"| {label} | {medians[label][0]:.1f} | {medians[label][1]:.1f} |")
    a, b = medians["this checkout"], medians[args.against]
    print(f"\nspeed-up against {args.against}: solver {b[0] / a[0]:.2f}x, whole process {b[1] / a[1]:.2f}x")


if __name__ == "__main__":
    main()
