"""Linear operators of the forward model, each with ``fwd`` and its adjoint ``adj`` (float64 reference).

Axes: ``B`` patches, ``M`` probe modes, ``N`` patch side, ``H``/``W`` canvas rows/columns. Positions and
offsets are ``(x, y)`` pairs in object pixels (x = column, y = row). A patch at position ``(x, y)`` covers
rows ``y - N/2 … y + N/2 - 1`` and columns ``x - N/2 … x + N/2 - 1``: the position is the window centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptycho.physics.sampling import sample_windows, scatter_windows


def as_probe_modes(probe: np.ndarray) -> np.ndarray:
    """Probe as ``(M, N, N)`` complex: a single ``(N, N)`` probe becomes one mode."""
    probe = np.asarray(probe)
    return probe[None] if probe.ndim == 2 else probe


@dataclass(frozen=True)
class Propagation:
    """Centred, unitary far-field propagation: ``fwd(ψ) = fftshift(FFT2(ψ)) / N`` over the last two axes."""

    def fwd(self, wave: np.ndarray) -> np.ndarray:
        n = wave.shape[-1]
        return np.fft.fftshift(np.fft.fft2(wave), axes=(-2, -1)) / n

    def adj(self, farfield: np.ndarray) -> np.ndarray:
        n = farfield.shape[-1]
        return np.fft.ifft2(np.fft.ifftshift(farfield, axes=(-2, -1))) * n


@dataclass(frozen=True)
class Illumination:
    """Exit waves of object patches under a (multi-mode) probe: ``fwd(O)[b, m] = P[m] · O[b]``."""

    probe: np.ndarray  # (N, N) or (M, N, N) complex

    def fwd(self, patches: np.ndarray) -> np.ndarray:
        return as_probe_modes(self.probe)[None] * patches[:, None]

    def adj(self, waves: np.ndarray) -> np.ndarray:
        return np.sum(np.conj(as_probe_modes(self.probe))[None] * waves, axis=1)


@dataclass(frozen=True)
class Translation:
    """Sub-pixel shift of each image by its own offset: ``fwd(I)[b](y, x) = I[b](y - dy_b, x - dx_b)``.

    Bilinear, zero-filled (see :mod:`ptycho.physics.sampling`). ``offsets``: ``(B, 2)`` as ``(dx, dy)``.
    """

    offsets: np.ndarray

    def _corner(self):
        offsets = np.asarray(self.offsets, dtype=np.float64)
        return -offsets[:, 1], -offsets[:, 0]

    def fwd(self, images: np.ndarray) -> np.ndarray:
        top, left = self._corner()
        return sample_windows(images, top, left, images.shape[-2:])

    def adj(self, images: np.ndarray) -> np.ndarray:
        top, left = self._corner()
        return scatter_windows(images, top, left, images.shape[-2:], per_window=True)


@dataclass(frozen=True)
class PatchExtraction:
    """Read ``N × N`` patches centred at ``positions`` from one object canvas; ``adj`` is overlap-add."""

    positions: np.ndarray  # (B, 2) as (x, y)
    patch_size: int
    canvas_shape: tuple[int, int]

    def _corner(self, size: int):
        positions = np.asarray(self.positions, dtype=np.float64)
        return positions[:, 1] - size / 2, positions[:, 0] - size / 2

    def fwd(self, canvas: np.ndarray) -> np.ndarray:
        top, left = self._corner(self.patch_size)
        return sample_windows(canvas, top, left, (self.patch_size, self.patch_size))

    def adj(self, patches: np.ndarray, chunk: int = 1024) -> np.ndarray:
        top, left = self._corner(self.patch_size)
        return scatter_windows(patches, top, left, self.canvas_shape, chunk=chunk)
