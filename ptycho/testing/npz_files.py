"""Build hostile NPZ bytes for tests: hand-made ``.npy`` headers, raw zips, deflate bombs, patched fields.

numpy refuses to *write* most of what a reader must survive (shapes that do not match the payload, object
dtypes without pickle, unknown compression methods), so these helpers write the bytes themselves.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def npy_header(shape: tuple[int, ...], descr: str = "<f8", fortran: bool = False) -> bytes:
    """A version 1.0 ``.npy`` header declaring ``shape`` and ``descr``, padded like numpy's."""
    return raw_npy_header(f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {tuple(shape)!r}, }}")


def raw_npy_header(text: str) -> bytes:
    """A version 1.0 ``.npy`` header holding ``text`` verbatim (which need not be a valid dict)."""
    pad = -(len(npy_format.MAGIC_PREFIX) + 4 + len(text) + 1) % npy_format.ARRAY_ALIGN
    text += " " * pad + "\n"
    return npy_format.magic(1, 0) + struct.pack("<H", len(text)) + text.encode("latin1")


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as numpy writes it into an NPZ member."""
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip of raw members (``NAME.npy`` -> bytes), the way ``numpy.savez`` lays one out; a fixed
    timestamp keeps equal inputs byte-identical (reproducible fuzz cases)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), data, compress_type=compression)
    return buffer.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray], compression: int = zipfile.ZIP_STORED) -> bytes:
    return zip_bytes({f"{k}.npy": npy_bytes(v) for k, v in arrays.items()}, compression)


def set_compression_method(data: bytes, method: int) -> bytes:
    """Rewrite every entry's compression method (local and central headers) to ``method``."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = out.find(signature)
        while start >= 0:
            out[start + offset : start + offset + 2] = struct.pack("<H", method)
            start = out.find(signature, start + 4)
    return bytes(out)


def deflate_bomb(name: str, shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """One deflated member: a header declaring ``shape`` followed by that many zero bytes, honestly listed
    in the zip (size and CRC), built without ever holding the inflated payload."""
    header = npy_header(shape, descr)
    return zero_run_member(name, header, int(np.prod(shape)) * np.dtype(descr).itemsize)


def header_length_bomb(name: str, declared: int = 2**30) -> bytes:
    """One deflated member whose version 2.0 ``.npy`` header declares a header of ``declared`` bytes (numpy
    reads all of them before its own size check), followed by that many zero bytes."""
    return zero_run_member(name, npy_format.magic(2, 0) + struct.pack("<I", declared), declared)


def zero_run_member(name: str, prefix: bytes, zeros: int) -> bytes:
    """A one-member zip holding ``prefix`` and ``zeros`` zero bytes, deflated once per MiB with a full
    flush (every MiB after the first compresses to the same bytes), so the inflated member is never held."""
    mib = 1 << 20
    assert len(prefix) + zeros >= mib, "a bomb inflates to at least 1 MiB"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(prefix + bytes(mib - len(prefix))) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert middle == again, "deflate of a zero MiB after a full flush is not repeatable"
    full, tail = divmod(len(prefix) + zeros - mib, mib)
    stream = first + middle * full + compressor.compress(bytes(tail)) + compressor.flush()
    zero_mib = bytes(mib)
    crc = zlib.crc32(bytes(mib - len(prefix)), zlib.crc32(prefix))
    for _ in range(full):
        crc = zlib.crc32(zero_mib, crc)
    crc = zlib.crc32(bytes(tail), crc)
    info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size, info.compress_size, info.CRC = len(prefix) + zeros, len(stream), crc
    return _raw_zip(info, stream)


def _raw_zip(info: zipfile.ZipInfo, stream: bytes) -> bytes:
    """A one-member zip (zip64 when needed) around an already compressed ``stream``."""
    zip64 = info.file_size >= 0xFFFFFFFF or len(stream) >= 0xFFFFFFFF
    name = info.filename.encode()
    extra = struct.pack("<HHQQ", 1, 16, info.file_size, len(stream)) if zip64 else b""
    sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(stream), info.file_size)
    version = 45 if zip64 else 20
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", version, 0, info.compress_type, 0, 0x21, info.CRC, *sizes, len(name), len(extra)
    )
    central_extra = extra
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", version, version, 0, info.compress_type, 0, 0x21, info.CRC, *sizes,
        len(name), len(central_extra), 0, 0, 0, 0, 0,
    )
    body = local + name + extra + stream
    directory = central + name + central_extra
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end
