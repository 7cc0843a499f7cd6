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


def _corners(top, left):
    """The four integer corners of each window with their bilinear weights."""
    ky, fy = _split(np.asarray(top, dtype=np.float64))
    kx, fx = _split(np.asarray(left, dtype=np.float64))
    return (
        (ky, kx, (1 - fy) * (1 - fx)),
        (ky, kx + 1, (1 - fy) * fx),
        (ky + 1, kx, fy * (1 - fx)),
        (ky + 1, kx + 1, fy * fx),
    )


def sample_windows(images: np.ndarray, top, left, shape: tuple[int, int]) -> np.ndarray:
    """Read windows ``out[b, i, j] = images[b](top[b] + i, left[b] + j)`` bilinearly, zero outside.

    ``images``: ``(B, H, W)`` or one ``(H, W)`` image shared by all windows; ``top``/``left``: ``(B,)``.
    Returns ``(B, h, w)`` with the images' dtype promoted to at least float64/complex128 precision
    of the inputs.
    """
    images = np.asarray(images)
    top = np.atleast_1d(np.asarray(top, dtype=np.float64))
    left = np.atleast_1d(np.asarray(left, dtype=np.float64))
    shared = images.ndim == 2
    H, W = images.shape[-2:]
    h, w = shape
    B = top.shape[0]
    out = np.zeros((B, h, w), dtype=np.result_type(images.dtype, np.float64))
    rows0 = np.arange(h)
    cols0 = np.arange(w)
    batch = np.arange(B)[:, None, None]
    for ky, kx, weight in _corners(top, left):
        rows = ky[:, None] + rows0[None, :]
        cols = kx[:, None] + cols0[None, :]
        valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
        r = np.clip(rows, 0, H - 1)[:, :, None]
        c = np.clip(cols, 0, W - 1)[:, None, :]
        picked = images[r, c] if shared else images[batch, r, c]
        out += weight[:, None, None] * np.where(valid, picked, 0)
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
    rows0 = np.arange(h)
    cols0 = np.arange(w)
    for start in range(0, B, chunk):
        sl = slice(start, min(start + chunk, B))
        values = windows[sl]
        plane = np.arange(sl.start, sl.stop) if per_window else np.zeros(sl.stop - sl.start, np.int64)
        for ky, kx, weight in _corners(top[sl], left[sl]):
            rows = (ky[:, None] + rows0[None, :])[:, :, None]
            cols = (kx[:, None] + cols0[None, :])[:, None, :]
            valid = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
            flat = (plane[:, None, None] * H + rows) * W + cols
            contrib = weight[:, None, None] * values
            idx = flat[np.broadcast_to(valid, contrib.shape)]
            picked = contrib[np.broadcast_to(valid, contrib.shape)]
            real += np.bincount(idx, weights=picked.real, minlength=real.size)
            if is_complex:
                imag += np.bincount(idx, weights=picked.imag, minlength=imag.size)
    out = real if imag is None else real + 1j * imag
    return out.reshape((B, H, W) if per_window else (H, W))
