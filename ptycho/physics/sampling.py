"""Bilinear window sampling and its adjoint: the one interpolation rule of the project.

Every sub-pixel move in ptychopinn (translation, patch extraction, stitching, the model's group canvas)
is a window read from an image at a real-valued corner, with bilinear weights and zeros outside. Both
engines implement exactly this rule; this NumPy version is the float64 reference.

Axes: ``B`` batch, ``H``/``W`` image rows/columns, ``h``/``w`` window rows/columns. A window corner
``(top, left)`` is in image pixel coordinates, row = y, column = x.
"""

from __future__ import annotations

import numpy as np


def _split(start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    base = np.floor(start)
    return base.astype(np.int64), start - base


def _weights(fy: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bilinear weights of the four corners, top-left first, each ``(B, 1, 1)``."""
    fy, fx = fy[:, None, None], fx[:, None, None]
    return (1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx


# The four corners as slices of a window one pixel larger than the output: one gather or one overlap-add
# of that block serves all four (four separate fancy-index passes cost about 3x as much).
_CORNER_SLICES = (
    (slice(None, -1), slice(None, -1)),
    (slice(None, -1), slice(1, None)),
    (slice(1, None), slice(None, -1)),
    (slice(1, None), slice(1, None)),
)


def _block_indices(top, left, h: int, w: int, H: int, W: int):
    """Integer rows ``(B, h+1)`` and columns ``(B, w+1)`` of each window's block, the fractional parts, and
    whether every block lies inside the ``H × W`` image."""
    ky, fy = _split(np.asarray(top, dtype=np.float64))
    kx, fx = _split(np.asarray(left, dtype=np.float64))
    rows = ky[:, None] + np.arange(h + 1)[None, :]
    cols = kx[:, None] + np.arange(w + 1)[None, :]
    inside = bool(rows.min(initial=0) >= 0 and rows.max(initial=0) < H and cols.min(initial=0) >= 0
                  and cols.max(initial=0) < W)
    return rows, cols, fy, fx, inside


def sample_windows(images: np.ndarray, top, left, shape: tuple[int, int]) -> np.ndarray:
    """Read windows ``out[b, i, j] = images[b](top[b] + i, left[b] + j)`` bilinearly, zero outside.

    ``images``: ``(B, H, W)`` or one ``(H, W)`` image shared by all windows; ``top``/``left``: ``(B,)``.
    Returns ``(B, h, w)`` with the images' dtype promoted to at least float64/complex128 precision
    of the inputs.
    """
    images = np.asarray(images)
    top = np.atleast_1d(np.asarray(top, dtype=np.float64))
    left = np.atleast_1d(np.asarray(left, dtype=np.float64))
    H, W = images.shape[-2:]
    h, w = shape
    B = top.shape[0]
    rows, cols, fy, fx, inside = _block_indices(top, left, h, w, H, W)
    r = np.clip(rows, 0, H - 1)[:, :, None]
    c = np.clip(cols, 0, W - 1)[:, None, :]
    block = images[r, c] if images.ndim == 2 else images[np.arange(B)[:, None, None], r, c]
    dtype = np.result_type(images.dtype, np.float64)
    block = block.astype(dtype, copy=False)
    if not inside:  # zero outside the image
        valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
        block = np.where(valid, block, 0)
    out = np.zeros((B, h, w), dtype=dtype)
    for weight, (rs, cs) in zip(_weights(fy, fx), _CORNER_SLICES, strict=True):
        out += weight * block[:, rs, cs]
    return out


def scatter_windows(
    windows: np.ndarray, top, left, shape: tuple[int, int], *, per_window: bool = False, chunk: int = 1024
) -> np.ndarray:
    """Adjoint of :func:`sample_windows`: overlap-add windows into images, bilinearly.

    ``windows``: ``(B, h, w)``; ``top``/``left``: ``(B,)``. Returns the sum over windows as one ``(H, W)``
    image, or ``(B, H, W)`` with ``per_window=True`` (the adjoint of sampling from a batch of images).
    Works in chunks of ``chunk`` windows so memory stays bounded for large scans.
    """
    windows = np.asarray(windows)
    top = np.atleast_1d(np.asarray(top, dtype=np.float64))
    left = np.atleast_1d(np.asarray(left, dtype=np.float64))
    H, W = shape
    B, h, w = windows.shape
    n_out = B if per_window else 1
    is_complex = np.iscomplexobj(windows)
    real = np.zeros(n_out * H * W)
    imag = np.zeros(n_out * H * W) if is_complex else None
    for start in range(0, B, chunk):
        sl = slice(start, min(start + chunk, B))
        values = windows[sl]
        n = sl.stop - sl.start
        rows, cols, fy, fx, inside = _block_indices(top[sl], left[sl], h, w, H, W)
        block = np.zeros((n, h + 1, w + 1), dtype=np.result_type(values.dtype, np.float64))
        for weight, (rs, cs) in zip(_weights(fy, fx), _CORNER_SLICES, strict=True):
            block[:, rs, cs] += weight * values
        plane = np.arange(sl.start, sl.stop) if per_window else np.zeros(n, np.int64)
        flat = (plane[:, None, None] * H + rows[:, :, None]) * W + cols[:, None, :]
        if not inside:  # what falls outside the image is dropped
            valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
            flat, block = flat[valid], block[valid]
        real += np.bincount(flat.ravel(), weights=block.real.ravel(), minlength=real.size)
        if is_complex:
            imag += np.bincount(flat.ravel(), weights=block.imag.ravel(), minlength=imag.size)
    out = real if imag is None else real + 1j * imag
    return out.reshape((B, H, W) if per_window else (H, W))
