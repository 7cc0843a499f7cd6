"""The command that reruns exactly one test the way this session ran it: same options that shape
behaviour, same thread/device variables, ``--only-tier`` its tier. Incident files print it."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from ptycho.testing.environment import snapshot


def command(nodeid: str, tier: str, rootpath: Path, options: list[str], env: dict[str, str]) -> str:
    """``cd ROOT && VAR=… python -m pytest NODEID --only-tier TIER OPTIONS``: selects exactly that test."""
    assignments = " ".join(f"{key}={_shell_value(value)}" for key, value in sorted(env.items()))
    words = [sys.executable, "-m", "pytest", nodeid, "--only-tier", tier, *options]
    line = " ".join(shlex.quote(w) for w in words)
    return f"cd {shlex.quote(str(rootpath))} && {assignments + ' ' if assignments else ''}{line}"


def _shell_value(value: str) -> str:
    return shlex.quote(value) if value else '""'  # CUDA_VISIBLE_DEVICES="" reads as intended


def options(config, settings) -> list[str]:
    """The options that shaped this run's behaviour (not its selection), for an incident's rerun command."""
    chosen = []
    if settings.require_backends:
        chosen += ["--require-backends", ",".join(settings.require_backends)]
    if config.getoption("ptycho_runtime_baselines") or os.environ.get("PTYCHO_RUNTIME_BASELINES"):
        chosen += ["--runtime-baselines", str(settings.baselines_path)]
    if not settings.calibrate:
        chosen.append("--no-runtime-calibration")
    if config.getoption("ptycho_machine_score"):
        chosen += ["--machine-score", config.getoption("ptycho_machine_score")]
    if settings.strict:
        chosen.append("--strict-runtime")
    if not settings.validate_checkpoints:
        chosen.append("--no-checkpoint-validation")
    args = list(config.invocation_params.args)
    for i, arg in enumerate(args):  # plugins switched on or off (-p name / -pname)
        if arg == "-p" and i + 1 < len(args):
            chosen += ["-p", args[i + 1]]
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            chosen += ["-p", arg[2:]]
    return chosen


def environment(item_is_gpu: bool) -> dict[str, str]:
    """The run's thread and device variables and ``PTYCHO_*`` settings, the tier left to ``--only-tier``."""
    env = {k: v for k, v in snapshot()["env"].items() if k != "PTYCHO_TIER"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PTYCHO_") and k != "PTYCHO_TIER"})
    if "CUDA_VISIBLE_DEVICES" not in env and not item_is_gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CI machine is CPU-only: reproduce it that way
    return env
