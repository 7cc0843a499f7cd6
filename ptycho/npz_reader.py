"""Read the arrays of an NPZ zip safely: no pickle, bounded memory, every failure one named error.

``numpy.load`` trusts a file's declared sizes: a 2 MB deflate bomb inflates to gigabytes before anything
looks at the shape, a header declaring shape ``(4000000000,)`` raises MemoryError, a damaged header leaks
``tokenize.TokenError``. This reader checks each member's ``.npy`` header (dtype, shape, size) and the zip's
own declared size against a ceiling *before* inflating anything, then inflates exactly the declared bytes.
Peak memory is the arrays themselves plus one read chunk.

The ceiling, :data:`DEFAULT_MAX_BYTES` = 8 GiB of array data per file, is sized for the largest dataset we
expect: 32,768 patterns of 256×256 float32 amplitudes (8 GiB), i.e. a long high-resolution scan; typical
datasets are 10–500 MB. Raise it with the environment variable ``PTYCHO_MAX_NPZ_BYTES`` (bytes, or with a
K/M/G/T binary suffix, e.g. ``32G``) or the ``max_bytes`` argument.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from ptycho.errors import DataContractError, PtychoError

DEFAULT_MAX_BYTES = 8 * 2**30
LIMIT_VARIABLE = "PTYCHO_MAX_NPZ_BYTES"
# Measured float32 data deflates 1.1:1 (weights) to about 20:1 (sparse 1e4-photon count patterns); zeros
# deflate near 1032:1. A deflated member over 1 MiB claiming more than 100:1 is padding, not data.
DEFAULT_MAX_RATIO = 100
RATIO_VARIABLE = "PTYCHO_MAX_NPZ_RATIO"
RATIO_CHECK_MIN_BYTES = 1 << 20
# A .npy header is at most a few hundred bytes (numpy caps parsing at 10,000); slack for the zip's
# declared size beyond header + payload.
HEADER_SLACK = 65_536
MAX_HEADER_BYTES = 10_000  # numpy's own max_header_size, checked here before the header is read
CHUNK = 1 << 20  # inflate 1 MiB at a time: the only memory beyond the arrays themselves
# A member's conversion as it is read: the dtype it is kept in, and an elementwise function of one chunk.
Cast = tuple[np.dtype, Callable[[np.ndarray], np.ndarray]]
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}  # what numpy.savez writes
SUFFIXES = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**30:.2f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.1f} MiB"


def max_npz_bytes(error: type[PtychoError] = DataContractError) -> int:
    """The ceiling in bytes: ``PTYCHO_MAX_NPZ_BYTES`` when set, else :data:`DEFAULT_MAX_BYTES`."""
    raw = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    number, factor = (raw[:-1], SUFFIXES[raw[-1].upper()]) if raw[-1].upper() in SUFFIXES else (raw, 1)
    try:
        value = int(number) * factor
    except ValueError:
        value = 0
    if value <= 0:
        raise error(f"{LIMIT_VARIABLE}={raw!r} is not a positive size; give bytes or e.g. 16G")
    return value


def max_compression_ratio(error: type[PtychoError] = DataContractError) -> int:
    """The ceiling on a deflated member's inflate ratio: ``PTYCHO_MAX_NPZ_RATIO`` when set, else 100."""
    raw = os.environ.get(RATIO_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_RATIO
    if not raw.isdigit() or int(raw) < 1:
        raise error(f"{RATIO_VARIABLE}={raw!r} is not a positive whole number; give e.g. 1000")
    return int(raw)


def _check_ratio(source: str, member: str, info: zipfile.ZipInfo) -> None:
    ratio = max_compression_ratio()
    if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > ratio * info.compress_size:
        raise DataContractError(
            f"{source}: {member} would inflate {_size(info.file_size)} from {info.compress_size} bytes (over "
            f"{ratio}:1, a decompression bomb, not measured data); refused before inflating it. If the file is "
            f"genuine (e.g. mostly zeros), raise the ceiling with {RATIO_VARIABLE} (e.g. {RATIO_VARIABLE}=2000)"
        )


def _too_big(source: str, what: str, nbytes: int, limit: int) -> str:
    return (
        f"{source}: {what} {_size(nbytes)}, above the {_size(limit)} limit on NPZ array data; if the file is "
        f"genuine, raise the limit with the environment variable {LIMIT_VARIABLE} (e.g. {LIMIT_VARIABLE}=32G)"
    )


def _corrupt(source: str, member: str, exc: Exception) -> str:
    return (
        f"{source}: {member} has corrupt compressed data or a wrong checksum ({type(exc).__name__}: {exc}); "
        "the file was damaged in transfer or on disk, copy or write it again"
    )


def _not_npz(source: str, handle: BinaryIO) -> str:
    """Why a file that is not a zip was refused, named after what it looks like."""
    head = handle.read(8)
    if not head:
        return f"{source}: is empty (0 bytes), not an NPZ archive; write the dataset again with numpy.savez"
    if head.startswith(npy_format.MAGIC_PREFIX):
        handle.seek(0)
        try:
            shape = f" of shape {_header(source, 'the file', handle)[0].shape}"
        except DataContractError:
            shape = ""
        return (
            f"{source}: holds a single .npy array{shape}, not an NPZ archive of named arrays "
            "(write it with numpy.savez(path, diffraction=..., xcoords=..., ycoords=...))"
        )
    if head.startswith(b"\x1f\x8b"):
        return f"{source}: is a gzip file, not an NPZ (zip) archive; decompress it or write it with numpy.savez"
    return f"{source}: is not an NPZ file (not a zip archive); write the dataset with numpy.savez"


@dataclass(frozen=True)
class NpyHeader:
    """What a member's ``.npy`` header declares, known before any payload byte is inflated."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)


class _Counting:
    """A read-only stream wrapper that counts the bytes read (the header length, without ``tell``)."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.count = stream, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


def _header(source: str, member: str, stream: BinaryIO) -> tuple[NpyHeader, int]:
    """The declared header of one ``.npy`` member and its length in bytes, before any payload is read.

    The header's own length field is checked before the header is read: numpy reads every declared byte
    (up to 4 GiB) before its ``max_header_size`` check."""
    counting = _Counting(stream)
    try:
        version = npy_format.read_magic(counting)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy format version {version}")
        length_field = counting.read(2 if version == (1, 0) else 4)
        declared = int.from_bytes(length_field, "little")
        if len(length_field) < 2 or declared > MAX_HEADER_BYTES:
            raise ValueError(f"the header declares {declared} bytes, over the {MAX_HEADER_BYTES} allowed")
        # numpy parses the header from a copy of what was read (3.0 differs only by utf-8 field names)
        prefix = io.BytesIO(length_field + counting.read(declared))
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(prefix)
        else:
            shape, fortran, dtype = npy_format.read_array_header_2_0(prefix)
    except (zlib.error, zipfile.BadZipFile) as exc:
        raise DataContractError(_corrupt(source, member, exc)) from None
    except Exception as exc:  # parsing untrusted bytes: any failure means a damaged header
        raise DataContractError(
            f"{source}: {member} has a damaged .npy header ({type(exc).__name__}: {str(exc)[:200]}); "
            "the file is truncated or corrupt, write it again with numpy.savez"
        ) from None
    if any(d < 0 for d in shape):
        raise DataContractError(f"{source}: {member} declares a negative shape {shape}; the file is corrupt")
    return NpyHeader(tuple(shape), dtype, fortran), counting.count


def _read_payload(source: str, member: str, stream: BinaryIO, nbytes: int, check_end: bool = True) -> bytearray:
    """Exactly ``nbytes`` from ``stream`` in chunks, then (``check_end``) the zip's CRC check at its end."""
    buffer = bytearray(nbytes)
    view = memoryview(buffer)
    filled = 0
    while filled < nbytes:
        try:
            chunk = stream.read(min(CHUNK, nbytes - filled))
        except (zlib.error, zipfile.BadZipFile) as exc:
            raise DataContractError(_corrupt(source, member, exc)) from None
        if not chunk:
            raise DataContractError(
                f"{source}: {member} is truncated: {filled} of {nbytes} payload bytes present; "
                "the file is incomplete, copy or write it again"
            )
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    if check_end:
        _end_of_member(source, member, stream)
    return buffer


def _end_of_member(source: str, member: str, stream: BinaryIO) -> None:
    try:
        stream.read(1)  # reaching the end runs zipfile's CRC check
    except (zlib.error, zipfile.BadZipFile) as exc:
        raise DataContractError(_corrupt(source, member, exc)) from None


def _declared(source: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limit: int) -> NpyHeader:
    """Check one member's zip entry and ``.npy`` header against the ceiling, inflating only the header."""
    member = f"member {info.filename!r}"
    if info.compress_type not in READABLE_METHODS:
        raise DataContractError(
            f"{source}: {member} uses zip compression method {info.compress_type}; only stored or deflate "
            "members (numpy.savez / numpy.savez_compressed) are read"
        )
    if info.flag_bits & 0x1:
        raise DataContractError(f"{source}: {member} is encrypted; store the arrays unencrypted")
    if info.file_size > budget + HEADER_SLACK:
        raise DataContractError(_too_big(source, f"{member} declares", info.file_size, limit))
    with zf.open(info) as stream:
        header, header_length = _header(source, member, stream)
    if header.dtype.hasobject:
        raise DataContractError(
            f"{source}: {member} holds pickled objects, which are refused for safety (dtype {header.dtype}); "
            "store plain numeric arrays"
        )
    count = math.prod(header.shape)
    nbytes = count * header.dtype.itemsize
    if max(nbytes, count) > budget:
        raise DataContractError(
            _too_big(source, f"{member} declares shape {header.shape} {header.dtype} =", nbytes, limit)
        )
    if info.file_size != header_length + nbytes:
        raise DataContractError(
            f"{source}: {member} declares shape {header.shape} {header.dtype} ({nbytes} bytes) but the zip "
            f"lists {info.file_size - header_length} payload bytes; the file is truncated or corrupt"
        )
    return header


def _read_cast(source: str, member: str, stream: BinaryIO, header: NpyHeader, cast: Cast) -> np.ndarray:
    """The member's values converted by ``cast`` chunk by chunk into an array of the cast's dtype, so the
    file's own dtype is never held whole beside the result (int64 counts kept as float32: 1.0x, not 3x)."""
    dtype, convert = cast
    count = math.prod(header.shape)
    out = np.empty(count, dtype)
    step = max(1, CHUNK // header.dtype.itemsize)
    for start in range(0, count, step):
        n = min(step, count - start)
        raw = _read_payload(source, member, stream, n * header.dtype.itemsize, check_end=False)
        out[start : start + n] = convert(np.frombuffer(raw, dtype=header.dtype, count=n))
    _end_of_member(source, member, stream)
    return out


def _read_member(
    source: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, header: NpyHeader, cast: Cast | None = None
) -> np.ndarray:
    """The member's array: exactly its declared bytes, inflated chunk by chunk (never more); with ``cast``,
    converted as it is read (an elementwise conversion, so the array's memory order does not matter)."""
    member = f"member {info.filename!r}"
    _check_ratio(source, member, info)
    count = math.prod(header.shape)
    with zf.open(info) as stream:
        _header(source, member, stream)  # skip it (already checked)
        if cast is not None and cast[0] != header.dtype:
            flat = _read_cast(source, member, stream, header, cast)
        else:
            payload = _read_payload(source, member, stream, count * header.dtype.itemsize)
            flat = np.frombuffer(payload, dtype=header.dtype, count=count) if payload else np.empty(count, header.dtype)
    return flat.reshape(header.shape[::-1]).transpose() if header.fortran_order else flat.reshape(header.shape)


def _open_zip(source: str, handle: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        handle.seek(0)
        if handle.read(2) == b"PK":
            raise DataContractError(
                f"{source}: is a damaged zip archive ({type(exc).__name__}: {exc}); the file is truncated or "
                "corrupt, copy or write it again"
            ) from None
        handle.seek(0)
        raise DataContractError(_not_npz(source, handle)) from None


def _read_all(
    source: str,
    handle: BinaryIO,
    limit: int,
    check: Callable[[dict[str, NpyHeader]], None] | None,
    casts: Callable[[str, NpyHeader], Cast | None] | None = None,
) -> dict[str, np.ndarray]:
    with _open_zip(source, handle) as zf:
        infos = zf.infolist()
        seen: set[str] = set()
        headers: dict[str, NpyHeader] = {}
        budget = limit
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                raise DataContractError(
                    f"{source}: member {info.filename!r} is not a .npy array; an NPZ holds only NAME.npy "
                    "members (write it with numpy.savez)"
                )
            if info.filename in seen:
                raise DataContractError(f"{source}: member {info.filename!r} appears twice; the archive is ambiguous")
            seen.add(info.filename)
            header = _declared(source, zf, info, budget, limit)
            budget -= math.prod(header.shape) * header.dtype.itemsize
            headers[info.filename[: -len(".npy")]] = header
        if check is not None:
            check(headers)  # e.g. the data contract's shape rules, before a single payload byte is inflated
        arrays = {}
        for info in infos:
            name = info.filename[: -len(".npy")]
            arrays[name] = _read_member(source, zf, info, headers[name], casts(name, headers[name]) if casts else None)
        return arrays


def read_npz_arrays(
    source_name: str,
    file_or_bytes: str | os.PathLike | bytes,
    max_bytes: int | None = None,
    error: type[PtychoError] = DataContractError,
    check: Callable[[dict[str, NpyHeader]], None] | None = None,
    casts: Callable[[str, NpyHeader], Cast | None] | None = None,
) -> dict[str, np.ndarray]:
    """``{name: array}`` from an NPZ file path or its bytes, never unpickling and never holding more than
    ``max_bytes`` of array data (default :func:`max_npz_bytes`). ``check``, when given, sees every
    member's declared :class:`NpyHeader` before any payload is inflated and may raise to refuse the file.
    ``casts(name, header)``, when given, may return a :data:`Cast` ``(dtype, convert)``: that member is then
    converted chunk by chunk as it is read (the file's own dtype is never held whole).

    Every failure raises ``error`` (a :class:`~ptycho.errors.PtychoError` subclass, e.g. ``ArchiveError``
    for an archive member) whose message starts with ``source_name``; a missing path raises
    FileNotFoundError.
    """
    limit = max_npz_bytes(error) if max_bytes is None else max_bytes
    try:
        if isinstance(file_or_bytes, (bytes, bytearray, memoryview)):
            return _read_all(source_name, io.BytesIO(file_or_bytes), limit, check, casts)
        path = Path(file_or_bytes)
        if not path.is_file():
            raise FileNotFoundError(f"dataset not found: {path}")
        with open(path, "rb") as handle:
            return _read_all(source_name, handle, limit, check, casts)
    except DataContractError as exc:
        if error is DataContractError:
            raise
        raise error(str(exc)) from None
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        # zlib.error is an Exception subclass raised from inflating damaged deflate data; BadZipFile from a
        # CRC mismatch; OSError from reading the file itself.
        raise error(f"{source_name}: is not a readable NPZ file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # zlib.error and any other decoder failure on untrusted bytes
        raise error(
            f"{source_name}: is not a readable NPZ file ({type(exc).__name__}: {exc}); the file is corrupt"
        ) from None
