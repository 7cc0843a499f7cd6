"""A run whose loss turns non-finite stops at once with a clear message and writes no archive; an archive
with non-finite weights is never written, and ``inspect`` calls one invalid (issue: NaN training exited 0).

The faint dataset is the reported case: valid patterns of 1e-45 photons put the intensity scale outside
float32's range, so the first step's loss is inf or NaN in both engines.
"""

import hashlib
import json
import zipfile

import numpy as np
import pytest

from ptycho.archive import write_archive
from ptycho.data_contract import write_npz
from ptycho.errors import TrainingDivergedError
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.commands import CPU_ONLY, run_ptycho

pytestmark = pytest.mark.per_pr
BACKEND_MARK = {"tensorflow": pytest.mark.tf, "pytorch": pytest.mark.torch}
FIXTURES = __import__("pathlib").Path(__file__).parents[1] / "fixtures" / "archives" / "v1"


@pytest.fixture(scope="module")
def faint_npz(tmp_path_factory):
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=96, seed=1))
    arrays["diffraction"] = np.full_like(arrays["diffraction"], 1e-45)
    return write_npz(tmp_path_factory.mktemp("faint") / "faint.npz", arrays)


@pytest.mark.parametrize("backend", [pytest.param(b, marks=BACKEND_MARK[b]) for b in ("tensorflow", "pytorch")])
def test_non_finite_loss_stops_training_without_an_archive(backend, faint_npz, tmp_path):
    result = run_ptycho(
        "--quiet",
        "train",
        "--backend",
        backend,
        "--train-data",
        str(faint_npz),
        "--output-dir",
        str(tmp_path / "model"),
        "--epochs",
        "2",
        "--n-groups",
        "8",
        "--batch-size",
        "4",
        "--n-filters-scale",
        "1",
        env=CPU_ONLY,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"[{backend}] the training loss became" in result.stderr and "at epoch 1, step 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model" / "wts.h5.zip").exists()
    assert not list(tmp_path.rglob("*.ckpt"))


def test_an_archive_with_non_finite_weights_is_never_written(tmp_path):
    weights = {"encoder/block0/conv0/kernel": np.array([1.0, np.nan], np.float32)}
    with pytest.raises(TrainingDivergedError, match="non-finite weights .*encoder/block0/conv0/kernel"):
        write_archive(tmp_path, "tensorflow", {"intensity_scale": 1.0}, weights, {})
    with pytest.raises(TrainingDivergedError, match="intensity_scale"):
        write_archive(tmp_path, "tensorflow", {"intensity_scale": float("nan")}, {"w": np.ones(2)}, {})
    assert list(tmp_path.iterdir()) == []


def _with_nan_weight(source, destination):
    """A copy of a valid archive whose first neutral weight is NaN, checksums updated (as a buggy writer
    of an older version could have left it)."""
    import io

    with zipfile.ZipFile(source) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with np.load(io.BytesIO(members["neutral_weights.npz"]), allow_pickle=False) as npz:
        weights = {k: npz[k] for k in npz.files}
    first = sorted(weights)[0]
    weights[first] = np.full_like(weights[first], np.nan)
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    members["neutral_weights.npz"] = buffer.getvalue()
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"]["neutral_weights.npz"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(destination, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return first


def test_inspect_calls_an_archive_with_non_finite_weights_invalid(tmp_path):
    (tmp_path / "m").mkdir()
    archive = tmp_path / "m" / "wts.h5.zip"
    name = _with_nan_weight(FIXTURES / "tensorflow" / "wts.h5.zip", archive)
    result = run_ptycho("inspect", str(archive), check=False)
    assert result.returncode == 1 and "not a usable model" in result.stderr and name in result.stderr
    assert "Traceback" not in result.stderr
