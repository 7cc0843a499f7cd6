"""A simulated training corpus: K seeded scans as NPZ shards plus a manifest.

Each shard is one contract-valid scan (its own object, photon level and jittered grid, one shared probe),
written atomically; ``manifest.json`` records every shard's seed, family, contrast, photons and sha256, and
the probe. Memory is bounded by one shard; the same spec gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path
from ptycho.data_contract import write_npz
from ptycho.simulation.families import CONTRASTS, FAMILIES, compose_object
from ptycho.simulation.probes import make_probe
from ptycho.simulation.scans import jittered_grid
from ptycho.simulation.simulate import simulate

log = logging.getLogger("ptycho.simulate")

MANIFEST = "manifest.json"
FORMAT = "ptycho-corpus/1"


@dataclass(frozen=True)
class CorpusSpec:
    """Everything that determines a corpus."""

    scans: int
    N: int = 64
    families: tuple[str, ...] = tuple(FAMILIES)
    contrasts: tuple[str, ...] = CONTRASTS
    photons: tuple[float, float] = (1e4, 1e9)  # log-uniform per scan
    object_size: int = 192
    scan_step: float | None = None  # default N/8
    probe_kind: str = "disk"
    probe_file: str | None = None
    probe_scale: float = 4.0
    counts: bool = True
    seed: int = 0


def shard_name(index: int) -> str:
    return f"scan_{index:05d}.npz"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan_arrays(spec: CorpusSpec, index: int, probe: np.ndarray) -> tuple[dict, dict]:
    """The arrays of scan ``index`` and its manifest entry; depends only on ``(spec, index)``."""
    rng = np.random.default_rng([spec.seed, index])
    family = spec.families[index % len(spec.families)]  # round robin: every family equally often
    contrast = spec.contrasts[int(rng.integers(len(spec.contrasts)))]
    photons = float(np.exp(rng.uniform(np.log(spec.photons[0]), np.log(spec.photons[1]))))
    obj = compose_object(family, contrast, spec.object_size, rng)
    positions = jittered_grid(spec.object_size, spec.N, float(spec.scan_step or spec.N / 8), rng)
    patterns = simulate(obj, probe, positions, photons, rng, counts=spec.counts)
    arrays = {
        "diffraction": patterns,
        "xcoords": positions[:, 0],
        "ycoords": positions[:, 1],
        "scan_index": np.zeros(len(positions), dtype=np.int64),
        "objectGuess": obj.astype(np.complex64),
        "probeGuess": probe.astype(np.complex64),
    }
    entry = {"index": index, "family": family, "contrast": contrast, "photons": photons,
             "patterns": len(positions)}
    return arrays, entry


def write_corpus(folder, spec: CorpusSpec, progress=None) -> Path:
    """Write ``spec.scans`` shards and the manifest into ``folder``; returns the manifest's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = make_probe(spec.probe_kind, spec.N, spec.probe_scale, path=spec.probe_file)
    write_npz(folder / "probe.npz", {"probeGuess": probe.astype(np.complex64)})
    entries = []
    for index in range(spec.scans):
        arrays, entry = scan_arrays(spec, index, probe)
        path = write_npz(folder / shard_name(index), arrays)
        entries.append(dict(entry, file=path.name, sha256=sha256(path)))
        if progress is not None:
            progress(index + 1, spec.scans, entry)
    manifest = {
        "format": FORMAT,
        "spec": asdict(spec),
        "probe": {"file": "probe.npz", "sha256": sha256(folder / "probe.npz")},
        "shards": entries,
    }
    with atomic_path(folder / MANIFEST) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=1) + "\n")
    return folder / MANIFEST


def manifest_hash(folder) -> str:
    """The sha256 of a corpus's manifest: one name for the whole corpus (it holds every shard's hash)."""
    return sha256(Path(folder) / MANIFEST)


def family_scan(family: str, seed: int, photons: float = 1e6, contrast: str = "mixed", N: int = 64) -> dict:
    """The arrays of one scan of ``family`` drawn as a corpus draws one, from ``seed``, with the default
    probe: fresh test data for a network trained on other seeds (or other families)."""
    spec = CorpusSpec(scans=1, N=N, families=(family,), contrasts=(contrast,), photons=(photons, photons), seed=seed)
    return scan_arrays(spec, 0, make_probe(spec.probe_kind, N, spec.probe_scale))[0]
