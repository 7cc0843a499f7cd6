"""Saving and loading TensorFlow-engine models as ``wts.h5.zip`` (upstream ``ptycho.model_manager`` API).

``save(out_dir)`` archives the model trained last in this process. Loading rebuilds the model from the
archive's params and neutral weights; the Keras weights file travels alongside for Keras users.
TensorFlow is imported only when a function here runs.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from ptycho import params
from ptycho.archive import read_archive, require_backend, write_archive
from ptycho.config.config import ModelConfig

log = logging.getLogger("ptycho.model_manager")

BACKEND = "tensorflow"
KERAS_WEIGHTS = "model.weights.h5"
MODEL_FIELDS = tuple(ModelConfig.__dataclass_fields__)
LEGACY_MODEL_KEYS = {"object_big": "object.big", "probe_big": "probe.big", "probe_mask": "probe.mask"}

_last_trained: dict = {}


def remember(model, snapshot: dict) -> None:
    """Record the model a workflow just trained, with the legacy-dict snapshot to archive with it."""
    _last_trained.clear()
    _last_trained.update(model=model, params=snapshot)


def model_config_from_params(saved: dict) -> ModelConfig:
    """The ``ModelConfig`` an archive's params describe."""
    values = {
        name: saved[LEGACY_MODEL_KEYS.get(name, name)]
        for name in MODEL_FIELDS
        if LEGACY_MODEL_KEYS.get(name, name) in saved
    }
    return ModelConfig(**values)


def save_model(model, out_dir, snapshot: dict) -> Path:
    """Archive ``model`` (a :class:`ptycho.tf.model.PtychoPINN`) into ``out_dir/wts.h5.zip``."""
    snapshot = dict(snapshot, intensity_scale=model.intensity_scale, probe_modes=int(model.probe_real.shape[0]))
    with tempfile.TemporaryDirectory() as tmp:
        weights_file = Path(tmp) / KERAS_WEIGHTS
        model.save_weights(weights_file)
        engine_files = {KERAS_WEIGHTS: weights_file.read_bytes()}
    path = write_archive(out_dir, BACKEND, snapshot, model.export_weights(), engine_files)
    log.info("saved %s", path)
    return path


def save(out_dir) -> Path:
    """Archive the model trained last in this process (upstream call)."""
    if not _last_trained:
        raise RuntimeError("no model has been trained in this process; train one (train_cdi_model) before save")
    return save_model(_last_trained["model"], out_dir, _last_trained["params"])


def model_from_weights(saved: dict, weights: dict):
    """A TensorFlow model built for ``saved`` params and loaded with neutral ``weights``."""
    from ptycho.tf.model import create_model

    probe = weights["probe/real"] + 1j * weights["probe/imag"]
    model = create_model(model_config_from_params(saved), probe, float(saved["intensity_scale"]))
    model.import_weights(weights)
    return model


def load_with(model_dir, backend: str, build, convert_other_backend: bool = False):
    """Read and verify an archive, rebuild its model with ``build(params, neutral_weights)`` and sync the
    archive's settings and trained ``intensity_scale`` into the legacy dict. Shared by both engines."""
    archive = read_archive(model_dir)
    if convert_other_backend and archive.backend != backend:
        log.warning("%s was written by the %r backend; converting it for the %r backend through the neutral "
                    "weights", archive.source, archive.backend, backend)
    else:
        require_backend(archive, backend)
    model = build(archive.params, archive.neutral_weights())
    params.cfg.update({k: v for k, v in archive.params.items() if k != "probe_modes"})
    params.set("intensity_scale", model.intensity_scale)
    return model, dict(archive.params, intensity_scale=model.intensity_scale)


def load(model_dir, backend: str = BACKEND, convert_other_backend: bool = False):
    """``(PtychoPINN, params)`` of the TensorFlow engine from an archive (see :func:`load_with`)."""
    return load_with(model_dir, backend, model_from_weights, convert_other_backend)
