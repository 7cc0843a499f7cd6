"""Probe guess handling (upstream ``ptycho.probe`` API), NumPy only.

The model works in normalised units (mean pattern power ``(N/2)²``). The probe is scaled so that an
object of RMS amplitude :data:`ptycho.architecture.AMPLITUDE_WORKING_POINT` reproduces that power: the
amplitude head, which starts there, then works in the responsive middle of its activation.
"""

from __future__ import annotations

import numpy as np

from ptycho import params
from ptycho.architecture import AMPLITUDE_WORKING_POINT
from ptycho.physics import as_probe_modes


def normalize_probe(probe: np.ndarray, N: int) -> np.ndarray:
    """``(modes, N, N)`` complex64 probe with total power ``(N/2)² / AMPLITUDE_WORKING_POINT²``."""
    modes = as_probe_modes(np.asarray(probe, dtype=np.complex128))
    if modes.shape[-2:] != (N, N):
        raise ValueError(f"probe guess has shape {np.shape(probe)}; expected ({N}, {N}) or (modes, {N}, {N})")
    power = np.sum(np.abs(modes) ** 2)
    if not np.isfinite(power) or power <= 0:
        raise ValueError("probe guess is zero or not finite; give a probe with non-zero amplitude")
    target = (N / 2) ** 2 / AMPLITUDE_WORKING_POINT**2
    return (modes * np.sqrt(target / power)).astype(np.complex64)


def set_probe_guess(X_train=None, probe_guess=None) -> np.ndarray:
    """Normalise ``probe_guess`` and store it in the legacy dict as ``probe`` (upstream call).

    ``X_train`` is accepted for upstream compatibility; the normalisation depends only on ``N``, because
    the data are normalised to a fixed mean power.
    """
    if probe_guess is None:
        raise ValueError("set_probe_guess needs a probe guess (the dataset's probeGuess)")
    probe = as_probe_modes(np.asarray(probe_guess))
    normalized = normalize_probe(probe, probe.shape[-1])
    params.set("probe", normalized)
    return normalized
