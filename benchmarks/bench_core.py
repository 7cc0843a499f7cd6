"""Backend-neutral core benchmark: `import ptycho` time and stitching throughput.

Run: .venv/bin/python benchmarks/bench_core.py [--patches 10000] [--M 20]
Prints one table; nothing is asserted (speed is claimed here, not in tests).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

from ptycho.physics import stitch


def import_time(module: str, repeats: int = 5) -> float:
    """Median time of `import module` measured inside a fresh interpreter (cold module cache)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
        for _ in range(repeats)
    ]
    return statistics.median(runs)


def stitching_rate(n_patches: int, N: int, M: int, repeats: int = 3) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    side = int(np.sqrt(n_patches)) * 4 + N
    positions = rng.uniform(N / 2, side - N / 2, (n_patches, 2))
    patches = rng.standard_normal((n_patches, N, N)) + 1j * rng.standard_normal((n_patches, N, N))
    best = min(_timed(stitch, patches, positions, M, (side, side)) for _ in range(repeats))
    return n_patches / best, best


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patches", type=int, default=10_000)
    parser.add_argument("--N", type=int, default=64)
    parser.add_argument("--M", type=int, default=20)
    args = parser.parse_args()
    rows = [
        ("import ptycho (s, median of 5, fresh process)", f"{import_time('ptycho'):.4f}"),
        ("import ptycho.raw_data + physics (s)", f"{import_time('ptycho.raw_data'):.4f}"),
    ]
    rate, seconds = stitching_rate(args.patches, args.N, args.M)
    rows.append((f"stitch {args.patches} {args.N}x{args.N} patches, M={args.M} (s, best of 3)", f"{seconds:.3f}"))
    rows.append(("stitching throughput (patches/s)", f"{rate:,.0f}"))
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
