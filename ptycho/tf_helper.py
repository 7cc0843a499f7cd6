"""Upstream-compatible home of ``reassemble_position`` (the ptychodus plugin imports it from here).

NumPy only: it calls the float64 stitching reference, so it needs no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ptycho.physics.stitching import stitch_aligned


def reassemble_position(obj_tensor, global_offsets, M: int = 20) -> np.ndarray:
    """Stitch ``(n, N, N[, 1])`` patches at ``global_offsets`` (``n`` pairs of ``(x, y)``, e.g. ``(n, 1, 2, 1)``).

    Returns ``(H, W, 1)`` complex, the smallest canvas that holds every central ``M × M`` window; the
    patches' free constant phases are aligned first (:func:`ptycho.physics.stitching.stitch_aligned`).
    """
    patches = np.asarray(obj_tensor)
    if patches.ndim == 4:
        patches = patches[..., 0]
    positions = np.asarray(global_offsets, dtype=np.float64).reshape(len(patches), 2)
    return stitch_aligned(patches, positions, M)[..., None]
