"""Upstream-compatible surface: PyTorch-engine archives ``wts.h5.zip`` under the engine's historical
names. The real path is :mod:`ptycho.workflows.models`; these are thin wrappers over it."""

from __future__ import annotations

from pathlib import Path

from ptycho.workflows.models import load_model, write_model
from ptycho_torch.engine import CHECKPOINT_MEMBER, ENGINE, inference_checkpoint

BACKEND = ENGINE.name

__all__ = ["CHECKPOINT_MEMBER", "inference_checkpoint", "load", "save_model"]


def save_model(model, out_dir, snapshot: dict, checkpoint: Path | None) -> Path:
    """Archive ``model`` (a :class:`ptycho_torch.model.PtychoPINN`) and its Lightning checkpoint."""
    return write_model(ENGINE, model, out_dir, snapshot, checkpoint)


def load(model_dir, backend: str = BACKEND, convert_other_backend: bool = False):
    """``(PtychoPINN, params)`` of the PyTorch engine from an archive."""
    return load_model(model_dir, backend, convert_other_backend)
