"""Test objects ``A·exp(iφ)`` of shape ``(H, W)`` complex128, amplitude in ``[0.4, 1]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

OBJECTS = ("lines", "grf", "star", "image", "sharp")
AMP_RANGE = (0.4, 1.0)
PHASE_RANGE = (-1.0, 1.0)  # radians


def _unit(pattern: np.ndarray) -> np.ndarray:
    lo, hi = pattern.min(), pattern.max()
    return np.zeros_like(pattern) if hi - lo < 1e-12 else (pattern - lo) / (hi - lo)


def compose(amplitude_pattern: np.ndarray, phase_pattern: np.ndarray) -> np.ndarray:
    """Object from two patterns, each rescaled to the amplitude and phase ranges."""
    amp = AMP_RANGE[0] + (AMP_RANGE[1] - AMP_RANGE[0]) * _unit(amplitude_pattern)
    phase = PHASE_RANGE[0] + (PHASE_RANGE[1] - PHASE_RANGE[0]) * _unit(phase_pattern)
    return amp * np.exp(1j * phase)


def random_lines(size: int, rng: np.random.Generator, count: int = 120) -> np.ndarray:
    """Randomly placed, slightly blurred line segments (the upstream 'lines' object)."""
    image = np.zeros((size, size))
    for _ in range(count):
        x0, y0 = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(size / 16, size / 4)
        t = np.linspace(-length / 2, length / 2, int(length * 2) + 2)
        xs = np.clip((x0 + t * np.cos(angle)).astype(int), 0, size - 1)
        ys = np.clip((y0 + t * np.sin(angle)).astype(int), 0, size - 1)
        image[ys, xs] += rng.uniform(0.5, 1.0)
    return ndimage.gaussian_filter(image, 1.0)


def gaussian_random_field(size: int, rng: np.random.Generator, correlation: float = 6.0) -> np.ndarray:
    return ndimage.gaussian_filter(rng.standard_normal((size, size)), correlation, mode="wrap")


def siemens_star(size: int, spokes: int = 24) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    angle = np.arctan2(y, x)
    radius = np.hypot(x, y)
    star = (np.sin(spokes / 2 * angle) > 0).astype(float)
    return ndimage.gaussian_filter(star * (radius < 0.45 * size), 0.7)


def sharp_features(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The hard case: thin (2 px) unblurred lines and blobs in amplitude (0.5–1), a smooth phase plus an
    asymmetric L-shaped block (so a mirrored or rotated reconstruction cannot pass)."""
    absorb = np.zeros((size, size))
    for _ in range(size // 3):
        x0, y0 = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        t = np.linspace(-1, 1, 4 * size) * rng.uniform(size / 16, size / 5)
        for width in (0, 1):  # two pixels wide: sharp, yet resolved at 1e6 photons (rPIE-50 SSIM ~0.97)
            xs = np.clip((x0 + t * np.cos(angle) + width * abs(np.sin(angle))).astype(int), 0, size - 1)
            ys = np.clip((y0 + t * np.sin(angle) + width * abs(np.cos(angle))).astype(int), 0, size - 1)
            absorb[ys, xs] = 1.0
    y, x = np.mgrid[:size, :size]
    for _ in range(size // 12):
        cx, cy = rng.uniform(0, size, 2)
        absorb[np.hypot(x - cx, y - cy) < rng.uniform(2, 6)] = rng.uniform(0.5, 1.0)
    amplitude = 1 - 0.5 * absorb
    phase = _unit(gaussian_random_field(size, rng, size / 12)) - 0.5
    q = size // 3
    block = np.zeros((size, size), bool)
    block[q : q + size // 6, q : 2 * q] = True
    block[q : 2 * q, q : q + size // 10] = True
    phase = phase + 0.5 * block  # within the ±1 rad of every test object
    return amplitude, phase


def from_image(path, size: int) -> np.ndarray:
    """A grey-scale image file, resized to ``size × size``, as a pattern in ``[0, 1]``."""
    import matplotlib.image as mpimg

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"object image not found: {path}")
    image = np.asarray(mpimg.imread(path), dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3].mean(axis=-1)
    zoom = (size / image.shape[0], size / image.shape[1])
    return _unit(ndimage.zoom(image, zoom, order=1)[:size, :size])


def make_object(kind: str, size: int, seed: int | None = 0, image_path=None) -> np.ndarray:
    """One of :data:`OBJECTS`. Amplitude and phase use different patterns, so both can be judged."""
    rng = np.random.default_rng(seed)
    if kind == "lines":
        return compose(random_lines(size, rng), random_lines(size, rng))
    if kind == "grf":
        return compose(gaussian_random_field(size, rng), gaussian_random_field(size, rng))
    if kind == "star":
        star = siemens_star(size)
        return compose(1 - star, star)
    if kind == "sharp":
        amplitude, phase = sharp_features(size, rng)
        return amplitude * np.exp(1j * phase)
    if kind == "image":
        if image_path is None:
            raise ValueError("object kind 'image' needs an image file path")
        pattern = from_image(image_path, size)
        return compose(pattern, 1 - pattern)
    raise ValueError(f"unknown object kind {kind!r}; choose one of {', '.join(OBJECTS)}")
