"""Scan positions ``(n, 2)`` as ``(x, y)`` window centres that keep every ``N × N`` window inside the object."""

from __future__ import annotations

import numpy as np

SCANS = ("grid", "jitter", "spiral", "random")


def _bounds(object_size: int, N: int) -> tuple[float, float]:
    lo, hi = N / 2, object_size - N / 2 - 1  # bilinear reads one pixel past the window
    if hi <= lo:
        raise ValueError(f"object of {object_size} px is too small for {N}×{N} windows; use at least {N + 1} px")
    return lo, hi


def grid(object_size: int, N: int, step: float) -> np.ndarray:
    lo, hi = _bounds(object_size, N)
    axis = np.arange(lo, hi + 1e-9, step)
    xs, ys = np.meshgrid(axis, axis)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def jittered_grid(object_size: int, N: int, step: float, rng: np.random.Generator) -> np.ndarray:
    lo, hi = _bounds(object_size, N)
    points = grid(object_size, N, step) + rng.uniform(-step / 4, step / 4, size=(1, 2))
    points = points + rng.uniform(-step / 4, step / 4, size=points.shape)
    return np.clip(points, lo, hi)


def fermat_spiral(object_size: int, N: int, step: float) -> np.ndarray:
    """Fermat spiral with mean nearest-neighbour distance about ``step``, clipped to the object."""
    lo, hi = _bounds(object_size, N)
    centre = (lo + hi) / 2
    half = (hi - lo) / 2
    count = int(np.pi * half**2 / step**2 * 1.3) + 1
    k = np.arange(count)
    radius = step * np.sqrt(k) * 0.6
    theta = k * np.pi * (3 - np.sqrt(5))
    points = np.stack([centre + radius * np.cos(theta), centre + radius * np.sin(theta)], axis=1)
    inside = np.all((points >= lo) & (points <= hi), axis=1)
    return points[inside]


def random_positions(object_size: int, N: int, count: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = _bounds(object_size, N)
    return rng.uniform(lo, hi, size=(count, 2))


def make_scan(
    kind: str, object_size: int, N: int, step: float | None = None, count: int | None = None, seed: int | None = 0
) -> np.ndarray:
    """One of :data:`SCANS`. ``step`` defaults to ``N/4``; ``count`` (random scans) to the grid's count."""
    step = float(step or N / 4)
    rng = np.random.default_rng(seed)
    if kind == "grid":
        return grid(object_size, N, step)
    if kind == "jitter":
        return jittered_grid(object_size, N, step, rng)
    if kind == "spiral":
        return fermat_spiral(object_size, N, step)
    if kind == "random":
        return random_positions(object_size, N, count or len(grid(object_size, N, step)), rng)
    raise ValueError(f"unknown scan kind {kind!r}; choose one of {', '.join(SCANS)}")
