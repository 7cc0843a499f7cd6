"""The archive format: member names, limits, digests and the verified :class:`Archive` (docs/design.md §6)."""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass

import numpy as np

from ptycho.errors import ArchiveError, ConfigError
from ptycho.npz_reader import DEFAULT_MAX_RATIO, RATIO_CHECK_MIN_BYTES  # noqa: F401 - re-exported

ARCHIVE_NAME = "wts.h5.zip"
FORMAT_NAME = "ptychopinn-model-archive"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
MANIFEST = "manifest.json"
PARAMS = "params.json"
NEUTRAL_WEIGHTS = "neutral_weights.npz"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".dill", ".joblib", ".pt", ".pth")
INTEGRITY_FIELD = "manifest_sha256"
# A manifest lists a handful of names and digests (about 600 bytes); 1 MiB is ample and keeps a hostile
# manifest from being parsed at any size.
MANIFEST_MAX_BYTES = 1 << 20
# The largest model we train (n_filters_scale 4, N 256) archives to about 80 MB, neutral weights and engine
# file together; 1 GiB leaves room for bigger networks and still refuses a bomb before it fills memory.
DEFAULT_MAX_ARCHIVE_BYTES = 1 << 30
MAX_ARCHIVE_BYTES_ENV = "PTYCHO_MAX_ARCHIVE_BYTES"
# Trained float32 weights barely compress (about 1.1:1); deflate tops out near 1032:1. A member over 1 MiB
# that claims more than 100:1 holds padding, not weights (the NPZ reader's ceiling, fixed for archives).
MAX_COMPRESSION_RATIO = DEFAULT_MAX_RATIO


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_digest(manifest: dict) -> str:
    """sha256 of the canonical JSON of ``manifest`` without its integrity field."""
    content = {key: value for key, value in manifest.items() if key != INTEGRITY_FIELD}
    return sha256_hex(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode())


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def load_npz_bytes(data: bytes, name: str, source: str = "archive") -> dict[str, np.ndarray]:
    """The arrays of an NPZ member, read by the bounded reader (each ``.npy`` header checked before its
    payload is inflated, no object arrays, at most the archive ceiling of array data)."""
    from ptycho.npz_reader import read_npz_arrays

    return read_npz_arrays(f"{source}: member {name}", data, max_bytes=max_archive_bytes(), error=ArchiveError)


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
        """The engine-neutral weights, each finite (a diverged or damaged network is refused here)."""
        weights = load_npz_bytes(self.members[NEUTRAL_WEIGHTS], NEUTRAL_WEIGHTS, self.source)
        from ptycho.training_guard import non_finite_weights

        bad = non_finite_weights(weights)
        if bad:
            raise ArchiveError(f"{self.source}: not a usable model: weights {', '.join(bad[:5])} hold NaN or Inf; "
                               "the training that wrote it diverged or the file was damaged: retrain the model")
        return weights
