"""Upstream-compatible surface: the PyTorch engine's upstream workflow names. The real path is
:mod:`ptycho.workflows.models`; these are thin wrappers over it, with the
same signatures and ``(amplitude, phase, results)`` return as :mod:`ptycho.workflows.components`, plus the
engine's ``execution_config``."""

from __future__ import annotations

from ptycho.config.config import PyTorchExecutionConfig
from ptycho.workflows import models
from ptycho_torch.engine import ENGINE
from ptycho_torch.fitting import hyperparameters

BACKEND = ENGINE.name

__all__ = [
    "train_cdi_model_torch",
    "run_cdi_example_torch",
    "reassemble_cdi_image_torch",
    "load_inference_bundle_torch",
    "save_model",
    "hyperparameters",
]


def train_cdi_model_torch(
    train_data,
    test_data,
    config,
    execution_config: PyTorchExecutionConfig | None = None,
    seed: int = 0,
    resume: bool = False,
) -> dict:
    """Train with Lightning; ``results`` also holds the ``lightning_module``, the ``checkpoint`` and
    ``is_global_zero``."""
    return models.train_model(BACKEND, train_data, test_data, config, execution_config, seed, resume)


def run_cdi_example_torch(
    train_data,
    test_data,
    config,
    flip_x=False,
    flip_y=False,
    transpose=False,
    M=20,
    do_stitching=False,
    execution_config: PyTorchExecutionConfig | None = None,
):
    """Train, then (with ``do_stitching`` and test data) reconstruct: ``(amplitude|None, phase|None, results)``."""
    return models.run_cdi_example(
        BACKEND, train_data, test_data, config, flip_x, flip_y, transpose, M, do_stitching, execution_config
    )


def reassemble_cdi_image_torch(
    test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, diffraction_to_obj=None
):
    """Predict and stitch ``test_data`` (default model: the one trained last); ``(stitched object, patches)``."""
    return models.reassemble_cdi_image(BACKEND, test_data, config, flip_x, flip_y, transpose, M, diffraction_to_obj)


def save_model(results: dict, out_dir):
    """Archive ``results`` (from :func:`train_cdi_model_torch`) as ``out_dir/wts.h5.zip``; rank 0 only."""
    return models.save_model(results, out_dir)


def load_inference_bundle_torch(model_dir, convert_other_backend: bool = False):
    """``(model, params)``; the model has ``.predict([X * intensity_scale, local_offsets])``."""
    return models.load_predictor(model_dir, BACKEND, convert_other_backend)
