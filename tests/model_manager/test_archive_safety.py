"""Per PR: archives are checked directory-first (nothing unlisted, oversized or bomb-like is inflated), the
manifest and params are type-checked field by field, relabelling the backend is caught (integrity record,
and params.json for archives written before it), and older archives still load."""

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from archive_cases import (
    Member,
    huge_zero_member,
    make_valid_archive,
    manifest_of,
    npz_with_object_array,
    read_members,
    with_manifest,
    with_member,
    write_zip,
)

from ptycho.archive import (
    INTEGRITY_FIELD,
    MANIFEST,
    MAX_ARCHIVE_BYTES_ENV,
    NEUTRAL_WEIGHTS,
    PARAMS,
    read_archive,
)
from ptycho.errors import ArchiveError, ConfigError

pytestmark = pytest.mark.per_pr
V1 = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v1").glob("*/wts.h5.zip"))
GARBAGE_DEFLATE = b"\xff" * 64  # not a deflate stream: inflating it would fail, so a refusal naming
# anything else proves the member was never inflated


def refused(path: Path, match: str) -> str:
    with pytest.raises(ArchiveError, match=match) as error:
        read_archive(path).neutral_weights()
    assert str(path) in str(error.value)
    return str(error.value)


@pytest.fixture
def members(tmp_path):
    return read_members(make_valid_archive(tmp_path / "valid"))


def test_committed_v1_archives_read_without_an_integrity_record():
    assert len(V1) == 2
    for path in V1:
        archive = read_archive(path)
        assert archive.backend == path.parent.name and not archive.has_integrity_record
        assert archive.neutral_weights()


def test_new_archives_carry_a_manifest_integrity_record(tmp_path):
    archive = read_archive(make_valid_archive(tmp_path))
    assert archive.has_integrity_record and len(archive.manifest[INTEGRITY_FIELD]) == 64
    assert archive.params["backend"] == archive.backend == "pytorch"


def test_relabelled_backend_is_refused_by_the_integrity_record(tmp_path, members):
    manifest = manifest_of(members)
    manifest["backend"] = "tensorflow"
    path = write_zip(tmp_path / "wts.h5.zip", with_manifest(members, manifest, refresh=False))
    refused(path, r"does not match its integrity record 'manifest_sha256'")


def test_relabelled_backend_with_a_recomputed_record_is_refused_by_params(tmp_path, members):
    manifest = manifest_of(members)
    manifest["backend"] = "tensorflow"
    path = write_zip(tmp_path / "wts.h5.zip", with_manifest(members, manifest))
    refused(path, r"manifest.json says backend 'tensorflow' but params.json says 'pytorch'")


@pytest.mark.parametrize("fixture", V1, ids=lambda p: p.parent.name)
def test_relabelled_backend_of_an_older_archive_is_refused_by_params(tmp_path, fixture):
    members = read_members(fixture)
    manifest = manifest_of(members)
    manifest["backend"] = {"pytorch": "tensorflow", "tensorflow": "pytorch"}[manifest["backend"]]
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(members, manifest)), r"manifest was relabelled")


CONFUSED_MANIFESTS = {
    "backend jax": (lambda m: m.update(backend="jax"), r"field 'backend' is 'jax', not one of 'tensorflow'"),
    "no backend": (lambda m: m.pop("backend"), r"field 'backend' is None"),
    "sha256 as list": (lambda m: m.update(sha256=list(m["sha256"])), r"field 'sha256' is list, not a mapping"),
    "digest as list": (lambda m: m["sha256"].update({PARAMS: ["x"]}), r"gives 'params.json' the digest \['x'\]"),
    "models as string": (lambda m: m.update(models="autoencoder"), r"field 'models' is 'autoencoder'"),
    "engine_files unlisted": (lambda m: m.update(engine_files=["other.bin"]), r"names \['other.bin'\]"),
    "version true": (lambda m: m.update(format_version=True), r"format version True is not supported"),
    "version 1.0": (lambda m: m.update(format_version=1.0), r"format version 1.0 is not supported"),
    "version 2": (lambda m: m.update(format_version=2), r"upgrade ptychopinn"),
    "created as number": (lambda m: m.update(created_utc=5), r"field 'created_utc' is 5, not a string"),
}


@pytest.mark.parametrize("case", CONFUSED_MANIFESTS)
def test_type_confused_manifest_is_refused_naming_the_field(tmp_path, members, case):
    change, message = CONFUSED_MANIFESTS[case]
    manifest = manifest_of(members)
    change(manifest)
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(members, manifest)), message)


def test_manifest_that_is_a_list_is_refused(tmp_path, members):
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(members, ["format"])), r"does not describe a")


CONFUSED_PARAMS = {
    "list": ([1, 2], r"params.json holds a list, not an object of settings"),
    "no intensity_scale": ({"N": 64}, r"'intensity_scale' is None, not a finite positive number"),
    "scale as text": ({"intensity_scale": "987"}, r"'intensity_scale' is '987'"),
    "scale nan": ({"intensity_scale": float("nan")}, r"'intensity_scale' is nan"),
    "scale true": ({"intensity_scale": True}, r"'intensity_scale' is True"),
    "N as text": ({"intensity_scale": 9.0, "N": "64"}, r"params.json describes no valid model .*N='64'"),
    "probe_modes 0": ({"intensity_scale": 9.0, "probe_modes": 0}, r"'probe_modes' is 0"),
    # the outside campaign: N=0 (ptychodus's placeholder before it sets N) was called a valid archive
    "N 0": ({"intensity_scale": 9.0, "N": 0}, r"field 'N' is 0, not a patch size a model is trained at"),
}


@pytest.mark.parametrize("case", CONFUSED_PARAMS)
def test_type_confused_params_are_refused_naming_the_field(tmp_path, members, case):
    params, message = CONFUSED_PARAMS[case]
    changed = with_member(members, PARAMS, json.dumps(params).encode())
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(changed, manifest_of(changed))), message)


def test_unlisted_member_is_refused_before_it_is_inflated(tmp_path, members):
    stray = Member("extra.bin", payload=GARBAGE_DEFLATE, size=3 << 30, crc=0)
    refused(write_zip(tmp_path / "wts.h5.zip", [*members, stray]), r"\['extra.bin'\] are not listed in the manifest")


def test_declared_size_over_the_ceiling_is_refused_before_inflating(tmp_path, members):
    big = [replace(m, payload=GARBAGE_DEFLATE, size=2 << 30, crc=0) if m.name == NEUTRAL_WEIGHTS else m
           for m in members]
    message = refused(write_zip(tmp_path / "wts.h5.zip", big), r"over the ceiling of 1073741824 bytes")
    assert f"set {MAX_ARCHIVE_BYTES_ENV} to a larger number of bytes" in message and "nothing was inflated" in message


def test_ceiling_is_configurable(tmp_path, monkeypatch):
    path = make_valid_archive(tmp_path)
    monkeypatch.setenv(MAX_ARCHIVE_BYTES_ENV, "1000")
    refused(path, r"over the ceiling of 1000 bytes")
    monkeypatch.setenv(MAX_ARCHIVE_BYTES_ENV, str(1 << 20))
    assert read_archive(path).neutral_weights()
    monkeypatch.setenv(MAX_ARCHIVE_BYTES_ENV, "lots")
    with pytest.raises(ConfigError, match="PTYCHO_MAX_ARCHIVE_BYTES='lots' must be a positive number of bytes"):
        read_archive(path)


def test_bomb_is_refused_even_under_a_raised_ceiling(tmp_path, members, monkeypatch):
    monkeypatch.setenv(MAX_ARCHIVE_BYTES_ENV, str(1 << 40))
    bomb, digest = huge_zero_member(NEUTRAL_WEIGHTS, 1 << 25)  # 32 MiB from 32 kB
    manifest = manifest_of(members)
    manifest["sha256"][NEUTRAL_WEIGHTS] = digest
    forged = [bomb if m.name == NEUTRAL_WEIGHTS else m for m in members]
    path = write_zip(tmp_path / "wts.h5.zip", with_manifest(forged, manifest))
    refused(path, r"member neutral_weights.npz would inflate 33554432 bytes .*a decompression bomb")


def test_member_inflating_past_its_declared_size_is_refused(tmp_path, members):
    lying = [replace(m, declared_size=10) if m.name == NEUTRAL_WEIGHTS else m for m in members]
    refused(write_zip(tmp_path / "wts.h5.zip", lying), r"member neutral_weights.npz does not inflate .*CRC")


@pytest.mark.parametrize("name", ["../evil.json", "/etc/evil", "a\\b", "C:evil", "model.pkl"])
def test_unsafe_or_pickle_member_names_are_refused(tmp_path, members, name):
    refused(write_zip(tmp_path / "wts.h5.zip", [*members, Member(name, b"{}")]), r"refused (unsafe )?member")


def test_duplicate_names_and_foreign_compression_are_refused(tmp_path, members):
    refused(write_zip(tmp_path / "a.zip", [*members, members[1]]), r"appear more than once")
    bz = [replace(m, method=zipfile.ZIP_BZIP2) if m.name == PARAMS else m for m in members]
    refused(write_zip(tmp_path / "b.zip", bz), r"compression method ptychopinn never writes")


def test_pickled_objects_are_named_only_for_object_arrays(tmp_path, members):
    """The pickle message is for a real object array; truncated or foreign bytes say they are unreadable."""
    cases = {"object": npz_with_object_array(), "truncated": members[2].data[:300], "text": b"just text",
             "gzip": b"\x1f\x8b\x08\x00" + b"\x00" * 40}
    assert members[2].name == NEUTRAL_WEIGHTS
    for label, data in cases.items():
        changed = with_member(members, NEUTRAL_WEIGHTS, data)
        path = write_zip(tmp_path / f"{label}.zip", with_manifest(changed, manifest_of(changed)))
        assert read_archive(path)  # the member checksums hold: only the NPZ itself is wrong
        message = refused(path, r"member neutral_weights.npz")
        assert ("holds pickled objects" in message) == (label == "object"), message


def test_extracted_folder_gets_the_same_checks(tmp_path):
    with zipfile.ZipFile(make_valid_archive(tmp_path / "zip", "tensorflow")) as zf:
        zf.extractall(tmp_path / "extracted")
    assert read_archive(tmp_path / "extracted").neutral_weights()
    (tmp_path / "extracted" / "stray.txt").write_text("x")
    refused(tmp_path / "extracted", r"\['stray.txt'\] are not listed")
    (tmp_path / "extracted" / "stray.txt").unlink()
    manifest = json.loads((tmp_path / "extracted" / MANIFEST).read_text())
    (tmp_path / "extracted" / MANIFEST).write_text(json.dumps({**manifest, "backend": "jax"}))
    refused(tmp_path / "extracted", r"field 'backend' is 'jax'")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_neutral_weights_are_refused_naming_the_weight(tmp_path, members, bad):
    """Before: an archive whose weights held NaN/Inf was called valid by ``ptycho inspect``."""
    from archive_cases import valid_weights

    from ptycho.archive.format import npz_bytes

    weights = valid_weights()
    name = sorted(weights)[0]
    weights[name] = weights[name].copy()
    weights[name].flat[0] = bad
    changed = with_member(members, NEUTRAL_WEIGHTS, npz_bytes(weights))
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(changed, manifest_of(changed))),
            rf"weights {name} hold NaN or Inf")


def test_a_compressed_npy_inside_the_neutral_weights_is_held_to_the_ratio_ceiling(tmp_path, members):
    """Before: a deflated 1 GiB ``.npy`` inside a stored ``neutral_weights.npz`` passed the archive's 100:1
    check (the outer member is stored) and cost 1.4 GB to inflate."""
    from ptycho.testing.npz_files import deflate_bomb

    nested = deflate_bomb("layer/kernel", (2**28,))  # 1 GiB of float32 zeros in about 1 MB
    changed = [replace(m, method=zipfile.ZIP_STORED) if m.name == NEUTRAL_WEIGHTS else m
               for m in with_member(members, NEUTRAL_WEIGHTS, nested)]
    refused(write_zip(tmp_path / "wts.h5.zip", with_manifest(changed, manifest_of(changed))),
            r"member 'layer/kernel.npy' would inflate .* a decompression bomb")
