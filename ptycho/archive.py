"""Model archives ``wts.h5.zip`` (docs/design.md §6), backend-neutral: write atomically, read with every check.

Members: ``manifest.json`` (format version, backend, model names, package version, sha256 of every other
member, and the manifest's own integrity record), ``params.json`` (legacy-dict snapshot with the trained
``intensity_scale``), ``neutral_weights.npz`` (``{name: array}``, see :mod:`ptycho.architecture`) and the
engine's own weights file. Nothing is ever unpickled: NPZ members load with ``allow_pickle=False`` and
pickle-like members are refused.

Reading checks, in this order, so that nothing large or foreign is inflated before it is known to belong:

1. the zip directory: safe member names (no absolute path, ``..``, backslash or drive letter; no
   pickle-based file), no name twice, stored or deflated members only, ``manifest.json`` present;
2. ``manifest.json``, read first under a cap of :data:`MANIFEST_MAX_BYTES`: a JSON object whose fields
   have the required types (``format``, ``format_version``, ``backend`` one of :data:`BACKENDS`,
   ``models``, ``package_version``, ``created_utc``, ``engine_files``, ``sha256`` mapping each member to
   a hex digest), and its integrity record when it has one (below);
3. the directory against the manifest: every member listed and present, the declared uncompressed sizes
   within the ceiling (:func:`max_archive_bytes`: ``PTYCHO_MAX_ARCHIVE_BYTES``, default 1 GiB in all)
   and no member inflating more than :data:`MAX_COMPRESSION_RATIO` times (a decompression bomb);
4. each member, inflated as a stream that stops at its declared size and must reach it exactly, against
   its sha256;
5. ``params.json``: an object whose model settings form a valid ``ModelConfig``, with a finite positive
   ``intensity_scale`` and (when present) the manifest's ``backend``.

Integrity record: ``manifest_sha256`` is the sha256 of the manifest's canonical JSON (keys sorted, no
spaces, ASCII) without that field, so editing the manifest by hand (relabelling the backend, say) is
detected. Archives written before the record existed still load (an added field, no format bump); for
them, and for every archive, the manifest's backend must equal ``params.json``'s, which the member
checksums cover, so a relabelled backend is refused either way. An unkeyed hash detects edits and
corruption, not a forger who recomputes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from ptycho import __version__
from ptycho.atomic import atomic_path
from ptycho.errors import ArchiveError, ConfigError

ARCHIVE_NAME = "wts.h5.zip"
FORMAT_NAME = "ptychopinn-model-archive"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
MANIFEST = "manifest.json"
PARAMS = "params.json"
NEUTRAL_WEIGHTS = "neutral_weights.npz"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".dill", ".joblib", ".pt", ".pth")
BACKENDS = ("tensorflow", "pytorch")  # the engines that write archives (ptycho.config.config.BACKENDS)
INTEGRITY_FIELD = "manifest_sha256"

# A manifest lists a handful of names and digests (about 600 bytes); 1 MiB is ample and keeps a hostile
# manifest from being parsed at any size.
MANIFEST_MAX_BYTES = 1 << 20
# The largest model we train (n_filters_scale 4, N 256) archives to about 80 MB, neutral weights and engine
# file together; 1 GiB leaves room for bigger networks and still refuses a bomb before it fills memory.
DEFAULT_MAX_ARCHIVE_BYTES = 1 << 30
MAX_ARCHIVE_BYTES_ENV = "PTYCHO_MAX_ARCHIVE_BYTES"
# Trained float32 weights barely compress (about 1.1:1); deflate tops out near 1032:1. A member over 1 MiB
# that claims more than 100:1 holds padding, not weights.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1 << 20
_CHUNK = 1 << 20
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile, zlib and the OS raise on a damaged or hostile zip (each is a property of the file, not a bug).
_ZIP_FAILURES = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
                 RuntimeError, UnicodeDecodeError, IndexError, OverflowError, zlib.error)
_REQUIRED_LISTS = ("models", "engine_files")
_REQUIRED_STRINGS = ("package_version", "created_utc")


def max_archive_bytes() -> int:
    """The ceiling on an archive's declared uncompressed size, from ``PTYCHO_MAX_ARCHIVE_BYTES`` (bytes)."""
    raw = os.environ.get(MAX_ARCHIVE_BYTES_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_MAX_ARCHIVE_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{MAX_ARCHIVE_BYTES_ENV}={raw!r} must be a positive number of bytes, such as 4294967296")
    return value


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_digest(manifest: dict) -> str:
    """sha256 of the canonical JSON of ``manifest`` without its integrity field."""
    content = {key: value for key, value in manifest.items() if key != INTEGRITY_FIELD}
    return _sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode())


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


def load_npz_bytes(data: bytes, name: str, source: str = "archive") -> dict[str, np.ndarray]:
    """The arrays of an NPZ member, read by the bounded reader (each ``.npy`` header checked before its
    payload is inflated, no object arrays, at most the archive ceiling of array data)."""
    from ptycho.npz_reader import read_npz_arrays

    return read_npz_arrays(f"{source}: member {name}", data, max_bytes=max_archive_bytes(), error=ArchiveError)


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
        PARAMS: json.dumps(_json_safe({**params, "backend": backend}), indent=2, sort_keys=True).encode(),
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
    manifest[INTEGRITY_FIELD] = manifest_digest(manifest)
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

    @property
    def has_integrity_record(self) -> bool:
        return INTEGRITY_FIELD in self.manifest

    def neutral_weights(self) -> dict[str, np.ndarray]:
        return load_npz_bytes(self.members[NEUTRAL_WEIGHTS], NEUTRAL_WEIGHTS, self.source)


def _check_member_name(source: str, name: str) -> None:
    posix = PurePosixPath(name)
    if name.startswith(("/", "\\")) or posix.is_absolute() or ".." in posix.parts or "\\" in name or ":" in name:
        raise ArchiveError(f"{source}: refused unsafe member path {name!r} (absolute or outside the archive)")
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise ArchiveError(f"{source}: refused member {name!r}: pickle-based files are never loaded")


def _edited(source: str, what: str) -> ArchiveError:
    return ArchiveError(f"{source}: {MANIFEST} {what}; the archive was edited, damaged or not written by "
                        "ptychopinn: use the wts.h5.zip that ptycho train wrote, or retrain")


def _parse_json(source: str, name: str, data: bytes):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArchiveError(f"{source}: {name} is not valid JSON ({str(exc)[:200]}); the archive is damaged, "
                           "use the wts.h5.zip that ptycho train wrote") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_manifest(source: str, manifest) -> dict:
    """Types and required fields of the manifest, then its integrity record (module docstring)."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ArchiveError(f"{source}: {MANIFEST} does not describe a {FORMAT_NAME}")
    version = manifest.get("format_version")
    if not _is_int(version) or version not in SUPPORTED_FORMAT_VERSIONS:
        newer = _is_int(version) and version > max(SUPPORTED_FORMAT_VERSIONS)
        hint = "upgrade ptychopinn to read it" if newer else "it is not a format this version knows"
        raise ArchiveError(
            f"{source}: archive format version {version!r} is not supported "
            f"(supported: {SUPPORTED_FORMAT_VERSIONS}); {hint}"
        )
    backend = manifest.get("backend")
    if backend not in BACKENDS or not isinstance(backend, str):
        raise _edited(source, f"field 'backend' is {backend!r}, not one of {', '.join(map(repr, BACKENDS))}")
    for field in _REQUIRED_STRINGS:
        if not isinstance(manifest.get(field), str):
            raise _edited(source, f"field {field!r} is {manifest.get(field)!r}, not a string")
    for field in _REQUIRED_LISTS:
        value = manifest.get(field)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _edited(source, f"field {field!r} is {value!r}, not a list of names")
    checksums = manifest.get("sha256")
    if not isinstance(checksums, dict):
        raise _edited(source, f"field 'sha256' is {type(checksums).__name__}, not a mapping of member to digest")
    for name, digest in checksums.items():
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise _edited(source, f"field 'sha256' gives {name!r} the digest {digest!r}, not 64 hex digits")
        _check_member_name(source, name)
    stray = sorted(set(manifest["engine_files"]) - set(checksums))
    if stray:
        raise _edited(source, f"field 'engine_files' names {stray}, which have no sha256")
    if INTEGRITY_FIELD in manifest and manifest[INTEGRITY_FIELD] != manifest_digest(manifest):
        raise _edited(source, f"does not match its integrity record {INTEGRITY_FIELD!r} (a field was changed)")
    return manifest


def _check_directory(source: str, infos: list[zipfile.ZipInfo], checksums: dict) -> None:
    """Names, listed-ness and declared sizes, all from the zip directory: nothing is inflated yet."""
    unlisted = sorted({info.filename for info in infos} - set(checksums) - {MANIFEST})
    if unlisted:
        raise ArchiveError(f"{source}: members {unlisted} are not listed in the manifest; refusing a modified archive")
    missing = sorted(set(checksums) - {info.filename for info in infos})
    if missing:
        raise ArchiveError(f"{source}: member {missing[0]} listed in the manifest is missing")
    for name in (PARAMS, NEUTRAL_WEIGHTS):
        if name not in checksums:
            raise ArchiveError(f"{source}: required member {name} is missing")
    ceiling = max_archive_bytes()
    declared = sum(info.file_size for info in infos)
    if declared > ceiling:
        biggest = max(infos, key=lambda info: info.file_size)
        raise ArchiveError(
            f"{source}: declares {declared} bytes uncompressed ({biggest.filename} alone {biggest.file_size}), "
            f"over the ceiling of {ceiling} bytes; nothing was inflated. If this is a real model, set "
            f"{MAX_ARCHIVE_BYTES_ENV} to a larger number of bytes"
        )
    for info in infos:
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise ArchiveError(
                f"{source}: member {info.filename} would inflate {info.file_size} bytes from "
                f"{info.compress_size} (over {MAX_COMPRESSION_RATIO}:1, a decompression bomb, not weights); "
                "refused before inflating it"
            )


def _inflate(source: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, read as a stream that stops at its declared size (a size checked beforehand)
    and must reach it exactly."""
    chunks, total, cap = [], 0, info.file_size
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(min(_CHUNK, cap + 1 - total)):
                total += len(chunk)
                if total > cap:
                    break
                chunks.append(chunk)
    except _ZIP_FAILURES as exc:
        raise ArchiveError(f"{source}: member {info.filename} does not inflate ({type(exc).__name__}: "
                           f"{str(exc)[:200]}); the archive is damaged or truncated, use an intact copy") from None
    if total != cap:
        raise ArchiveError(f"{source}: member {info.filename} inflates to {'more than ' if total > cap else ''}"
                           f"{total} bytes but the zip directory declares {cap}; the archive is damaged or "
                           "hostile, use an intact copy")
    return b"".join(chunks)


def _verified(source: str, name: str, data: bytes, checksums: dict) -> bytes:
    if _sha256(data) != checksums[name]:
        raise ArchiveError(f"{source}: checksum mismatch for {name}: the archive was modified or corrupted")
    return data


def _read_zip(path: Path) -> tuple[str, dict, dict[str, bytes]]:
    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_FAILURES as exc:
        raise ArchiveError(f"{source}: not a readable zip archive ({exc}); it may be truncated") from None
    with zf:
        infos = [info for info in zf.infolist() if not info.is_dir()]
        names = [info.filename for info in infos]
        for info in zf.infolist():
            _check_member_name(source, info.filename)
        twice = sorted(name for name, count in Counter(names).items() if count > 1)
        if twice:
            raise ArchiveError(f"{source}: members {twice} appear more than once; refusing an ambiguous archive")
        odd = [info.filename for info in infos if info.compress_type not in _ZIP_METHODS]
        if odd:
            raise ArchiveError(f"{source}: members {odd} use a compression method ptychopinn never writes "
                               "(only stored or deflate); refusing a foreign or damaged archive")
        by_name = {info.filename: info for info in infos}
        if MANIFEST not in by_name:
            raise ArchiveError(f"{source}: no {MANIFEST}; this is not a ptychopinn model archive")
        if by_name[MANIFEST].file_size > MANIFEST_MAX_BYTES:
            raise _edited(source, f"declares {by_name[MANIFEST].file_size} bytes (a manifest is under "
                                  f"{MANIFEST_MAX_BYTES})")
        raw_manifest = _inflate(source, zf, by_name[MANIFEST])
        manifest = _check_manifest(source, _parse_json(source, MANIFEST, raw_manifest))
        checksums = manifest["sha256"]
        _check_directory(source, infos, checksums)
        members = {name: _verified(source, name, _inflate(source, zf, by_name[name]), checksums)
                   for name in checksums}
    return source, manifest, {MANIFEST: raw_manifest, **members}


def _read_folder(folder: Path) -> tuple[str, dict, dict[str, bytes]]:
    """An extracted archive: the same checks, with file sizes standing in for the zip directory."""
    source = str(folder)
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    for name in files:
        _check_member_name(source, name)
    if files[MANIFEST].stat().st_size > MANIFEST_MAX_BYTES:
        raise _edited(source, f"is over {MANIFEST_MAX_BYTES} bytes")
    raw_manifest = files[MANIFEST].read_bytes()
    manifest = _check_manifest(source, _parse_json(source, MANIFEST, raw_manifest))
    checksums = manifest["sha256"]
    infos = []
    for name, path in files.items():
        info = zipfile.ZipInfo(name)
        info.file_size = info.compress_size = path.stat().st_size  # no compression: the ratio check is moot
        infos.append(info)
    _check_directory(source, infos, checksums)
    members = {}
    for name in checksums:
        with open(files[name], "rb") as handle:
            data = handle.read(files[name].stat().st_size + 1)
        members[name] = _verified(source, name, data, checksums)
    return source, manifest, {MANIFEST: raw_manifest, **members}


def _read_members(location: Path) -> tuple[str, dict, dict[str, bytes]]:
    """Verified manifest and members from an archive file, a folder holding one, or a folder of extracted
    members."""
    if location.is_dir():
        if (location / ARCHIVE_NAME).is_file():
            location = location / ARCHIVE_NAME
        elif (location / MANIFEST).is_file():
            return _read_folder(location)
        else:
            raise FileNotFoundError(
                f"no model archive in {location}: expected {ARCHIVE_NAME} or an extracted archive with {MANIFEST}"
            )
    if not location.is_file():
        raise FileNotFoundError(f"model archive not found: {location}")
    return _read_zip(location)


def _check_params(source: str, params, backend: str) -> dict:
    from ptycho.config.config import model_config_from_params

    if not isinstance(params, dict):
        raise ArchiveError(f"{source}: {PARAMS} holds a {type(params).__name__}, not an object of settings; "
                           "the archive was not written by ptychopinn")
    scale = params.get("intensity_scale")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale <= 0:
        raise ArchiveError(f"{source}: {PARAMS} field 'intensity_scale' is {scale!r}, not a finite positive "
                           "number; the training that wrote it diverged or the file was edited: retrain the model")
    if "backend" in params and params["backend"] != backend:
        raise ArchiveError(f"{source}: {MANIFEST} says backend {backend!r} but {PARAMS} says "
                           f"{params['backend']!r}; the manifest was relabelled: use the archive as written")
    modes = params.get("probe_modes", 1)
    if not _is_int(modes) or modes < 1:
        raise ArchiveError(f"{source}: {PARAMS} field 'probe_modes' is {modes!r}, not an integer >= 1")
    try:
        model_config_from_params(params)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{source}: {PARAMS} describes no valid model ({exc}); retrain the model") from None
    return params


def read_archive(location) -> Archive:
    """Read and verify an archive (the checks of the module docstring); raise :class:`ArchiveError`
    naming the file, or ``FileNotFoundError`` when there is none."""
    source, manifest, members = _read_members(Path(location))
    params = _check_params(source, _parse_json(source, PARAMS, members[PARAMS]), manifest["backend"])
    return Archive(source, manifest, params, members)


def require_backend(archive: Archive, selected: str) -> None:
    """An archive written by the other engine gets an error naming both backends."""
    if archive.backend != selected:
        raise ArchiveError(
            f"{archive.source} was written by the {archive.backend!r} backend, but the "
            f"{selected!r} backend was selected to load it; select backend={archive.backend!r} "
            "(cross-backend loading converts through the neutral weights where supported)"
        )
