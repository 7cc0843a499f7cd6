"""The archive and checkpoint fuzz campaigns (issue 16): generated hostile files, the readers under test, and
an oracle that does not ask the reader.

The campaigns run every kind of case in turn (as many of each), hypothesis drawing the details. Each
case knows how it was made: ``must_refuse`` (an invalid archive by
construction), ``must_accept`` (a valid rewrite), or neither (random byte damage, which may hit bytes no
reader can check, such as a timestamp). The oracle:

- only :class:`~ptycho.errors.PtychoError` (``ArchiveError``) or ``FileNotFoundError`` escapes a reader;
- every message names the file (or folder) it was given;
- "holds pickled objects" appears exactly when the case put an object array (or, in a checkpoint, an
  object only a full unpickle builds) in;
- an accepted archive holds exactly the members and arrays of the valid archive it was made from, and an
  accepted checkpoint has the structure of a Lightning checkpoint, checked here independently.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from archive_cases import (
    Member,
    make_valid_archive,
    manifest_of,
    npz_with_object_array,
    read_members,
    with_manifest,
    with_member,
    write_zip,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ptycho.archive import INTEGRITY_FIELD, MANIFEST, NEUTRAL_WEIGHTS, PARAMS, read_archive
from ptycho.errors import PtychoError

FUZZ_SETTINGS = {"deadline": None, "derandomize": True, "database": None,
                 "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large]}
REQUIRED_FIELDS = ("format", "format_version", "backend", "models", "engine_files", "package_version",
                   "created_utc", "sha256")
WRONG_VALUES = {  # values each manifest field must never accept
    "format": [None, 1, "ptychopinn-model-archiv", [], {}],
    "format_version": [True, 1.0, "1", None, 0, 2, [1], {"v": 1}, -1, 10**30],
    "backend": ["jax", "TensorFlow", "", None, 1, ["pytorch"], {"b": "pytorch"}, "pytorch ", "tensorflow"],
    "models": ["autoencoder", None, 1, [1], [None], {"a": 1}],
    "engine_files": ["model.ckpt", None, [1], ["not-listed.bin"], {}],
    "package_version": [None, 1, [], {}],
    "created_utc": [None, 1.5, [], {}],
    "sha256": [[], "abc", None, 1, "list-of-names"],
}
WRONG_PARAMS = {  # params.json fields (or the whole file) that must never be accepted
    "intensity_scale": ["987", float("nan"), float("inf"), -1.0, 0, True, [987.0], {}, None],
    "N": ["64", 63, None, 64.5, True],
    "gridsize": [0, "2", 1.5, None],
    "n_filters_scale": [0, "1"],
    "probe_modes": [0, "1", 1.5, True],
    "backend": ["tensorflow", "jax", 1],  # the valid archive is a pytorch one
    "model_type": ["gan"],
    "amp_activation": ["tanh"],
}
UNSAFE_NAMES = ["../evil.json", "/abs/evil", "a\\b.json", "C:evil", "sub/../../evil", "weights.pkl", "model.pt",
                "x.joblib"]
ARCHIVE_KINDS = ["byte_flip", "truncate", "manifest_field", "manifest_missing_field", "manifest_not_object",
                 "digest_confused", "relabel", "relabel_recomputed", "relabel_legacy", "params_field",
                 "params_not_object", "huge_declared", "lying_size", "unlisted", "unsafe_name", "missing",
                 "duplicate", "npz_member", "garbage", "valid_rewrite", "legacy_valid", "extracted"]


@dataclass(frozen=True)
class Case:
    path: Path
    kind: str
    must_refuse: bool = False
    must_accept: bool = False
    object_array: bool = False


@dataclass(frozen=True)
class Bases:
    """The valid archive the cases come from, as members and as what read_archive gives for it."""

    members: list[Member]
    legacy: list[Member]  # the same archive as written before integrity records (no manifest_sha256)
    expected_manifest: dict
    expected_members: dict[str, bytes]
    expected_weights: dict[str, np.ndarray]


def make_bases(folder: Path) -> Bases:
    path = make_valid_archive(folder)
    members = read_members(path)
    manifest = manifest_of(members)
    del manifest[INTEGRITY_FIELD]
    archive = read_archive(path)
    return Bases(members, with_manifest(members, manifest), archive.manifest, archive.members,
                 archive.neutral_weights())


def _refreshed(members: list[Member]) -> list[Member]:
    return with_manifest(members, manifest_of(members))


def damaged(draw, data: bytes, kind: str) -> bytes:
    """``data`` cut short at a drawn length ("truncate"), or with 1-4 drawn bytes flipped ("byte_flip")."""
    data = bytearray(data)
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(data)


def draw_archive_case(draw, kind: str, bases: Bases, folder: Path) -> Case:  # noqa: C901 - a table of kinds
    members = list(draw(st.permutations(bases.members)))  # member order means nothing to a valid reader
    path = folder / "wts.h5.zip"
    if kind in ("byte_flip", "truncate"):
        path.write_bytes(damaged(draw, write_zip(path, members).read_bytes(), kind))
        return Case(path, kind)
    if kind == "manifest_field":
        field = draw(st.sampled_from(sorted(WRONG_VALUES)))
        manifest = manifest_of(members)
        value = draw(st.sampled_from(WRONG_VALUES[field]))
        manifest[field] = list(manifest["sha256"]) if value == "list-of-names" else value
        return Case(write_zip(path, with_manifest(members, manifest)), kind, must_refuse=True)
    if kind == "manifest_missing_field":
        manifest = manifest_of(members)
        del manifest[draw(st.sampled_from(REQUIRED_FIELDS))]
        return Case(write_zip(path, with_manifest(members, manifest)), kind, must_refuse=True)
    if kind == "manifest_not_object":
        value = draw(st.sampled_from([[], "x", 1, None, [manifest_of(members)]]))
        return Case(write_zip(path, with_manifest(members, value)), kind, must_refuse=True)
    if kind == "digest_confused":
        manifest = manifest_of(members)
        name = draw(st.sampled_from(sorted(manifest["sha256"])))
        manifest["sha256"][name] = draw(st.sampled_from([["x"], 5, None, "A" * 64, "0" * 63, "g" * 64, {}]))
        return Case(write_zip(path, with_manifest(members, manifest)), kind, must_refuse=True)
    if kind in ("relabel", "relabel_recomputed", "relabel_legacy"):
        base = list(draw(st.permutations(bases.legacy))) if kind == "relabel_legacy" else members
        manifest = manifest_of(base)
        manifest["backend"] = "tensorflow"  # the one relabelling every field check passes
        forged = with_manifest(base, manifest, refresh=kind != "relabel")
        return Case(write_zip(path, forged), kind, must_refuse=True)
    if kind == "params_field":
        field = draw(st.sampled_from(sorted(WRONG_PARAMS)))
        params = json.loads(next(m.data for m in members if m.name == PARAMS))
        value = draw(st.sampled_from(WRONG_PARAMS[field]))
        if field == "intensity_scale" and value is None and draw(st.booleans()):
            params.pop(field)  # the one required field (others fall back to ModelConfig's defaults)
        else:
            params[field] = value
        changed = with_member(members, PARAMS, json.dumps(params).encode())
        return Case(write_zip(path, _refreshed(changed)), kind, must_refuse=True)
    if kind == "params_not_object":
        value = draw(st.sampled_from([[1, 2], "params", 5, None, [{"intensity_scale": 9.0}]]))
        changed = with_member(members, PARAMS, json.dumps(value).encode())
        return Case(write_zip(path, _refreshed(changed)), kind, must_refuse=True)
    if kind == "huge_declared":
        listed = draw(st.booleans())
        size = draw(st.integers(2**30 + 1, 2**32 - 1))
        huge = Member(NEUTRAL_WEIGHTS if listed else "extra.bin", payload=b"\xff" * 64, size=size, crc=0)
        forged = [huge if m.name == NEUTRAL_WEIGHTS else m for m in members] if listed else [*members, huge]
        return Case(write_zip(path, forged), kind, must_refuse=True)
    if kind == "lying_size":
        name = draw(st.sampled_from([m.name for m in members]))
        true_size = len(next(m.data for m in members if m.name == name))
        declared = draw(st.integers(0, 2 * true_size + 10).filter(lambda n: n != true_size))
        forged = [replace(m, declared_size=declared) if m.name == name else m for m in members]
        return Case(write_zip(path, forged), kind, must_refuse=True)
    if kind == "unlisted":
        name = draw(st.sampled_from(["extra.bin", "notes.txt", "params.json.bak", "neutral_weights2.npz"]))
        extra = Member(name, draw(st.binary(max_size=200)))
        at = draw(st.integers(0, len(members)))
        return Case(write_zip(path, [*members[:at], extra, *members[at:]]), kind, must_refuse=True)
    if kind == "unsafe_name":
        name = draw(st.sampled_from(UNSAFE_NAMES))
        if draw(st.booleans()):  # listed in the manifest with its true checksum
            manifest = manifest_of(members)
            manifest["sha256"][name] = hashlib.sha256(b"{}").hexdigest()
            members = with_manifest(members, manifest)
        return Case(write_zip(path, [*members, Member(name, b"{}")]), kind, must_refuse=True)
    if kind == "missing":
        name = draw(st.sampled_from([m.name for m in members]))
        return Case(write_zip(path, [m for m in members if m.name != name]), kind, must_refuse=True)
    if kind == "duplicate":
        twin = draw(st.sampled_from(members))
        return Case(write_zip(path, [*members, replace(twin, data=draw(st.sampled_from([twin.data, b"{}"])))]),
                    kind, must_refuse=True)
    if kind == "npz_member":
        label = draw(st.sampled_from(["object", "truncated", "random", "empty", "text member", "huge shape"]))
        weights = next(m.data for m in members if m.name == NEUTRAL_WEIGHTS)
        data = {"object": npz_with_object_array, "truncated": lambda: weights[: len(weights) // 2],
                "random": lambda: os.urandom(300), "empty": lambda: b"", "text member": _npz_with_text,
                "huge shape": _npz_with_huge_header}[label]()
        changed = with_member(members, NEUTRAL_WEIGHTS, data)
        return Case(write_zip(path, _refreshed(changed)), kind, must_refuse=True, object_array=label == "object")
    if kind == "garbage":
        data = draw(st.sampled_from([b"", b"PK\x05\x06" + b"\x00" * 18, b"\x1f\x8b\x08\x00" + b"\x00" * 20,
                                     b"%HDF5 not an archive", b"\x93NUMPY\x01\x00"]))
        path.write_bytes(data + draw(st.binary(max_size=64)))
        return Case(path, kind, must_refuse=True)
    if kind == "valid_rewrite":
        order = draw(st.permutations(members))
        method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
        return Case(write_zip(path, [replace(m, method=method) for m in order]), kind, must_accept=True)
    if kind == "legacy_valid":
        return Case(write_zip(path, list(draw(st.permutations(bases.legacy)))), kind, must_accept=True)
    return _extracted_case(draw, members, folder)


def _extracted_case(draw, members: list[Member], folder: Path) -> Case:
    """An extracted archive folder, intact or with one file added, removed or relabelled."""
    target = folder / "extracted"
    target.mkdir()
    for member in members:
        (target / member.name).write_bytes(member.data)
    change = draw(st.sampled_from(["none", "stray file", "missing", "relabel"]))
    if change == "stray file":
        (target / "stray.txt").write_text("x")
    elif change == "missing":
        (target / draw(st.sampled_from([m.name for m in members]))).unlink()
    elif change == "relabel":
        manifest = json.loads((target / MANIFEST).read_text())
        (target / MANIFEST).write_text(json.dumps({**manifest, "backend": "tensorflow"}))
    return Case(target, f"extracted/{change}", must_refuse=change != "none", must_accept=change == "none")


def _npz_with_text() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "not an array")
    return buffer.getvalue()


def _npz_with_huge_header() -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (4_000_000_000,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("probe/real.npy", header.getvalue() + b"\x00" * 16)
    return buffer.getvalue()


def judge_archive(case: Case, bases: Bases) -> str:
    """Run the reader on ``case`` and apply the oracle; return "accepted" or "refused"."""
    try:
        archive = read_archive(case.path)
        weights = archive.neutral_weights()
    except (PtychoError, FileNotFoundError) as exc:
        message = str(exc)
        assert str(case.path) in message, f"{case.kind}: the message does not name the file: {message}"
        assert ("holds pickled objects" in message) == case.object_array, f"{case.kind}: {message}"
        assert not case.must_accept, f"{case.kind}: a valid archive was refused: {message}"
        return "refused"
    assert not case.must_refuse, f"{case.kind}: an invalid archive was accepted"
    def without(mapping, key):
        return {k: v for k, v in mapping.items() if k != key}

    assert without(archive.members, MANIFEST) == without(bases.expected_members, MANIFEST), case.kind
    assert without(archive.manifest, INTEGRITY_FIELD) == without(bases.expected_manifest, INTEGRITY_FIELD), case.kind
    assert weights.keys() == bases.expected_weights.keys()
    assert all(np.array_equal(weights[k], bases.expected_weights[k]) for k in weights), case.kind
    return "accepted"


# --- checkpoints ---------------------------------------------------------------------------------------

CHECKPOINT_KINDS = ["valid", "byte_flip", "truncate", "pickle_payload", "legacy_pickle_payload", "not_a_dict",
                    "hparams_broken", "state_broken", "no_version", "garbage", "record_zeroed", "non_finite"]
CONFIGS = ("model_config", "data_config", "training_config", "inference_config")


class Payload:
    """An object only a full unpickle builds; harmless even then (it asks for the working directory)."""

    def __reduce__(self):
        return (os.getcwd, ())


def valid_checkpoint(epoch: int = 3, width: int = 3) -> dict:
    import torch

    return {"epoch": epoch, "global_step": 4 * epoch, "pytorch-lightning_version": "2.5.0",
            "hyper_parameters": {name: {"N": 64, "name": name} for name in CONFIGS},
            "state_dict": {"model.w": torch.arange(2 * width, dtype=torch.float32).reshape(2, width),
                           "model.b": torch.zeros(2)}}


def _saved(obj, legacy: bool = False) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


def zeroed_in_tensor_record(draw, data: bytes) -> bytes:
    """``data`` (a torch zip) with one drawn non-zero float32 of a tensor record set to zero in place: the
    zip's sizes and CRC still describe the old bytes, and torch's own reader loads it with changed weights."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = next(i for i in zf.infolist() if "/data/" in i.filename and np.frombuffer(zf.read(i), np.float32).any())
        values = np.frombuffer(zf.read(info), np.float32)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    payload = info.header_offset + 30 + name_length + extra_length
    element = draw(st.sampled_from(np.flatnonzero(values).tolist()))
    out = bytearray(data)
    out[payload + 4 * element : payload + 4 * element + 4] = bytes(4)
    return bytes(out)


def draw_checkpoint_case(draw, kind: str, folder: Path) -> Case:
    path = folder / "last.ckpt"
    ckpt = valid_checkpoint(draw(st.integers(0, 10_000)), draw(st.integers(1, 16)))
    if kind == "valid":
        path.write_bytes(_saved(ckpt, legacy=draw(st.booleans())))
        return Case(path, kind, must_accept=True)
    if kind in ("byte_flip", "truncate"):
        path.write_bytes(damaged(draw, _saved(ckpt), kind))
        return Case(path, kind, must_refuse=kind == "truncate")
    if kind in ("pickle_payload", "legacy_pickle_payload"):
        where = draw(st.sampled_from(["top", "hyper_parameters", "state_dict", "extra"]))
        if where == "top":
            ckpt = Payload()
        elif where == "extra":
            ckpt["callbacks"] = {"History": Payload()}
        else:
            ckpt[where]["payload"] = Payload()
        path.write_bytes(_saved(ckpt, legacy=kind == "legacy_pickle_payload"))
        return Case(path, kind, must_refuse=True, object_array=True)
    if kind == "not_a_dict":
        import torch

        path.write_bytes(_saved(draw(st.sampled_from([[1, 2], "text", torch.zeros(3), None]))))
        return Case(path, kind, must_refuse=True)
    if kind == "hparams_broken":
        change = draw(st.sampled_from(["missing", "empty", "one config missing", "one config empty", "list"]))
        if change == "missing":
            del ckpt["hyper_parameters"]
        elif change == "empty":
            ckpt["hyper_parameters"] = {}
        elif change == "list":
            ckpt["hyper_parameters"] = list(CONFIGS)
        else:
            name = draw(st.sampled_from(CONFIGS))
            if change == "one config missing":
                del ckpt["hyper_parameters"][name]
            else:
                ckpt["hyper_parameters"][name] = {}
        path.write_bytes(_saved(ckpt))
        return Case(path, kind, must_refuse=True)
    if kind == "state_broken":
        ckpt["state_dict"] = draw(st.sampled_from([{}, None, [1], {"w": 1.5}, {"w": [1, 2]}]))
        path.write_bytes(_saved(ckpt))
        return Case(path, kind, must_refuse=True)
    if kind == "record_zeroed":  # issue 25: torch's reader skips CRCs, so this loaded with changed weights
        path.write_bytes(zeroed_in_tensor_record(draw, _saved(ckpt)))
        return Case(path, kind, must_refuse=True)
    if kind == "non_finite":  # issue 25: a diverged run's weights were called valid
        ckpt["state_dict"]["model.w"][0, -1] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
        path.write_bytes(_saved(ckpt))
        return Case(path, kind, must_refuse=True)
    if kind == "no_version":
        ckpt["pytorch-lightning_version"] = draw(st.sampled_from([None, "", 2]))
        path.write_bytes(_saved(ckpt))
        return Case(path, kind, must_refuse=True)
    path.write_bytes(draw(st.sampled_from([b"", b"PK\x03\x04", b"not a checkpoint", b"\x80\x02}q\x00."]))
                     + draw(st.binary(max_size=64)))
    return Case(path, kind, must_refuse=True)


def is_lightning_checkpoint(ckpt) -> bool:
    """The oracle's own structural check, written apart from the reader's."""
    import torch

    if type(ckpt) is not dict:
        return False
    hparams, state = ckpt.get("hyper_parameters"), ckpt.get("state_dict")
    return (type(hparams) is dict and all(type(hparams.get(n)) is dict and hparams[n] for n in CONFIGS)
            and type(state) is dict and len(state) > 0 and all(isinstance(v, torch.Tensor) for v in state.values())
            and type(ckpt.get("pytorch-lightning_version")) is str and ckpt["pytorch-lightning_version"] != "")


def judge_checkpoint(case: Case) -> str:
    from ptycho.checkpoint_file import load_lightning_checkpoint

    try:
        ckpt = load_lightning_checkpoint(case.path)
    except (PtychoError, FileNotFoundError) as exc:
        message = str(exc)
        assert str(case.path) in message, f"{case.kind}: the message does not name the file: {message}"
        assert "\n" not in message, f"{case.kind}: not one paragraph: {message}"
        assert ("holds pickled objects" in message) == case.object_array, f"{case.kind}: {message}"
        assert not case.must_accept, f"{case.kind}: a valid checkpoint was refused: {message}"
        return "refused"
    assert not case.must_refuse, f"{case.kind}: an invalid checkpoint was accepted"
    assert is_lightning_checkpoint(ckpt), f"{case.kind}: accepted something that is not a Lightning checkpoint"
    assert ckpt["hyper_parameters"] == valid_checkpoint()["hyper_parameters"] or case.kind == "byte_flip"
    return "accepted"


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, **FUZZ_SETTINGS)


def tally(counts: dict, case: Case, verdict: str) -> None:
    key = (case.kind.split("/")[0], verdict)
    counts[key] = counts.get(key, 0) + 1


def summary(counts: dict) -> str:
    total = sum(counts.values())
    kinds = sorted({kind for kind, _ in counts})
    parts = [f"{k}: {counts.get((k, 'refused'), 0)} refused / {counts.get((k, 'accepted'), 0)} accepted"
             for k in kinds]
    return f"{total} cases (" + "; ".join(parts) + ")"

