"""Model archives ``wts.h5.zip`` (docs/design.md §6), backend-neutral: write atomically, read with every check.

Members: ``manifest.json`` (format version, backend, model names, package version, sha256 of every other
member), ``params.json`` (legacy-dict snapshot with the trained ``intensity_scale``), ``neutral_weights.npz``
(``{name: array}``, see :mod:`ptycho.architecture`) and the engine's own weights file. Nothing is ever
unpickled: NPZ members load with ``allow_pickle=False`` and pickle-like members are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from ptycho import __version__
from ptycho.atomic import atomic_path
from ptycho.errors import ArchiveError

ARCHIVE_NAME = "wts.h5.zip"
FORMAT_NAME = "ptychopinn-model-archive"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
MANIFEST = "manifest.json"
PARAMS = "params.json"
NEUTRAL_WEIGHTS = "neutral_weights.npz"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".dill", ".joblib", ".pt", ".pth")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_safe(params: dict) -> dict:
    """Only JSON-able scalars and lists survive (arrays such as the probe travel in the weights)."""
    safe = {}
    for key, value in params.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            safe[key] = value
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            safe[key] = value.item()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, bool)) for v in value):
            safe[key] = list(value)
    return safe


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def load_npz_bytes(data: bytes, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"archive member {name} is not a plain NPZ of arrays ({exc})") from None


def write_archive(
    out_dir,
    backend: str,
    params: dict,
    neutral_weights: dict[str, np.ndarray],
    engine_files: dict[str, bytes],
    models=("autoencoder", "diffraction_to_obj"),
) -> Path:
    """Write ``out_dir/wts.h5.zip`` atomically and return its path; non-finite weights or intensity scale
    are refused (:class:`~ptycho.errors.TrainingDivergedError`) before anything is written."""
    from ptycho.training_guard import check_weights

    scale = params.get("intensity_scale")
    check_weights(neutral_weights | ({} if scale is None else {"intensity_scale": np.asarray(float(scale))}))
    members = {
        PARAMS: json.dumps(_json_safe(params), indent=2, sort_keys=True).encode(),
        NEUTRAL_WEIGHTS: npz_bytes(neutral_weights),
        **engine_files,
    }
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "backend": backend,
        "models": list(models),
        "package_version": __version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "engine_files": sorted(engine_files),
        "sha256": {name: _sha256(data) for name, data in sorted(members.items())},
    }
    path = Path(out_dir) / ARCHIVE_NAME
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@dataclass
class Archive:
    """A verified archive: its manifest, params and members (bytes)."""

    source: str
    manifest: dict
    params: dict
    members: dict[str, bytes]

    @property
    def backend(self) -> str:
        return self.manifest["backend"]

    def neutral_weights(self) -> dict[str, np.ndarray]:
        return load_npz_bytes(self.members[NEUTRAL_WEIGHTS], NEUTRAL_WEIGHTS)


def _check_member_name(source: str, name: str) -> None:
    posix = PurePosixPath(name)
    if name.startswith(("/", "\\")) or posix.is_absolute() or ".." in posix.parts or "\\" in name or ":" in name:
        raise ArchiveError(f"{source}: refused unsafe member path {name!r} (absolute or outside the archive)")
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise ArchiveError(f"{source}: refused member {name!r}: pickle-based files are never loaded")


def _read_members(location: Path) -> tuple[str, dict[str, bytes]]:
    """Raw members from an archive file, a folder holding one, or a folder of extracted members."""
    if location.is_dir():
        if (location / ARCHIVE_NAME).is_file():
            location = location / ARCHIVE_NAME
        elif (location / MANIFEST).is_file():
            return str(location), {p.name: p.read_bytes() for p in location.iterdir() if p.is_file()}
        else:
            raise FileNotFoundError(
                f"no model archive in {location}: expected {ARCHIVE_NAME} or an extracted archive with {MANIFEST}"
            )
    if not location.is_file():
        raise FileNotFoundError(f"model archive not found: {location}")
    source = str(location)
    try:
        with zipfile.ZipFile(location) as zf:
            for info in zf.infolist():
                _check_member_name(source, info.filename)
            return source, {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:
        raise ArchiveError(f"{source}: not a readable zip archive ({exc}); it may be truncated") from None


def read_archive(location) -> Archive:
    """Read and verify an archive (checksums, safe names, known format); raise :class:`ArchiveError`."""
    source, members = _read_members(Path(location))
    for name in members:
        _check_member_name(source, name)
    if MANIFEST not in members:
        raise ArchiveError(f"{source}: no {MANIFEST}; this is not a ptychopinn model archive")
    try:
        manifest = json.loads(members[MANIFEST])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{source}: {MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ArchiveError(f"{source}: {MANIFEST} does not describe a {FORMAT_NAME}")
    version = manifest.get("format_version")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        newer = isinstance(version, int) and version > max(SUPPORTED_FORMAT_VERSIONS)
        hint = "upgrade ptychopinn to read it" if newer else "it is not a format this version knows"
        raise ArchiveError(
            f"{source}: archive format version {version!r} is not supported "
            f"(supported: {SUPPORTED_FORMAT_VERSIONS}); {hint}"
        )
    checksums = manifest.get("sha256", {})
    listed = set(checksums) | {MANIFEST}
    unlisted = sorted(set(members) - listed)
    if unlisted:
        raise ArchiveError(f"{source}: members {unlisted} are not listed in the manifest; refusing a modified archive")
    for name, expected in checksums.items():
        if name not in members:
            raise ArchiveError(f"{source}: member {name} listed in the manifest is missing")
        if _sha256(members[name]) != expected:
            raise ArchiveError(f"{source}: checksum mismatch for {name}: the archive was modified or corrupted")
    for name in (PARAMS, NEUTRAL_WEIGHTS):
        if name not in members:
            raise ArchiveError(f"{source}: required member {name} is missing")
    return Archive(source, manifest, json.loads(members[PARAMS]), members)


def require_backend(archive: Archive, selected: str) -> None:
    """An archive written by the other engine gets an error naming both backends."""
    if archive.backend != selected:
        raise ArchiveError(
            f"{archive.source} was written by the {archive.backend!r} backend, but the "
            f"{selected!r} backend was selected to load it; select backend={archive.backend!r} "
            "(cross-backend loading converts through the neutral weights where supported)"
        )
