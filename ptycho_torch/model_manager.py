"""PyTorch-engine archives ``wts.h5.zip`` (backend ``pytorch``): Lightning checkpoint + neutral weights.

Loading rebuilds the network from the archive's params and neutral weights; the Lightning checkpoint
inside loads with ``torch.load(weights_only=True)`` for Lightning users.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from ptycho.archive import write_archive
from ptycho.model_manager import load_with, model_config_from_params

log = logging.getLogger("ptycho_torch.model_manager")

BACKEND = "pytorch"
CHECKPOINT_MEMBER = "model.ckpt"
TRAINING_STATE = ("optimizer_states", "lr_schedulers")


def inference_checkpoint(path: Path) -> bytes:
    """The Lightning checkpoint without optimizer and scheduler state (a third of the size).

    The archive is for inference and for ``load_from_checkpoint``; resuming training uses the run's own
    ``checkpoints/last.ckpt``, which keeps everything.
    """
    import torch

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    for key in TRAINING_STATE:
        checkpoint.pop(key, None)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def save_model(model, out_dir, snapshot: dict, checkpoint: Path | None) -> Path:
    """Archive ``model`` (a :class:`ptycho_torch.model.PtychoPINN`) and its Lightning checkpoint."""
    snapshot = dict(snapshot, intensity_scale=model.intensity_scale, probe_modes=int(model.probe_real.shape[0]))
    engine_files = {CHECKPOINT_MEMBER: inference_checkpoint(Path(checkpoint))} if checkpoint else {}
    path = write_archive(out_dir, BACKEND, snapshot, model.export_weights(), engine_files)
    log.info("saved %s", path)
    return path


def model_from_weights(saved: dict, weights: dict):
    from ptycho_torch.model import create_model

    probe = np.asarray(weights["probe/real"]) + 1j * np.asarray(weights["probe/imag"])
    model = create_model(model_config_from_params(saved), probe, float(saved["intensity_scale"]))
    model.import_weights(weights)
    return model.eval()


def load(model_dir, backend: str = BACKEND, convert_other_backend: bool = False):
    """``(PtychoPINN, params)`` of the PyTorch engine from an archive (see :func:`ptycho.model_manager.load_with`)."""
    return load_with(model_dir, backend, model_from_weights, convert_other_backend)
