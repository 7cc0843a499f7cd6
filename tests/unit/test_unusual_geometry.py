"""Findings of the outside fault campaign: valid but unusual scan geometry (one position, duplicates,
positions outside the object, positions in the wrong units) either works or gets a message naming the
positions and what to change. Before, ``infer`` and ``reconstruct`` ended in NumPy's "zero-size array to
reduction operation minimum which has no identity", or wrote NaN."""

import json

import numpy as np
import pytest

from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.commands import CPU_ONLY, run_ptycho

pytestmark = pytest.mark.per_pr
COORDS = ("xcoords", "ycoords", "xcoords_start", "ycoords_start")


def _one(a):
    for k in ("diffraction", "scan_index", *COORDS):
        a[k] = a[k][:1]


def _duplicates(a):
    for k in COORDS:
        a[k] = np.full_like(a[k], a[k][0])


def _outside(a):
    for k in ("xcoords", "xcoords_start"):
        a[k] = a[k] + 1000.0


def _wrong_units(a):
    for k in ("xcoords", "xcoords_start"):
        a[k] = np.linspace(-1e6, 1e6, len(a[k]))


# (edit, exit code, what stderr says, whether metrics are written)
GEOMETRIES = {
    "one position": (_one, 0, "", True),
    "duplicate positions": (_duplicates, 0, "", True),
    "outside the object": (_outside, 0, "scan positions lie outside 'objectGuess'", False),
    "wrong units": (_wrong_units, 1, "the scan positions span 2e+06 × ", False),
}


@pytest.fixture(scope="module")
def scan():
    return {k: v for k, v in simulate_dataset(SimulationSpec(N=64, n_positions=16, object_size=128, seed=0))[1].items()}


def _command(kind, data, out):
    if kind == "reconstruct":
        return ["reconstruct", "--iterations", "2", "--data", data, "--output-dir", out]
    return ["infer", "--model", "disk64-g1", "--refine", "1", "--data", data, "--output-dir", out]


@pytest.mark.parametrize("kind", ["reconstruct", pytest.param("infer", marks=pytest.mark.tf)])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_unusual_geometry_works_or_is_named(tmp_path, scan, kind, geometry):
    edit, code, says, has_metrics = GEOMETRIES[geometry]
    arrays = dict(scan)
    edit(arrays)
    data = write_npz(tmp_path / "scan.npz", arrays)
    out = tmp_path / "out"
    result = run_ptycho(*_command(kind, str(data), str(out)), env=CPU_ONLY, check=False)
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr and "zero-size array" not in result.stderr, result.stderr
    if code == 0:
        obj = np.load(out / "reconstruction.npz")["object"]
        assert np.isfinite(obj).all() and np.abs(obj).max() > 0
        assert (out / "metrics.json").exists() == has_metrics
        if has_metrics:
            assert all(np.isfinite(v["ssim"]) for k, v in json.loads((out / "metrics.json").read_text()).items()
                       if isinstance(v, dict) and "ssim" in v)
