"""Iterative ptychography on the project's forward model (docs/design.md §2): batched ePIE / rPIE and a
Poisson-likelihood variant used to refine a network's reconstruction.

One update rule serves all three (Maiden, Johnson & Li, Optica 4, 736 (2017) for rPIE):

- Fourier step, per detector pixel, from the predicted intensity ``a²`` (summed over probe modes) and
  the measured counts ``I``: the exit wave's far field is multiplied by
  ``sqrt(I)/a`` (**modulus projection**, ePIE and rPIE), or by ``2I/(a² + I)`` (**Poisson**: one Newton
  step on ``λ − I·log λ`` in the amplitude ``a``; its fixed point is the same, ``a² = I``, and the factor
  stays finite where ``a → 0``).
- Object step: ``O += Σ conj(P)·Δψ / ((1 − α)·D + α·max D)``, ``D = Σ |P|²`` overlap-added over the batch.
  ``α = 1`` is ePIE's step; rPIE uses a small ``α``.
- Probe step (optional): the same with the roles of object and probe swapped.

Positions are visited in random batches (``batch_size``) so each iteration costs a few vectorised FFTs
and overlap-adds, and memory stays bounded by the batch. Patch reads and overlap-adds are the
bilinear :class:`~ptycho.physics.PatchExtraction` pair, so sub-pixel positions are honoured exactly as
the simulator and the consistency check read them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ptycho.physics import NLL_FLOOR, PatchExtraction, Propagation, as_probe_modes

ALGORITHMS = ("epie", "rpie", "poisson")
RPIE_ALPHA = 0.1  # Maiden et al. 2017 suggest 0.05-0.25
PROBE_ALPHA = 1.0  # probe steps use ePIE's normalisation: the object's |O|² varies little over a window


@dataclass(frozen=True)
class Scan:
    """What the solver fits: measured sqrt-count amplitudes ``(n, N, N)`` at ``(n, 2)`` ``(x, y)`` window
    centres in the object canvas' pixel frame."""

    amplitudes: np.ndarray
    positions: np.ndarray
    canvas_shape: tuple[int, int]

    @property
    def N(self) -> int:
        return self.amplitudes.shape[-1]

    def __len__(self) -> int:
        return len(self.amplitudes)

    def windows(self, index: np.ndarray) -> PatchExtraction:
        return PatchExtraction(self.positions[index], self.N, self.canvas_shape)


@dataclass
class Solution:
    obj: np.ndarray  # (H, W) complex128
    probe: np.ndarray  # (M, N, N) complex128
    history: list[dict] = field(default_factory=list)  # per iteration: poisson_nll, r_factor, seconds

    @property
    def seconds(self) -> float:
        return self.history[-1]["seconds"] if self.history else 0.0


def fourier_factor(predicted_intensity: np.ndarray, counts: np.ndarray, algorithm: str) -> np.ndarray:
    """The per-pixel factor applied to the predicted far field (see the module docstring)."""
    if algorithm == "poisson":
        total = predicted_intensity + counts
        return np.where(total > 0, 2 * counts / np.where(total > 0, total, 1.0), 1.0)
    return np.sqrt(counts) / np.sqrt(np.maximum(predicted_intensity, NLL_FLOOR))


def _denominator(weight: np.ndarray, alpha: float) -> np.ndarray:
    return (1 - alpha) * weight + alpha * weight.max()


def predict_intensity(obj: np.ndarray, probe: np.ndarray, scan: Scan, index: np.ndarray) -> np.ndarray:
    """``Σ_modes |fftshift(FFT2(P·O))|² / N²`` of the windows ``index``: ``(len(index), N, N)``."""
    far = Propagation().fwd(probe[None] * scan.windows(index).fwd(obj)[:, None])
    return np.sum(np.abs(far) ** 2, axis=1)


def data_fit(obj: np.ndarray, probe: np.ndarray, scan: Scan, chunk: int = 256) -> dict:
    """Mean Poisson NLL per pixel (``λ − I·log λ``) and R-factor ``Σ|a − A| / Σ A`` over the whole scan."""
    nll = residual = total = 0.0
    for start in range(0, len(scan), chunk):
        index = np.arange(start, min(start + chunk, len(scan)))
        lam = np.maximum(predict_intensity(obj, probe, scan, index), NLL_FLOOR)
        measured = scan.amplitudes[index].astype(np.float64)
        nll += float(np.sum(lam - measured**2 * np.log(lam)))
        residual += float(np.sum(np.abs(np.sqrt(lam) - measured)))
        total += float(np.sum(measured))
    return {"poisson_nll": nll / scan.amplitudes.size, "r_factor": residual / max(total, 1e-30)}


def match_scale(obj: np.ndarray, probe: np.ndarray, scan: Scan, sample: int = 256) -> np.ndarray:
    """``obj`` times the one factor that best matches predicted to measured amplitudes (least squares).

    A network's object and a probe guess are in arbitrary units; the solver needs them in counts.
    """
    index = np.linspace(0, len(scan) - 1, min(sample, len(scan))).astype(int)
    predicted = np.sqrt(predict_intensity(obj, probe, scan, index))
    measured = scan.amplitudes[index]
    factor = np.sum(predicted * measured) / max(np.sum(predicted**2), 1e-30)
    return obj * factor


def fill_uncovered(obj: np.ndarray) -> np.ndarray:
    """Pixels a stitched object left at zero get the mean modulus of the rest: a neutral start for PIE."""
    obj = np.array(obj, dtype=np.complex128)
    empty = np.abs(obj) == 0
    if empty.any() and not empty.all():
        obj[empty] = np.mean(np.abs(obj[~empty]))
    return obj if not empty.all() else np.ones_like(obj)


def solve(
    obj: np.ndarray,
    probe: np.ndarray,
    scan: Scan,
    iterations: int,
    *,
    algorithm: str = "rpie",
    refine_probe: bool = False,
    probe_start: int = 0,
    alpha: float | None = None,
    batch_size: int = 16,
    seed: int = 0,
    callback: Callable[[int, dict], None] | None = None,
) -> Solution:
    """``iterations`` passes over every scan position, starting from ``obj`` ``(H, W)`` and ``probe``.

    ``obj`` is first scaled to the data (:func:`match_scale`). ``probe_start``: first iteration that
    updates the probe (with ``refine_probe``). ``callback(iteration, row)`` gets each history row.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {algorithm!r} is not known; choose one of {', '.join(ALGORITHMS)}")
    if iterations < 0:
        raise ValueError(f"iterations={iterations} must be >= 0")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    if alpha is None:
        alpha = 1.0 if algorithm == "epie" else RPIE_ALPHA
    probe = as_probe_modes(np.asarray(probe, dtype=np.complex128)).copy()
    obj = match_scale(fill_uncovered(obj), probe, scan)
    rng = np.random.default_rng(seed)
    propagate = Propagation()
    history = []
    start = time.perf_counter()
    for iteration in range(iterations):
        update_probe = refine_probe and iteration >= probe_start
        for index in np.array_split(rng.permutation(len(scan)), max(1, len(scan) // batch_size)):
            windows = scan.windows(index)
            patches = windows.fwd(obj)  # (B, N, N)
            waves = probe[None] * patches[:, None]  # (B, M, N, N)
            far = propagate.fwd(waves)
            intensity = np.sum(np.abs(far) ** 2, axis=1)
            counts = scan.amplitudes[index].astype(np.float64) ** 2
            factor = fourier_factor(intensity, counts, algorithm)
            delta = propagate.adj(far * (factor[:, None] - 1))  # (B, M, N, N)
            probe_power = np.sum(np.abs(probe) ** 2, axis=0)
            numerator = windows.adj(np.sum(np.conj(probe)[None] * delta, axis=1))
            weight = windows.adj(np.broadcast_to(probe_power, patches.shape)).real
            obj = obj + numerator / _denominator(weight, alpha)
            if update_probe:
                object_power = np.sum(np.abs(patches) ** 2, axis=0)
                step = np.sum(np.conj(patches)[:, None] * delta, axis=0)
                probe = probe + step / _denominator(object_power, PROBE_ALPHA)[None]
        row = {"iteration": iteration + 1, **data_fit(obj, probe, scan), "seconds": time.perf_counter() - start}
        history.append(row)
        if callback is not None:
            callback(iteration, row)
    return Solution(obj, probe, history)
