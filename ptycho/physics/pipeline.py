"""The model's physics stage in float64 NumPy: object patches in, diffraction amplitude out.

This is exactly what both engines compute after their decoders; their tests compare against it.
Axes: ``B`` groups, ``C`` patches per group, ``C'`` decoded patches (``C`` or 1), ``M`` probe modes.
"""

from __future__ import annotations

import numpy as np

from ptycho.architecture import gaussian_transfer, probe_support_mask
from ptycho.physics.forward import diffraction_amplitude
from ptycho.physics.group import enforce_overlap
from ptycho.physics.operators import as_probe_modes


def effective_probe(probe: np.ndarray, probe_mask: bool, smoothing_sigma: float) -> np.ndarray:
    """``(M, N, N)`` probe after the optional circular support and periodic Gaussian smoothing."""
    modes = as_probe_modes(np.asarray(probe, dtype=np.complex128))
    N = modes.shape[-1]
    if probe_mask:
        modes = modes * probe_support_mask(N)
    if smoothing_sigma > 0:
        modes = np.fft.ifft2(np.fft.fft2(modes) * gaussian_transfer(N, smoothing_sigma))
    return modes


def object_patches(decoded: np.ndarray, offsets: np.ndarray, channels: int, object_big: bool) -> np.ndarray:
    """``(B, N, N, C')`` decoded patches -> ``(B, N, N, C)`` patches the probe illuminates.

    ``offsets`` ``(B, 1, 2, C)``. With ``object_big`` the overlap constraint is applied; otherwise the
    one decoded patch stands for every channel.
    """
    if object_big and channels > 1:
        return enforce_overlap(decoded, offsets[:, 0])
    if object_big:
        return decoded  # one patch at relative offset 0: the overlap constraint is the identity
    return np.repeat(decoded, channels, axis=-1)


def predicted_amplitude(
    decoded: np.ndarray,
    offsets: np.ndarray,
    probe: np.ndarray,
    *,
    channels: int,
    object_big: bool,
    probe_mask: bool = False,
    smoothing_sigma: float = 0.0,
) -> np.ndarray:
    """Normalised far-field amplitude ``(B, N, N, C)`` of decoded patches (before the intensity scale)."""
    patches = object_patches(decoded, offsets, channels, object_big)
    P = effective_probe(probe, probe_mask, smoothing_sigma)
    B, N, _, C = patches.shape
    flat = np.moveaxis(patches, -1, 1).reshape(B * C, N, N)
    amp = diffraction_amplitude(P, flat).reshape(B, C, N, N)
    return np.moveaxis(amp, 1, -1)
