"""The machine and environment: the interpreter and numpy against the declared minimums, both engines
(probed in fresh subprocesses, so import times are real and this process stays light), Lightning, and the
accelerators."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from ptycho.doctor.check import FAIL, INSTALL_FIX, OK, SKIP, Check

ENV_FIX = (
    "reinstall what pyproject.toml asks: ./run.sh test (it reinstalls .venv when pyproject.toml changed); "
    "for a newer Python: rm -rf .venv && PYTHON=python3.11 ./run.sh test"
)
GPU_FIX = "install a CUDA build of torch (constraints.txt pins the CPU one); check the driver and CUDA_VISIBLE_DEVICES"
EXPECT_GPU_ENV = "PTYCHO_EXPECT_GPU"
PROBE_TIMEOUT_S = 300

TF_PROBE = """
import json, time
start = time.perf_counter()
import tensorflow as tf
print(json.dumps({"version": tf.__version__, "seconds": time.perf_counter() - start}))
"""
TORCH_PROBE = """
import json, time
start = time.perf_counter()
import torch
seconds = time.perf_counter() - start
try:
    import lightning
    lightning_version, lightning_error = lightning.__version__, None
except Exception as exc:
    lightning_version, lightning_error = None, f"{type(exc).__name__}: {exc}"
cuda = torch.cuda.is_available()
print(json.dumps({
    "version": torch.__version__, "seconds": seconds, "threads": torch.get_num_threads(),
    "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
    "lightning": lightning_version, "lightning_error": lightning_error,
}))
"""


def probe_torch() -> tuple[dict | None, str]:
    """(torch's version, import time, threads, CUDA devices and Lightning; or None, the error)."""
    return _probe(TORCH_PROBE)


def _probe(code: str) -> tuple[dict | None, str]:
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"import did not finish within {PROBE_TIMEOUT_S} s"
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        return None, lines[-1] if lines else f"exit code {result.returncode}"
    return json.loads(result.stdout.strip().splitlines()[-1]), ""


def check_python(root: Path | None) -> Check:
    """This interpreter and numpy against the minimums the project declares (pyproject.toml or metadata)."""
    import numpy
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    from ptycho.doctor.checkout import declared_requirements

    name = "Python and numpy"
    python = platform.python_version()
    detail = f"Python {python} ({sys.executable}), numpy {numpy.__version__}"
    try:
        requires_python, dependencies, source = declared_requirements(root)
    except (OSError, ValueError, ImportError) as exc:  # no pyproject and not installed: nothing to compare with
        return Check(name, SKIP, f"{detail}; the declared minimums are unreadable ({exc})")
    wanted = {"python": SpecifierSet(requires_python)}
    wanted.update({r.name: r.specifier for r in map(Requirement, dependencies) if r.name == "numpy"})
    found = {"python": python, "numpy": numpy.__version__}
    problems = [
        f"{what} {found[what]} does not satisfy {what}{spec}"
        for what, spec in wanted.items()
        if not spec.contains(_release(found[what]), prereleases=True)
    ]
    shown = ", ".join(f"{what}{spec}" for what, spec in wanted.items())
    data = {"required": {k: str(v) for k, v in wanted.items()}, "found": found, "source": source}
    if problems:
        return Check(name, FAIL, f"{'; '.join(problems)} (from {source})", ENV_FIX, data=data)
    return Check(name, OK, f"{detail}; satisfy {shown} (from {source})", data=data)


def _release(version: str) -> str:
    """``2.1.0+cpu`` / ``3.12.0+`` -> a version packaging can compare (local build tags dropped)."""
    return version.split("+")[0]


def check_tensorflow() -> Check:
    info, error = _probe(TF_PROBE)
    if info is None:
        return Check("TensorFlow", FAIL, f"not importable: {error}", INSTALL_FIX)
    return Check("TensorFlow", OK, f"{info['version']}, import {info['seconds']:.1f} s", data=info)


def check_torch(info: dict | None, error: str) -> Check:
    from ptycho.policy import MIN_TORCH, torch_version_tuple

    if info is None:
        return Check("PyTorch (POLICY-001)", FAIL, f"not importable: {error}", INSTALL_FIX)
    version = torch_version_tuple(info["version"])
    wanted = ".".join(map(str, MIN_TORCH))
    if version is None or version < MIN_TORCH:
        return Check(
            "PyTorch (POLICY-001)",
            FAIL,
            f"torch {info['version']} is older than {wanted}",
            f"pip install -c constraints.txt torch (the project pins torch==2.13.0; POLICY-001 needs >= {wanted})",
            data=info,
        )
    detail = f"{info['version']} (>= {wanted}), import {info['seconds']:.1f} s"
    return Check("PyTorch (POLICY-001)", OK, detail, data=info)


def check_lightning(info: dict | None, error: str) -> Check:
    if info is None:
        return Check("Lightning", FAIL, f"not checked: torch is not importable ({error})", INSTALL_FIX)
    if info["lightning"] is None:
        return Check("Lightning", FAIL, f"not importable: {info['lightning_error']}", INSTALL_FIX)
    return Check("Lightning", OK, info["lightning"])


def check_accelerators(info: dict | None, expect_gpu: bool = False) -> Check:
    """What compute this machine offers; a ✗ only when a GPU is expected (``--expect-gpu`` or
    ``PTYCHO_EXPECT_GPU=1``) and torch sees none, since CPU-only machines are a supported setup."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    shown = "unset" if visible is None else f'"{visible}"'
    devices = info["cuda_devices"] if info is not None else []
    parts = [f"{os.cpu_count()} CPU threads"]
    if info is not None:
        parts.append(f"torch uses {info['threads']}")
        parts.append(f"CUDA devices: {', '.join(devices) if devices else 'none'}")
    else:
        parts.append("CUDA devices: unknown (torch not importable)")
    parts.append(f"CUDA_VISIBLE_DEVICES={shown}")
    data = {"cuda_visible_devices": visible, "expect_gpu": expect_gpu}
    if expect_gpu and not devices:
        return Check("Accelerators", FAIL, "a GPU is expected but torch sees none: " + "; ".join(parts), GPU_FIX, data)
    parts.append("GPU expected" if expect_gpu else f"no GPU expected (--expect-gpu or {EXPECT_GPU_ENV}=1 require one)")
    return Check("Accelerators", OK, "; ".join(parts), data=data)


def expects_gpu(flag: bool = False) -> bool:
    """``--expect-gpu``, or ``PTYCHO_EXPECT_GPU`` set to anything but empty/0/false/no."""
    return flag or os.environ.get(EXPECT_GPU_ENV, "").strip().lower() not in ("", "0", "false", "no")
