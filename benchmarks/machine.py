"""What machine a benchmark ran on: CPU model, cores, the ISA features convolution speed depends on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu() -> dict:
    info = {"model": platform.processor() or platform.machine(), "cores": os.cpu_count(), "features": []}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), None)
        flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
        info.update(model=model or info["model"], features=[f for f in FEATURES if f in flags])
    info["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE")
    return info


def describe() -> str:
    c = cpu()
    blas = f", OPENBLAS_CORETYPE={c['openblas_coretype']}" if c["openblas_coretype"] else ""
    return f"{c['model']}, {c['cores']} cores, {' '.join(c['features']) or 'no AVX2'}{blas}"
