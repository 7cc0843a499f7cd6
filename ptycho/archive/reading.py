"""Reading an archive (a zip, a folder holding one, or its extracted members) with every check, streaming
each member to exactly its declared size."""

from __future__ import annotations

import zipfile
import zlib
from collections import Counter
from pathlib import Path

from ptycho.archive.checks import check_directory, check_manifest, check_member_name, check_params, edited, parse_json
from ptycho.archive.format import ARCHIVE_NAME, MANIFEST, MANIFEST_MAX_BYTES, PARAMS, Archive, sha256_hex
from ptycho.errors import ArchiveError

_CHUNK = 1 << 20
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile, zlib and the OS raise on a damaged or hostile zip (each is a property of the file, not a bug).
_ZIP_FAILURES = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    IndexError,
    OverflowError,
    zlib.error,
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
        raise ArchiveError(
            f"{source}: member {info.filename} does not inflate ({type(exc).__name__}: "
            f"{str(exc)[:200]}); the archive is damaged or truncated, use an intact copy"
        ) from None
    if total != cap:
        raise ArchiveError(
            f"{source}: member {info.filename} inflates to {'more than ' if total > cap else ''}"
            f"{total} bytes but the zip directory declares {cap}; the archive is damaged or "
            "hostile, use an intact copy"
        )
    return b"".join(chunks)


def _verified(source: str, name: str, data: bytes, checksums: dict) -> bytes:
    if sha256_hex(data) != checksums[name]:
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
            check_member_name(source, info.filename)
        twice = sorted(name for name, count in Counter(names).items() if count > 1)
        if twice:
            raise ArchiveError(f"{source}: members {twice} appear more than once; refusing an ambiguous archive")
        odd = [info.filename for info in infos if info.compress_type not in _ZIP_METHODS]
        if odd:
            raise ArchiveError(
                f"{source}: members {odd} use a compression method ptychopinn never writes "
                "(only stored or deflate); refusing a foreign or damaged archive"
            )
        by_name = {info.filename: info for info in infos}
        if MANIFEST not in by_name:
            raise ArchiveError(f"{source}: no {MANIFEST}; this is not a ptychopinn model archive")
        if by_name[MANIFEST].file_size > MANIFEST_MAX_BYTES:
            raise edited(
                source, f"declares {by_name[MANIFEST].file_size} bytes (a manifest is under {MANIFEST_MAX_BYTES})"
            )
        raw_manifest = _inflate(source, zf, by_name[MANIFEST])
        manifest = check_manifest(source, parse_json(source, MANIFEST, raw_manifest))
        checksums = manifest["sha256"]
        check_directory(source, infos, checksums)
        members = {name: _verified(source, name, _inflate(source, zf, by_name[name]), checksums) for name in checksums}
    return source, manifest, {MANIFEST: raw_manifest, **members}


def _read_folder(folder: Path) -> tuple[str, dict, dict[str, bytes]]:
    """An extracted archive: the same checks, with file sizes standing in for the zip directory."""
    source = str(folder)
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    for name in files:
        check_member_name(source, name)
    if files[MANIFEST].stat().st_size > MANIFEST_MAX_BYTES:
        raise edited(source, f"is over {MANIFEST_MAX_BYTES} bytes")
    raw_manifest = files[MANIFEST].read_bytes()
    manifest = check_manifest(source, parse_json(source, MANIFEST, raw_manifest))
    checksums = manifest["sha256"]
    infos = []
    for name, path in files.items():
        info = zipfile.ZipInfo(name)
        info.file_size = info.compress_size = path.stat().st_size  # no compression: the ratio check is moot
        infos.append(info)
    check_directory(source, infos, checksums)
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


def read_archive(location) -> Archive:
    """Read and verify an archive (the checks listed in :mod:`ptycho.archive`); raise :class:`ArchiveError`
    naming the file, or ``FileNotFoundError`` when there is none."""
    source, manifest, members = _read_members(Path(location))
    params = check_params(source, parse_json(source, PARAMS, members[PARAMS]), manifest["backend"])
    return Archive(source, manifest, params, members)
