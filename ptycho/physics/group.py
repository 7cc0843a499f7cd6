"""The overlap constraint of a group of ``C`` patches (``object_big``), float64 reference.

The ``C`` patches of a group are placed on a shared ``2N × 2N`` canvas at their relative offsets and
averaged where they overlap; each patch is then read back from that canvas. A patch at relative offset
``(dx, dy)`` is centred at canvas pixel ``(N + dx, N + dy)``. Both engines do exactly this with
translations of the zero-padded patch, which equal the bilinear overlap-add of
:mod:`ptycho.physics.sampling`.

Axes: ``B`` groups, ``C`` patches per group (channel ``c`` ↔ ``(c // gridsize, c % gridsize)``).
"""

from __future__ import annotations

import numpy as np

from ptycho.physics.operators import Translation

WEIGHT_FLOOR = 1e-6  # canvas pixels with less total weight are left at zero


def pad_to_canvas(patches: np.ndarray) -> np.ndarray:
    """``(B, N, N)`` patches, zero-padded to the centre of a ``(B, 2N, 2N)`` canvas."""
    N = patches.shape[-1]
    pad = N // 2
    return np.pad(patches, ((0, 0), (pad, pad), (pad, pad)))


def merge_group(patches: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(B, N, N, C)`` patches and ``(B, 2, C)`` relative ``(dx, dy)`` offsets -> ``(B, 2N, 2N)`` canvas."""
    B, N, _, C = patches.shape
    total = 0
    weight = 0
    ones = np.ones((B, N, N))
    for c in range(C):
        shift = Translation(offsets[:, :, c])
        total = total + shift.fwd(pad_to_canvas(patches[..., c]))
        weight = weight + shift.fwd(pad_to_canvas(ones))
    return total / np.where(weight > WEIGHT_FLOOR, weight, 1.0)


def split_group(canvas: np.ndarray, offsets: np.ndarray, N: int) -> np.ndarray:
    """Read each patch back: ``(B, 2N, 2N)`` canvas -> ``(B, N, N, C)``."""
    C = offsets.shape[-1]
    lo, hi = N // 2, N // 2 + N
    patches = [Translation(-offsets[:, :, c]).fwd(canvas)[:, lo:hi, lo:hi] for c in range(C)]
    return np.stack(patches, axis=-1)


def enforce_overlap(patches: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Merge then split: the patches a group's shared object implies."""
    return split_group(merge_group(patches, offsets), offsets, patches.shape[1])
