"""Run the ``ptycho`` command line in a real subprocess, the way a user does, and keep its output.

What the command printed is echoed to stdout, so pytest captures it into the test's report (and
``--keep-artifacts`` keeps it in ``test-output.log``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

CPU_ONLY = {"CUDA_VISIBLE_DEVICES": ""}


def run_ptycho(
    *args: str, env: dict | None = None, check: bool = True, echo: bool = True
) -> subprocess.CompletedProcess:
    """``python -m ptycho.cli.main ARGS`` (``env`` adds to the current environment); asserts exit 0 if ``check``."""
    command = [sys.executable, "-m", "ptycho.cli.main", *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if echo:
        print(f"$ ptycho {shlex.join(args)}\n{result.stdout}{result.stderr}exit {result.returncode}\n")
    if check:
        assert result.returncode == 0, f"ptycho {shlex.join(args)} failed:\n{result.stderr[-3000:]}"
    return result
