"""Forward-simulate a dataset: patches of an object under a probe, far-field counts with Poisson noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptycho.data_contract import Dataset, from_arrays
from ptycho.errors import ConfigError
from ptycho.physics import PatchExtraction, diffraction_amplitude
from ptycho.simulation.objects import make_object
from ptycho.simulation.probes import make_probe
from ptycho.simulation.scans import make_scan


@dataclass(frozen=True)
class SimulationSpec:
    """Everything that determines a simulated dataset; the same spec and seed give the same file."""

    N: int = 64
    object_kind: str = "lines"
    object_size: int = 192
    object_image: str | None = None
    probe_kind: str = "disk"
    probe_file: str | None = None
    probe_scale: float = 4.0
    scan_kind: str = "jitter"
    scan_step: float | None = None
    n_positions: int | None = None
    nphotons: float = 1e9
    counts: bool = False
    seed: int = 0


def simulate(
    obj: np.ndarray,
    probe: np.ndarray,
    positions: np.ndarray,
    nphotons: float,
    rng: np.random.Generator,
    counts: bool = False,
) -> np.ndarray:
    """Noisy patterns ``(n, N, N)``: sqrt of Poisson counts (float32), or the counts (int32) with ``counts``.

    The noiseless intensity is scaled so the mean total counts per pattern equal ``nphotons``.
    """
    N = probe.shape[-1]
    patches = PatchExtraction(positions, N, obj.shape).fwd(obj)
    intensity = diffraction_amplitude(probe, patches) ** 2
    intensity *= nphotons / np.sum(intensity, axis=(1, 2)).mean()
    measured = rng.poisson(intensity)
    if counts:
        if measured.max() > np.iinfo(np.int32).max:
            raise ValueError("counts overflow int32; lower nphotons or store amplitudes")
        return measured.astype(np.int32)
    return np.sqrt(measured).astype(np.float32)


def simulate_dataset(spec: SimulationSpec) -> tuple[Dataset, dict]:
    """A contract-valid dataset with ground truth ``objectGuess`` and the true ``probeGuess``.

    Returns the dataset and the raw arrays to write (integer counts when ``spec.counts``).
    """
    rng = np.random.default_rng(spec.seed)
    obj = make_object(spec.object_kind, spec.object_size, seed=spec.seed, image_path=spec.object_image)
    probe = make_probe(spec.probe_kind, spec.N, spec.probe_scale, path=spec.probe_file)
    positions = make_scan(
        spec.scan_kind, spec.object_size, spec.N, spec.scan_step, spec.n_positions, seed=spec.seed + 1
    )
    if spec.n_positions is not None and spec.scan_kind != "random":
        if spec.n_positions > len(positions):  # never hand back fewer patterns than asked for, silently
            raise ConfigError(
                f"n_positions={spec.n_positions} (--n-positions): the {spec.scan_kind} scan over a "
                f"{spec.object_size}-px object holds only {len(positions)} positions; ask for fewer, raise "
                "object_size (--object-size) or lower scan_step (--scan-step)"
            )
        positions = positions[: spec.n_positions]
    patterns = simulate(obj, probe, positions, spec.nphotons, rng, counts=spec.counts)
    arrays = {
        "diffraction": patterns,
        "xcoords": positions[:, 0],
        "ycoords": positions[:, 1],
        "xcoords_start": positions[:, 0],
        "ycoords_start": positions[:, 1],
        "scan_index": np.zeros(len(positions), dtype=np.int64),
        "objectGuess": obj.astype(np.complex64),
        "probeGuess": probe.astype(np.complex64),
    }
    return from_arrays(arrays, source="simulation"), arrays
