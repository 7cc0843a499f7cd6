"""Object families of a training corpus: seeded patterns in ``[0, 1]`` and the ways they make an object.

A family draws a pattern ``(size, size)`` from a generator; a *contrast* turns patterns into a complex
object ``A·exp(iφ)``: ``mixed`` (amplitude and phase from two independent patterns), ``coupled`` (one
pattern drives both, as in a real material: dense where it absorbs) or ``phase-only`` (amplitude 1).
Amplitude floor and phase span are drawn per object, so the network sees many contrasts.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import numpy as np
from scipy import ndimage

from ptycho.simulation.objects import _unit, gaussian_random_field, random_lines

CONTRASTS = ("mixed", "coupled", "phase-only")
AMP_FLOOR_RANGE = (0.3, 0.85)  # the darkest amplitude of an object; the brightest is 1
PHASE_SPAN_RANGE = (0.5, 2.5)  # radians from the lowest to the highest phase


def grf(correlation: float) -> Callable:
    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        return _unit(gaussian_random_field(size, rng, correlation))

    return draw


def lines(size: int, rng: np.random.Generator) -> np.ndarray:
    return _unit(random_lines(size, rng, count=int(rng.integers(40, 160))))


def spokes(size: int, rng: np.random.Generator) -> np.ndarray:
    """A Siemens-star-like pattern: random spoke count, centre, rotation and radius, sharp edges."""
    centre = rng.uniform(0.3, 0.7, 2) * size
    y, x = np.mgrid[:size, :size]
    angle = np.arctan2(y - centre[1], x - centre[0]) + rng.uniform(0, 2 * np.pi)
    radius = np.hypot(x - centre[0], y - centre[1])
    star = np.sin(int(rng.integers(8, 40)) / 2 * angle) > 0
    return (star & (radius < rng.uniform(0.3, 0.7) * size)).astype(float)


def particles(size: int, rng: np.random.Generator) -> np.ndarray:
    """Sharp-edged discs and convex polygons of random sizes and weights, overlapping freely."""
    image = np.zeros((size, size))
    y, x = np.mgrid[:size, :size]
    for _ in range(int(rng.integers(15, 60))):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(2, size / 10)
        if rng.random() < 0.5:
            inside = np.hypot(x - cx, y - cy) < r
        else:  # a polygon: inside every half-plane of its edges
            corners = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
            inside = np.ones((size, size), bool)
            for a in angles:
                inside &= (x - cx) * np.cos(a) + (y - cy) * np.sin(a) < r
        image[inside] += rng.uniform(0.3, 1.0)
    return _unit(image)


def _sample_images() -> list:
    """Grey-scale images matplotlib ships (no download)."""
    import matplotlib.image as mpimg

    folder = resources.files("matplotlib") / "mpl-data" / "sample_data"
    images = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        path = folder / name
        if path.is_file():
            image = np.asarray(mpimg.imread(str(path)), dtype=np.float64)
            images.append(image[..., :3].mean(axis=-1) if image.ndim == 3 else image)
    return images


def natural(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of one of matplotlib's bundled photographs, rotated and zoomed to ``size``."""
    images = _sample_images()
    if not images:
        raise RuntimeError("matplotlib's sample images are missing; drop the 'natural' family")
    image = images[int(rng.integers(len(images)))]
    side = int(min(image.shape) * rng.uniform(0.4, 1.0))
    y0 = int(rng.integers(0, image.shape[0] - side + 1))
    x0 = int(rng.integers(0, image.shape[1] - side + 1))
    crop = np.rot90(image[y0 : y0 + side, x0 : x0 + side], int(rng.integers(4)))
    return _unit(ndimage.zoom(crop, size / side, order=1)[:size, :size])


FAMILIES: dict[str, Callable] = {
    "grf-fine": grf(2.0),
    "grf-medium": grf(5.0),
    "grf-coarse": grf(10.0),
    "lines": lines,
    "spokes": spokes,
    "particles": particles,
    "natural": natural,
}


def compose_object(family: str, contrast: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A complex object of ``family`` with ``contrast`` (see the module docstring), ``(size, size)``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown object family {family!r}; choose from {', '.join(FAMILIES)}")
    if contrast not in CONTRASTS:
        raise ValueError(f"unknown contrast {contrast!r}; choose from {', '.join(CONTRASTS)}")
    draw = FAMILIES[family]
    first = draw(size, rng)
    second = first if contrast == "coupled" else draw(size, rng)
    floor = rng.uniform(*AMP_FLOOR_RANGE)
    span = rng.uniform(*PHASE_SPAN_RANGE)
    amplitude = np.ones((size, size)) if contrast == "phase-only" else 1 - (1 - floor) * first
    phase = span * (second - 0.5)
    return amplitude * np.exp(1j * phase)
