"""Probes ``(N, N)`` complex128: a defocused, soft-edged disk, or one read from an NPZ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

PROBES = ("disk", "file")


def defocused_disk(N: int, diameter: float, defocus: float = 1.5) -> np.ndarray:
    """Soft-edged disk of ``diameter`` pixels with a quadratic (defocus) phase of ``defocus`` rad at its rim."""
    y, x = np.mgrid[:N, :N] - N / 2
    r = np.hypot(x, y) / (diameter / 2)
    amplitude = ndimage.gaussian_filter((r <= 1).astype(float), 1.0)
    return amplitude * np.exp(1j * defocus * r**2)


def from_file(path, N: int) -> np.ndarray:
    """``probeGuess`` (or ``probe``) from an NPZ file; multi-mode probes keep their modes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"probe file not found: {path}")
    with np.load(path, allow_pickle=False) as npz:
        key = next((k for k in ("probeGuess", "probe") if k in npz.files), None)
        if key is None:
            raise ValueError(f"{path}: no 'probeGuess' or 'probe' array (found {npz.files})")
        probe = np.asarray(npz[key]).squeeze()
    if probe.shape[-2:] != (N, N) or probe.ndim not in (2, 3):
        raise ValueError(f"{path}: probe has shape {probe.shape}; expected ({N}, {N}) or (modes, {N}, {N})")
    return probe.astype(np.complex128)


def make_probe(kind: str, N: int, probe_scale: float = 4.0, path=None) -> np.ndarray:
    """``disk``: diameter ``2N / probe_scale`` (half the window at the default 4), or ``file``."""
    if kind == "disk":
        return defocused_disk(N, 2 * N / probe_scale)
    if kind == "file":
        if path is None:
            raise ValueError("probe kind 'file' needs an NPZ path")
        return from_file(path, N)
    raise ValueError(f"unknown probe kind {kind!r}; choose one of {', '.join(PROBES)}")
