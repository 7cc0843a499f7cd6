"""Weekly: archives of every format version the project has written still load and reconstruct exactly,
in both engines; save/load round trips; damaged or foreign archives give precise errors and change nothing."""

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ptycho import params
from ptycho.archive import SUPPORTED_FORMAT_VERSIONS, read_archive
from ptycho.errors import ArchiveError
from ptycho.raw_data import RawData
from ptycho.workflows.inference import infer_with_backend

pytestmark = [pytest.mark.weekly, pytest.mark.tf, pytest.mark.torch]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARCHIVES = sorted((FIXTURES / "archives").glob("v*/*/wts.h5.zip"))
READERS = ("tensorflow", "pytorch")


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_fixture_exists_for_every_supported_format_version_and_engine():
    have = {(int(p.parents[1].name[1:]), p.parent.name) for p in ARCHIVES}
    assert have == {(v, e) for v in SUPPORTED_FORMAT_VERSIONS for e in READERS}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("archive", ARCHIVES, ids=lambda p: f"{p.parents[1].name}-{p.parent.name}")
def test_committed_archive_reconstructs_as_recorded(archive, reader):
    """Own engine and the other engine (through the neutral weights) reproduce the recorded patches."""
    params.reset()
    version = int(read_archive(archive).manifest["format_version"])
    assert f"v{version}" == archive.parents[1].name
    raw = RawData.from_file(FIXTURES / "data" / "sim_n64.npz")
    result = infer_with_backend(archive.parent, raw, reader)
    with np.load(archive.parent / "expected_patches.npz", allow_pickle=False) as expected:
        recorded = expected["patches"]
    error = np.max(np.abs(result.patches - recorded)) / np.max(np.abs(recorded))
    assert error <= 1e-5, f"{archive.parent.name} archive read by {reader}: relative error {error:.2e}"


@pytest.mark.parametrize("archive", ARCHIVES, ids=lambda p: f"{p.parents[1].name}-{p.parent.name}")
def test_save_load_round_trip_per_engine(archive, tmp_path):
    from ptycho.engines import get_engine
    from ptycho.workflows.models import load_model, write_model

    backend = archive.parent.name
    model, saved = load_model(archive.parent, backend)
    write_model(get_engine(backend), model, tmp_path, saved)
    again, saved_again = load_model(tmp_path, backend)
    before, after = model.export_weights(), again.export_weights()
    assert sorted(before) == sorted(after)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert saved_again["intensity_scale"] == pytest.approx(saved["intensity_scale"])


def _rewritten(src: Path, dst: Path, change) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin:
        members = {info.filename: zin.read(info) for info in zin.infolist()}
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in change(members).items():
            zout.writestr(name, data)
    return dst


def _flip_weight_byte(members):
    data = bytearray(members["neutral_weights.npz"])
    data[len(data) // 2] ^= 0xFF
    return {**members, "neutral_weights.npz": bytes(data)}


def _foreign(members):
    return {"model.safetensors": b"\x00" * 64, "config.json": b"{}"}


DAMAGE = {
    "tampered": (lambda src, dst: _rewritten(src, dst, _flip_weight_byte), r"checksum mismatch for neutral_weights.npz"),
    "truncated": (lambda src, dst: dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2]) and dst,
                  r"not a readable zip archive .* truncated"),
    "foreign zip": (lambda src, dst: _rewritten(src, dst, _foreign), r"no manifest.json"),
    "not a zip": (lambda src, dst: dst.write_bytes(b"%HDF5 pretending to be an archive") and dst,
                  r"not a readable zip archive"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_or_foreign_archive_is_refused_precisely_and_changes_nothing(damage, reader, tmp_path):
    make, message = DAMAGE[damage]
    folder = tmp_path / "model"
    folder.mkdir()
    make(ARCHIVES[0], folder / "wts.h5.zip")
    before = snapshot(tmp_path)
    params.reset()
    raw = RawData.from_file(FIXTURES / "data" / "sim_n64.npz")
    with pytest.raises(ArchiveError, match=message) as error:
        infer_with_backend(folder, raw, reader)
    assert str(folder / "wts.h5.zip") in str(error.value) or str(folder) in str(error.value)
    assert snapshot(tmp_path) == before


def test_manifest_records_the_format_version_and_every_member_checksum():
    for archive in ARCHIVES:
        with zipfile.ZipFile(archive) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            names = set(zf.namelist()) - {"manifest.json"}
        assert manifest["format_version"] in SUPPORTED_FORMAT_VERSIONS
        assert set(manifest["sha256"]) == names
