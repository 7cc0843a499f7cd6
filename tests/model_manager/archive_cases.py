"""Hostile and damaged model archives and checkpoints for the archive safety tests and fuzz campaigns.

A small valid archive is written by the real writer (``ptycho.archive.write_archive``); every case is
built from it by rewriting its zip by hand (``write_zip``), which can do what ``zipfile`` refuses to:
lie about sizes, repeat names, inflate a gigabyte from a megabyte. Each generated case carries its own
verdict (``must_refuse``), decided by how it was made, never by the reader under test.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ptycho.archive import INTEGRITY_FIELD, MANIFEST, manifest_digest, write_archive

VALID_PARAMS = {"N": 64, "gridsize": 1, "n_filters_scale": 1, "intensity_scale": 987.5, "probe_modes": 1,
                "model_type": "pinn", "nphotons": 1e9}


def valid_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"probe/real": rng.normal(size=(1, 8, 8)).astype(np.float32),
            "probe/imag": rng.normal(size=(1, 8, 8)).astype(np.float32),
            "encoder/block0/conv0/kernel": rng.normal(size=(3, 3, 1, 4)).astype(np.float32)}


# The container tests need an engine member, not a working engine: a stand-in file. It is not named
# model.ckpt, because the harness validates every Lightning checkpoint inside an archive a test writes.
STAND_IN_ENGINE_FILE = {"pytorch": "engine-stand-in.bin", "tensorflow": "model.weights.h5"}


def make_valid_archive(folder: Path, backend: str = "pytorch") -> Path:
    """A small archive written by the real writer (a few kB)."""
    return write_archive(folder, backend, dict(VALID_PARAMS, backend=backend), valid_weights(),
                         {STAND_IN_ENGINE_FILE[backend]: b"engine bytes " * 40})


@dataclass(frozen=True)
class Member:
    """One zip entry as ``write_zip`` lays it down. ``payload`` is an already deflated stream (then ``size``
    and ``crc`` describe what it inflates to); ``declared_size`` makes the headers lie."""

    name: str
    data: bytes = b""
    method: int = zipfile.ZIP_DEFLATED
    declared_size: int | None = None
    payload: bytes | None = None
    size: int | None = None
    crc: int | None = None


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _compressed(member: Member) -> tuple[bytes, int, int]:
    if member.payload is not None:
        return member.payload, member.size, member.crc
    data = member.data
    packed = {zipfile.ZIP_STORED: lambda d: d, zipfile.ZIP_DEFLATED: _deflate, zipfile.ZIP_BZIP2: bz2.compress}
    return packed[member.method](data), len(data), zlib.crc32(data)


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip of ``members`` in order, headers written by hand (zip64 not needed: sizes stay under 4 GiB)."""
    local, central = bytearray(), bytearray()
    for member in members:
        payload, size, crc = _compressed(member)
        declared = size if member.declared_size is None else member.declared_size
        name = member.name.encode("utf-8")
        flags = 0x800  # names are UTF-8
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, member.method, 0, 0x21, crc,
                               len(payload), declared, len(name), 0, 0, 0, 0, 0, len(local)) + name
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, member.method, 0, 0x21, crc, len(payload),
                             declared, len(name), 0) + name + payload
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def read_members(path: Path) -> list[Member]:
    with zipfile.ZipFile(path) as zf:
        return [Member(info.filename, zf.read(info)) for info in zf.infolist()]


def manifest_of(members: list[Member]) -> dict:
    return json.loads(next(m.data for m in members if m.name == MANIFEST))


def _is_digest(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= set("0123456789abcdef")


def with_manifest(members: list[Member], manifest, refresh: bool = True) -> list[Member]:
    """``members`` with ``manifest`` written in; ``refresh`` recomputes every well-formed sha256 and the
    integrity record, as a forger (or a careless tool) would, so only the content checks can catch the change."""
    if refresh and isinstance(manifest, dict):
        if isinstance(manifest.get("sha256"), dict):
            digests = {m.name: hashlib.sha256(m.data).hexdigest() for m in members
                       if m.name != MANIFEST and m.payload is None}  # a forged payload's digest is the caller's
            manifest["sha256"] = {name: digests.get(name, digest) if _is_digest(digest) else digest
                                  for name, digest in manifest["sha256"].items()}
        if INTEGRITY_FIELD in manifest:
            manifest[INTEGRITY_FIELD] = manifest_digest(manifest)
    data = json.dumps(manifest).encode()
    return [replace(m, data=data) if m.name == MANIFEST else m for m in members]


def with_member(members: list[Member], name: str, data: bytes) -> list[Member]:
    return [replace(m, data=data) if m.name == name else m for m in members]


@functools.lru_cache(maxsize=2)
def _zeros_deflated(size: int) -> tuple[bytes, int, str]:
    """A deflate stream of ``size`` zero bytes (about ``size / 1000`` long), its CRC-32 and sha256.

    Deflate blocks ended by a full flush restart from an empty window, so one compressed 16 MiB block of
    zeros repeats verbatim; the stream closes with an empty final block.
    """
    chunk = 1 << 24
    assert size % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    zeros, crc, digest = bytes(chunk), 0, hashlib.sha256()
    for _ in range(size // chunk):
        crc = zlib.crc32(zeros, crc)
        digest.update(zeros)
    return block * (size // chunk) + b"\x03\x00", crc, digest.hexdigest()


def huge_zero_member(name: str, size: int) -> tuple[Member, str]:
    """A member that inflates to ``size`` zero bytes (a multiple of 16 MiB), with true CRC; and its sha256."""
    payload, crc, digest = _zeros_deflated(size)
    return Member(name, payload=payload, size=size, crc=crc), digest


def npz_with_object_array() -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **{"probe/real": np.array([{"a": 1}, None], dtype=object)})
    return buffer.getvalue()
