"""Corpus training held in memory against streamed from its shards, side by side in one run, both engines.

Simulates a corpus (``--scans`` scans of 256 patterns, N=64), then times ``ptycho train`` on it with
``--stream off`` (every scan read and grouped up front) and ``--stream on --shards-in-memory K``, each a
separate process as a user runs it: training patterns/s of the last epoch (the progress line's figure),
whole-command wall time and peak memory of the process.

Runs alternate (off, on, off, on, …) ``--repeats`` times and the table shows medians: this class of machine
drifts by 30 % from one minute to the next, so one pair of runs says little.

Run: .venv/bin/python benchmarks/bench_stream.py [--scans 8] [--epochs 3] [--shards-in-memory 2] [--repeats 2]
     [--engines tensorflow pytorch]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

PEAK = "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; " \
       "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"


def train(corpus: Path, out: Path, backend: str, stream: str, epochs: int, shards: int) -> dict:
    command = [sys.executable, "-m", "ptycho.cli.main", "train", "--backend", backend, "--train-data", str(corpus),
               "--output-dir", str(out), "--epochs", str(epochs), "--n-filters-scale", "1", "--init", "none",
               "--stream", stream, "--shards-in-memory", str(shards)]
    if backend == "pytorch":
        command += ["--logger", "none", "--accelerator", "cpu"]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    rates = re.findall(r"\(([\d.]+) patterns/s", result.stderr)
    peak = int(re.search(r"peak_kb (\d+)", result.stderr).group(1))
    return {"patterns_per_s": float(rates[-1]), "wall": wall, "peak_gb": peak / 2**20}


def main() -> None:
    from ptycho.simulation.corpus import CorpusSpec, write_corpus

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--shards-in-memory", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["tensorflow", "pytorch"])
    args = parser.parse_args()
    print(f"machine: {machine.describe()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(corpus, CorpusSpec(scans=args.scans, seed=11))
        print(f"corpus: {args.scans} scans × 256 patterns, N=64; {args.epochs} epochs, width 1, batch 16\n")
        print("| engine | data | patterns/s, last epoch: median (each run) | whole command | peak memory |")
        print("|---|---|---|---|---|")
        for backend in args.engines:
            runs = {"off": [], "on": []}
            for repeat in range(args.repeats):
                for stream in ("off", "on"):
                    runs[stream].append(train(corpus, Path(tmp) / f"{backend}-{stream}-{repeat}", backend, stream,
                                              args.epochs, args.shards_in_memory))
            rows = {k: {q: statistics.median(r[q] for r in v) for q in v[0]} for k, v in runs.items()}
            for stream, r in rows.items():
                label = "in memory" if stream == "off" else f"streamed, {args.shards_in_memory} shards at a time"
                each = ", ".join(f"{x['patterns_per_s']:.1f}" for x in runs[stream])
                print(f"| {backend} | {label} | {r['patterns_per_s']:.1f} ({each}) | {r['wall']:.1f} s | "
                      f"{r['peak_gb']:.2f} GB |", flush=True)
            ratio = rows["on"]["patterns_per_s"] / rows["off"]["patterns_per_s"]
            print(f"| {backend} | streamed / in memory | {ratio:.2f}× | | |", flush=True)


if __name__ == "__main__":
    main()
