"""Per-test overhead of the harness plugin, measured on 2,000 trivial tests (with vs without the plugin).

Run: .venv/bin/python benchmarks/bench_harness.py [--tests 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(folder: Path, plugin: bool) -> float:
    conftest = folder / "conftest.py"
    conftest.write_text('pytest_plugins = ["ptycho.testing.plugin"]\n' if plugin else "")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)], cwd=folder,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ptycho-harness-bench-"))
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_trivial.py").write_text(
        f"import pytest\n@pytest.mark.parametrize('i', range({args.tests}))\ndef test_trivial(i):\n    pass\n")
    without = min(timed_run(folder, False) for _ in range(args.repeats))
    with_plugin = min(timed_run(folder, True) for _ in range(args.repeats))
    overhead = (with_plugin - without) / args.tests * 1e6
    print(f"{args.tests} trivial tests, best of {args.repeats}")
    print(f"without plugin: {without:.2f} s   with plugin: {with_plugin:.2f} s")
    print(f"per-test overhead: {overhead:.0f} µs (session fixed costs, e.g. calibration, included)")


if __name__ == "__main__":
    main()
