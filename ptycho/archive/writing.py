"""Writing an archive: atomically, with the manifest's checksums and integrity record."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ptycho import __version__
from ptycho.archive.format import (
    ARCHIVE_NAME,
    FORMAT_NAME,
    FORMAT_VERSION,
    INTEGRITY_FIELD,
    MANIFEST,
    NEUTRAL_WEIGHTS,
    PARAMS,
    manifest_digest,
    npz_bytes,
    sha256_hex,
)
from ptycho.atomic import atomic_path


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
        "sha256": {name: sha256_hex(data) for name, data in sorted(members.items())},
    }
    manifest[INTEGRITY_FIELD] = manifest_digest(manifest)
    path = Path(out_dir) / ARCHIVE_NAME
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        for name, data in members.items():
            zf.writestr(name, data)
    return path
