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

from ptycho.archive.checks import require_backend
from ptycho.archive.format import (
    ARCHIVE_NAME,
    DEFAULT_MAX_ARCHIVE_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    INTEGRITY_FIELD,
    MANIFEST,
    MANIFEST_MAX_BYTES,
    MAX_ARCHIVE_BYTES_ENV,
    MAX_COMPRESSION_RATIO,
    NEUTRAL_WEIGHTS,
    PARAMS,
    PICKLE_SUFFIXES,
    SUPPORTED_FORMAT_VERSIONS,
    Archive,
    load_npz_bytes,
    manifest_digest,
    max_archive_bytes,
    npz_bytes,
)
from ptycho.archive.reading import read_archive
from ptycho.archive.writing import write_archive
from ptycho.config.config import BACKENDS

__all__ = [
    "ARCHIVE_NAME",
    "BACKENDS",
    "DEFAULT_MAX_ARCHIVE_BYTES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INTEGRITY_FIELD",
    "MANIFEST",
    "MANIFEST_MAX_BYTES",
    "MAX_ARCHIVE_BYTES_ENV",
    "MAX_COMPRESSION_RATIO",
    "NEUTRAL_WEIGHTS",
    "PARAMS",
    "PICKLE_SUFFIXES",
    "SUPPORTED_FORMAT_VERSIONS",
    "Archive",
    "load_npz_bytes",
    "manifest_digest",
    "max_archive_bytes",
    "npz_bytes",
    "read_archive",
    "require_backend",
    "write_archive",
]
