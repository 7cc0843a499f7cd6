"""An environment snapshot for breach reports and incident files (no engine is imported to take it)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

PACKAGES = ("numpy", "tensorflow-cpu", "tensorflow", "keras", "torch", "lightning")
ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OPENBLAS_CORETYPE",
    "PTYCHO_TIER",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu() -> str:
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.cuda.is_available():
            return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return "none (torch sees no CUDA device)"
    return "unknown (torch not imported)"


def snapshot() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "gpu": _gpu(),
        "env": {k: os.environ.get(k) for k in ENV_VARS if k in os.environ},
    }


def machine_description() -> dict:
    return {
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
