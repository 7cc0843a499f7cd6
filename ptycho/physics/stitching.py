"""Stitching patches into one object: the normalised adjoint of patch extraction (float64 reference).

Each patch's central ``M × M`` region is overlap-added at its position (bilinear, sub-pixel) and divided
by the summed weights; pixels no patch reached are zero. Work is chunked so memory stays bounded.
"""

from __future__ import annotations

import numpy as np

from ptycho.errors import DataContractError
from ptycho.physics.group import WEIGHT_FLOOR
from ptycho.physics.sampling import sample_windows, scatter_windows

# 2^26 pixels: an 8192 × 8192 object (1 GiB as complex128), far beyond any scan we reconstruct; positions
# spread wider than that are in the wrong units, not a real scan.
MAX_CANVAS_PIXELS = 1 << 26


def central_region(patches: np.ndarray, M: int) -> np.ndarray:
    """The central ``M × M`` pixels of ``(B, N, N)`` patches."""
    N = patches.shape[-1]
    if not 0 < M <= N:
        raise ValueError(f"stitching window M={M} must be between 1 and the patch size N={N}")
    lo = N // 2 - M // 2
    return patches[:, lo : lo + M, lo : lo + M]


def canvas_for(positions: np.ndarray, M: int, margin: int = 1) -> tuple[tuple[int, int], np.ndarray]:
    """A canvas shape and origin ``(x0, y0)`` that hold every ``M × M`` window centred at ``positions``."""
    positions = np.asarray(positions, dtype=np.float64)
    low = np.floor(positions.min(axis=0) - M / 2) - margin
    high = np.ceil(positions.max(axis=0) + M / 2) + margin
    width, height = (high - low).astype(int) + 1
    return _bounded((int(height), int(width)), positions), low


def _bounded(shape: tuple[int, int], positions: np.ndarray) -> tuple[int, int]:
    """``shape``, refused when the positions' spread makes a canvas no scan needs (wrong coordinate units)."""
    if shape[0] * shape[1] > MAX_CANVAS_PIXELS:
        span = positions.max(axis=0) - positions.min(axis=0)
        raise DataContractError(
            f"the scan positions span {span[0]:.4g} × {span[1]:.4g} px (x × y), which needs a {shape[1]} × "
            f"{shape[0]} object, over the {MAX_CANVAS_PIXELS:,}-pixel limit; positions must be in pixels of the "
            "object: convert them (e.g. metres / pixel size)"
        )
    return shape


def centred_canvas(positions: np.ndarray, M: int, margin: int = 1) -> tuple[tuple[int, int], np.ndarray]:
    """A canvas shape and origin ``(x0, y0)`` that hold every ``M × M`` window centred at ``positions``, whose
    centre pixel ``((W − 1) / 2, (H − 1) / 2)`` lies exactly on the centre of the positions' bounding box.

    Each side is the smallest that reaches ``M / 2 + margin`` past the outermost positions; where the centre
    falls between pixels it takes the parity that keeps ``origin`` closest to a whole pixel (so windows at
    whole-pixel positions are not resampled).
    """
    positions = np.asarray(positions, dtype=np.float64)
    low, high = positions.min(axis=0), positions.max(axis=0)
    centre = (low + high) / 2
    size = np.ceil(high - low + M + 2 * margin).astype(int) + 1  # (size - 1) / 2 >= half extent + M/2 + margin
    origin = centre - (size - 1) / 2
    odd_offset = np.abs(origin - np.round(origin)) > 0.25
    size = size + odd_offset
    origin = centre - (size - 1) / 2
    return _bounded((int(size[1]), int(size[0])), positions), origin


def stitch(
    patches: np.ndarray,
    positions: np.ndarray,
    M: int,
    canvas_shape: tuple[int, int] | None = None,
    origin=(0.0, 0.0),
    chunk: int = 2048,
) -> np.ndarray:
    """Stitch ``(B, N, N)`` patches centred at ``(B, 2)`` ``(x, y)`` positions into an ``(H, W)`` object.

    ``origin`` is the object coordinate of canvas pixel ``[0, 0]``; without ``canvas_shape`` the canvas
    is the smallest that holds every window (:func:`canvas_for`).
    """
    patches = np.asarray(patches)
    positions = np.asarray(positions, dtype=np.float64)
    if patches.ndim != 3 or positions.shape != (patches.shape[0], 2):
        raise ValueError(
            f"stitch expects patches (B, N, N) and positions (B, 2); got {patches.shape} and {positions.shape}"
        )
    if canvas_shape is None:
        canvas_shape, origin = canvas_for(positions, M)
    window = central_region(patches, M)
    top = positions[:, 1] - origin[1] - M / 2
    left = positions[:, 0] - origin[0] - M / 2
    total = scatter_windows(window, top, left, canvas_shape, chunk=chunk)
    weight = scatter_windows(np.ones((1, M, M)).repeat(len(window), 0), top, left, canvas_shape, chunk=chunk)
    return np.where(weight > WEIGHT_FLOOR, total / np.where(weight > WEIGHT_FLOOR, weight, 1.0), 0)


def align_phases(
    patches: np.ndarray,
    positions: np.ndarray,
    M: int,
    canvas_shape: tuple[int, int] | None = None,
    origin=(0.0, 0.0),
    rounds: int = 8,
) -> np.ndarray:
    """Patches with their constant phase offsets made to agree with their neighbours.

    Diffraction does not see a constant phase factor of an object patch, so a network trained on
    diffraction leaves each patch's (each group's) phase offset free, and averaging patches with
    different offsets blurs the stitched phase. Each round stitches the central ``M × M`` windows, then
    rotates every patch by the phase of its window's overlap with that mosaic (a power iteration of phase
    synchronisation: a wide ``M``, e.g. ``N/2``, links far neighbours and converges in a few rounds); the
    mean rotation is removed, so the whole object keeps its phase reference.
    """
    patches = np.array(patches, dtype=np.complex128)
    positions = np.asarray(positions, dtype=np.float64)
    if canvas_shape is None:
        canvas_shape, origin = canvas_for(positions, M)
    top = positions[:, 1] - origin[1] - M / 2
    left = positions[:, 0] - origin[0] - M / 2
    for _ in range(rounds):
        mosaic = stitch(patches, positions, M, canvas_shape, origin)
        overlap = np.sum(np.conj(central_region(patches, M)) * sample_windows(mosaic, top, left, (M, M)), axis=(1, 2))
        rotation = np.angle(overlap)
        rotation -= np.angle(np.sum(np.exp(1j * rotation)))
        patches *= np.exp(1j * rotation)[:, None, None]
    return patches


def stitch_aligned(
    patches: np.ndarray, positions: np.ndarray, M: int, canvas_shape: tuple[int, int] | None = None, origin=(0.0, 0.0)
) -> np.ndarray:
    """:func:`stitch` after :func:`align_phases` over the probe-lit half ``N/2`` of each patch: how a
    network's patches become one object (their constant phases are free, see :func:`align_phases`)."""
    positions = np.asarray(positions, dtype=np.float64)
    if canvas_shape is None:
        canvas_shape, origin = canvas_for(positions, M)
    aligned = align_phases(patches, positions, np.shape(patches)[-1] // 2, canvas_shape, origin)
    return stitch(aligned, positions, M, canvas_shape, origin)
