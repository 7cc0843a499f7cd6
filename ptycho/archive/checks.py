"""What a manifest, a zip directory and ``params.json`` must satisfy before anything is trusted (the numbered
checks of :mod:`ptycho.archive`). Every failure is an :class:`~ptycho.errors.ArchiveError` naming the file."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import PurePosixPath

from ptycho.archive.format import (
    FORMAT_NAME,
    INTEGRITY_FIELD,
    MANIFEST,
    MAX_ARCHIVE_BYTES_ENV,
    MAX_COMPRESSION_RATIO,
    NEUTRAL_WEIGHTS,
    PARAMS,
    PICKLE_SUFFIXES,
    RATIO_CHECK_MIN_BYTES,
    SUPPORTED_FORMAT_VERSIONS,
    Archive,
    manifest_digest,
    max_archive_bytes,
)
from ptycho.config.config import BACKENDS  # the engines that write archives
from ptycho.errors import ArchiveError, ConfigError

_REQUIRED_LISTS = ("models", "engine_files")
_REQUIRED_STRINGS = ("package_version", "created_utc")


def check_member_name(source: str, name: str) -> None:
    posix = PurePosixPath(name)
    if name.startswith(("/", "\\")) or posix.is_absolute() or ".." in posix.parts or "\\" in name or ":" in name:
        raise ArchiveError(f"{source}: refused unsafe member path {name!r} (absolute or outside the archive)")
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise ArchiveError(f"{source}: refused member {name!r}: pickle-based files are never loaded")


def edited(source: str, what: str) -> ArchiveError:
    return ArchiveError(
        f"{source}: {MANIFEST} {what}; the archive was edited, damaged or not written by "
        "ptychopinn: use the wts.h5.zip that ptycho train wrote, or retrain"
    )


def parse_json(source: str, name: str, data: bytes):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArchiveError(
            f"{source}: {name} is not valid JSON ({str(exc)[:200]}); the archive is damaged, "
            "use the wts.h5.zip that ptycho train wrote"
        ) from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_manifest(source: str, manifest) -> dict:
    """Types and required fields of the manifest, then its integrity record (checks 2, :mod:`ptycho.archive`)."""
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
        raise edited(source, f"field 'backend' is {backend!r}, not one of {', '.join(map(repr, BACKENDS))}")
    for field in _REQUIRED_STRINGS:
        if not isinstance(manifest.get(field), str):
            raise edited(source, f"field {field!r} is {manifest.get(field)!r}, not a string")
    for field in _REQUIRED_LISTS:
        value = manifest.get(field)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise edited(source, f"field {field!r} is {value!r}, not a list of names")
    checksums = manifest.get("sha256")
    if not isinstance(checksums, dict):
        raise edited(source, f"field 'sha256' is {type(checksums).__name__}, not a mapping of member to digest")
    for name, digest in checksums.items():
        if not (isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
            raise edited(source, f"field 'sha256' gives {name!r} the digest {digest!r}, not 64 hex digits")
        check_member_name(source, name)
    stray = sorted(set(manifest["engine_files"]) - set(checksums))
    if stray:
        raise edited(source, f"field 'engine_files' names {stray}, which have no sha256")
    if INTEGRITY_FIELD in manifest and manifest[INTEGRITY_FIELD] != manifest_digest(manifest):
        raise edited(source, f"does not match its integrity record {INTEGRITY_FIELD!r} (a field was changed)")
    return manifest


def check_directory(source: str, infos: list[zipfile.ZipInfo], checksums: dict) -> None:
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


def check_params(source: str, params, backend: str) -> dict:
    from ptycho.config.config import SUPPORTED_N, model_config_from_params

    if not isinstance(params, dict):
        raise ArchiveError(
            f"{source}: {PARAMS} holds a {type(params).__name__}, not an object of settings; "
            "the archive was not written by ptychopinn"
        )
    scale = params.get("intensity_scale")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale <= 0:
        raise ArchiveError(
            f"{source}: {PARAMS} field 'intensity_scale' is {scale!r}, not a finite positive "
            "number; the training that wrote it diverged or the file was edited: retrain the model"
        )
    if "backend" in params and params["backend"] != backend:
        raise ArchiveError(
            f"{source}: {MANIFEST} says backend {backend!r} but {PARAMS} says "
            f"{params['backend']!r}; the manifest was relabelled: use the archive as written"
        )
    modes = params.get("probe_modes", 1)
    if not _is_int(modes) or modes < 1:
        raise ArchiveError(f"{source}: {PARAMS} field 'probe_modes' is {modes!r}, not an integer >= 1")
    try:
        model = model_config_from_params(params)
    except (ConfigError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{source}: {PARAMS} describes no valid model ({exc}); retrain the model") from None
    if model.N not in SUPPORTED_N:  # ModelConfig accepts N=0 as ptychodus's placeholder; a trained model cannot
        raise ArchiveError(f"{source}: {PARAMS} field 'N' is {model.N!r}, not a patch size a model is trained at "
                           f"({', '.join(map(str, SUPPORTED_N))}); the file was edited or damaged: retrain the model")
    return params


def require_backend(archive: Archive, selected: str) -> None:
    """An archive written by the other engine gets an error naming both backends."""
    if archive.backend != selected:
        raise ArchiveError(
            f"{archive.source} was written by the {archive.backend!r} backend, but the "
            f"{selected!r} backend was selected to load it; select backend={archive.backend!r} "
            "(cross-backend loading converts through the neutral weights where supported)"
        )
