"""Upstream-compatible home of ``reassemble_position`` (the ptychodus plugin imports it from here).

NumPy only: it calls the float64 stitching reference, so it needs no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from ptycho.physics.stitching import centred_canvas, stitch_aligned


def reassemble_position(obj_tensor, global_offsets, M: int = 20) -> np.ndarray:
    """Stitch ``(n, N, N[, 1])`` patches at ``global_offsets`` (``n`` pairs of ``(x, y)``, e.g. ``(n, 1, 2, 1)``).

    Returns ``(H, W, 1)`` complex (complex64 for complex64 patches, as upstream) on a canvas centred on the
    scan: its centre pixel ``((W − 1) / 2, (H − 1) / 2)`` is the centre of the offsets' bounding box, and it
    holds every central ``M × M`` window (:func:`ptycho.physics.stitching.centred_canvas`); the patches' free
    constant phases are aligned first (:func:`ptycho.physics.stitching.stitch_aligned`). Canvas pixel
    ``[r, c]`` is the object at ``(x, y) = (c, r) + origin`` with ``origin = centre − ((W − 1) / 2,
    (H − 1) / 2)``, not mirrored.

    Upstream PtychoPINN also returns a canvas centred on the scan (it pads around the offsets' centre of
    mass), and ptychodus relies on that: it places the result with its input object's centre and pixel
    size, and ptychodus centres a scan's object on the scan's bounding box (``compute_object_geometry``),
    so the stitched object lands in the scan's frame. An input object centred elsewhere (a subset of the
    scan, such as ptychodus's odd/even split, reconstructed on the whole scan's object) comes back moved
    by the difference of the two centres: nothing passed here says where that object is. Note: centred on
    the bounding box rather than the mean (which differ for an uneven scan), and the canvas is the smallest
    that holds every window rather than upstream's square of side ``M + 2·ceil(max |offset − mean|)``.
    """
    patches = np.asarray(obj_tensor)
    if patches.ndim == 4:
        patches = patches[..., 0]
    positions = np.asarray(global_offsets, dtype=np.float64).reshape(len(patches), 2)
    shape, origin = centred_canvas(positions, M)
    stitched = stitch_aligned(patches, positions, M, shape, origin)
    return stitched.astype(np.result_type(patches.dtype, np.complex64))[..., None]
