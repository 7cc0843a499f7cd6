"""The PINN forward model and its scalings, in float64 NumPy (docs/design.md §2, normative)."""

from __future__ import annotations

import numpy as np

from ptycho.physics.operators import Illumination, Propagation

NLL_FLOOR = 1e-12  # λ is clamped here before the log


def diffraction_amplitude(probe: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """``sqrt(Σ_modes |fftshift(FFT2(P·O))|² / N²)``: ``(B, N, N)`` complex patches -> ``(B, N, N)`` real."""
    farfield = Propagation().fwd(Illumination(probe).fwd(patches))
    return np.sqrt(np.sum(np.abs(farfield) ** 2, axis=1))


def poisson_nll(predicted_counts: np.ndarray, counts: np.ndarray) -> float:
    """Mean Poisson negative log-likelihood ``λ − I·log λ`` without the ``log I!`` constant; λ ≥ 1e-12."""
    lam = np.maximum(np.asarray(predicted_counts, dtype=np.float64), NLL_FLOOR)
    return float(np.mean(lam - np.asarray(counts, dtype=np.float64) * np.log(lam)))


def intensity_scale(nphotons: float, N: int) -> float:
    """Factor from normalised amplitudes (mean pattern power ``(N/2)²``) to sqrt-counts."""
    return float(np.sqrt(nphotons) / (N / 2))


def normalisation_factor(amplitudes: np.ndarray) -> float:
    """Factor that brings amplitudes ``(n, N, N[, C])`` to a mean per-pattern power of ``(N/2)²``."""
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    N = amplitudes.shape[1]
    power = np.sum(amplitudes**2, axis=(1, 2)).mean()
    if not np.isfinite(power) or power <= 0:
        raise ValueError("cannot normalise diffraction data whose mean pattern power is zero or not finite")
    return float((N / 2) / np.sqrt(power))


def mean_photons(amplitudes: np.ndarray) -> float:
    """Mean total counts per pattern of sqrt-count amplitudes (the default ``nphotons`` of measured data)."""
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    return float(np.sum(amplitudes**2, axis=(1, 2)).mean())
