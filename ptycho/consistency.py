"""Data-consistency of a reconstruction when there is no ground truth: the measured patterns against the
patterns the stitched object and probe predict (Poisson NLL per pixel and R-factor).

The predicted amplitudes are first matched to the measured ones by one least-squares scale factor,
because the reconstruction's amplitude scale is arbitrary.
"""

from __future__ import annotations

import numpy as np

from ptycho.physics import PatchExtraction, diffraction_amplitude, poisson_nll


def data_consistency(
    obj: np.ndarray, probe: np.ndarray, positions: np.ndarray, measured_amplitude: np.ndarray, chunk: int = 256
) -> dict:
    """``obj`` stitched ``(H, W)``, probe ``(N, N)``/``(modes, N, N)``, ``positions`` ``(n, 2)`` ``(x, y)`` in
    the object's frame, ``measured_amplitude`` ``(n, N, N)`` sqrt counts."""
    N = measured_amplitude.shape[-1]
    predicted = np.concatenate(
        [
            diffraction_amplitude(probe, PatchExtraction(positions[i : i + chunk], N, obj.shape).fwd(obj))
            for i in range(0, len(positions), chunk)
        ]
    )
    measured = np.asarray(measured_amplitude, np.float64)
    scale = float(np.sum(predicted * measured) / max(np.sum(predicted**2), 1e-30))
    predicted = predicted * scale
    r_factor = float(np.sum(np.abs(predicted - measured)) / max(np.sum(measured), 1e-30))
    return {
        "poisson_nll_per_pixel": poisson_nll(predicted**2, measured**2),
        "r_factor": r_factor,
        "amplitude_scale": scale,
        "patterns": int(len(measured)),
    }
