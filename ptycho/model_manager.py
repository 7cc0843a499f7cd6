"""Upstream-compatible surface: the ``ptycho.model_manager`` API for TensorFlow-engine archives
``wts.h5.zip``. The real path is :mod:`ptycho.workflows.models`; these are thin wrappers over it.
TensorFlow is imported only when a function here runs."""

from __future__ import annotations

from pathlib import Path

from ptycho.config.config import model_config_from_params

BACKEND = "tensorflow"

__all__ = ["load", "model_config_from_params", "save", "save_model"]


def save_model(model, out_dir, snapshot: dict) -> Path:
    """Archive ``model`` (a :class:`ptycho.tf.model.PtychoPINN`) into ``out_dir/wts.h5.zip``."""
    from ptycho.engines import get_engine
    from ptycho.workflows.models import write_model

    return write_model(get_engine(BACKEND), model, out_dir, snapshot)


def save(out_dir) -> Path:
    """Archive the TensorFlow model trained last in this process (upstream call)."""
    from ptycho.workflows.models import last_trained
    from ptycho.workflows.models import save_model as save_results

    return save_results(last_trained(BACKEND), out_dir)


def load(model_dir, backend: str = BACKEND, convert_other_backend: bool = False):
    """``(model, params)`` of the ``backend`` engine from an archive (default TensorFlow)."""
    from ptycho.workflows.models import load_model

    return load_model(model_dir, backend, convert_other_backend)
