"""Iterative reconstruction and physics refinement of a scan (``ptycho reconstruct``, ``ptycho infer --refine``).

Both work in one canvas frame per scan: the ground truth's frame when the NPZ has ``objectGuess`` (so
metrics compare pixel for pixel), otherwise the smallest canvas that holds every ``N × N`` probe window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ptycho.physics import canvas_for
from ptycho.progress import IterationReporter
from ptycho.raw_data import RawData
from ptycho.solver.pie import Scan, Solution, solve

log = logging.getLogger("ptycho.solver")


@dataclass
class Estimate:
    """An object and probe in one canvas frame; ``positions`` are the scan's window centres in that frame
    and ``origin`` the scan coordinate ``(x, y)`` of canvas pixel ``[0, 0]``."""

    obj: np.ndarray
    probe: np.ndarray
    positions: np.ndarray
    origin: np.ndarray
    history: list[dict] = field(default_factory=list)
    label: str = ""

    @property
    def seconds(self) -> float:
        return self.history[-1]["seconds"] if self.history else 0.0


def scan_positions(raw: RawData) -> np.ndarray:
    return np.stack([raw.xcoords, raw.ycoords], axis=1).astype(np.float64)


def frame_for(raw: RawData) -> tuple[tuple[int, int], np.ndarray]:
    """Canvas shape and origin for ``raw`` (see the module docstring)."""
    if raw.objectGuess is not None:
        return raw.objectGuess.shape, np.zeros(2)
    return canvas_for(scan_positions(raw), raw.N)


def scan_of(raw: RawData) -> tuple[Scan, np.ndarray]:
    """The solver's view of ``raw`` and the frame's origin."""
    shape, origin = frame_for(raw)
    amplitudes = np.asarray(raw.diff3d, dtype=np.float32)
    return Scan(amplitudes, scan_positions(raw) - origin, tuple(shape)), origin


def _require_probe(raw: RawData) -> np.ndarray:
    if raw.probeGuess is None:
        raise ValueError(f"{raw.dataset.source}: no 'probeGuess'; iterative solvers need a probe guess in the NPZ")
    return checked_probe(raw.probeGuess, raw.dataset.source)


def checked_probe(probe: np.ndarray, source: str) -> np.ndarray:
    """``probe``, refused when it lights nothing (every update would divide by its zero power: NaN results)."""
    if not np.any(np.abs(probe) > 0):
        raise ValueError(f"{source}: 'probeGuess' is all zeros, so it illuminates nothing and no object can be "
                         "recovered; store the probe of the measurement (or a guess of it) in the NPZ")
    return probe


def _run(obj, probe, scan, origin, label, iterations, **options) -> Estimate:
    reporter = IterationReporter(iterations, label)
    solution: Solution = solve(obj, probe, scan, iterations, callback=reporter.done, **options)
    return Estimate(solution.obj, solution.probe, scan.positions, origin, solution.history, label)


def reconstruct_iterative(
    raw: RawData,
    algorithm: str = "rpie",
    iterations: int = 50,
    *,
    refine_probe: bool = False,
    batch_size: int = 16,
    seed: int = 0,
) -> Estimate:
    """Reconstruct ``raw`` from a flat object and its probe guess (the probe is updated from the third
    iteration on with ``refine_probe``, once the object has taken shape)."""
    scan, origin = scan_of(raw)
    flat = np.ones(scan.canvas_shape, np.complex128)
    return _run(
        flat,
        _require_probe(raw),
        scan,
        origin,
        algorithm,
        iterations,
        algorithm=algorithm,
        refine_probe=refine_probe,
        probe_start=2,
        batch_size=batch_size,
        seed=seed,
    )


def place(obj: np.ndarray, obj_origin, shape, origin) -> np.ndarray:
    """``obj`` (canvas pixel ``[0, 0]`` at scan coordinate ``obj_origin``) pasted into a zero canvas of
    ``shape`` whose pixel ``[0, 0]`` is at ``origin``; both origins lie on the integer grid."""
    out = np.zeros(shape, np.complex128)
    dx, dy = np.rint(np.asarray(obj_origin, float) - np.asarray(origin, float)).astype(int)
    h, w = obj.shape
    rows = slice(max(dy, 0), min(dy + h, shape[0]))
    cols = slice(max(dx, 0), min(dx + w, shape[1]))
    out[rows, cols] = obj[rows.start - dy : rows.stop - dy, cols.start - dx : cols.stop - dx]
    return out


def refine(
    obj: np.ndarray,
    obj_origin,
    raw: RawData,
    iterations: int,
    *,
    probe: np.ndarray | None = None,
    refine_probe: bool = False,
    batch_size: int = 16,
    seed: int = 0,
) -> Estimate:
    """Physics refinement: ``iterations`` Poisson-likelihood PIE passes over every pattern of ``raw``,
    starting from a network's stitched ``obj`` (and ``probe``, default the data's probe guess)."""
    scan, origin = scan_of(raw)
    start = place(obj, obj_origin, scan.canvas_shape, origin)
    probe = _require_probe(raw) if probe is None else checked_probe(probe, raw.dataset.source)
    return _run(
        start,
        probe,
        scan,
        origin,
        "refine",
        iterations,
        algorithm="poisson",
        refine_probe=refine_probe,
        batch_size=batch_size,
        seed=seed,
    )
