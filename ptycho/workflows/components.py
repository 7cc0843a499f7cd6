"""Upstream-compatible surface: the TensorFlow engine's upstream PtychoPINN names (the calls ptychodus
makes). The real path is :mod:`ptycho.workflows.models`; these are thin wrappers over it.
Calling them imports TensorFlow; importing this module does not."""

from __future__ import annotations

from ptycho.outputs import save_outputs
from ptycho.workflows import models
from ptycho.workflows.common import create_ptycho_data_container

BACKEND = "tensorflow"

__all__ = [
    "create_ptycho_data_container",
    "train_cdi_model",
    "run_cdi_example",
    "reassemble_cdi_image",
    "load_inference_bundle",
    "save_model",
    "save_outputs",
]


def train_cdi_model(train_data, test_data, config, seed: int = 0) -> dict:
    """Train a fresh model; ``results`` holds ``history``, ``model_instance``, ``diffraction_to_obj``,
    the containers, the trained ``intensity_scale`` and the archive ``params``."""
    return models.train_model(BACKEND, train_data, test_data, config, seed=seed)


def run_cdi_example(
    train_data, test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, do_stitching=False
):
    """Train, then (with ``do_stitching`` and test data) reconstruct: ``(amplitude|None, phase|None, results)``."""
    return models.run_cdi_example(BACKEND, train_data, test_data, config, flip_x, flip_y, transpose, M, do_stitching)


def reassemble_cdi_image(test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, diffraction_to_obj=None):
    """Predict and stitch ``test_data`` (default model: the one trained last); ``(stitched object, patches)``."""
    return models.reassemble_cdi_image(BACKEND, test_data, config, flip_x, flip_y, transpose, M, diffraction_to_obj)


def save_model(results: dict, out_dir):
    """Archive the model of ``results`` (from :func:`train_cdi_model`) into ``out_dir/wts.h5.zip``."""
    return models.save_model(results, out_dir)


def load_inference_bundle(model_dir, convert_other_backend: bool = False):
    """``(model, params)`` from a folder holding ``wts.h5.zip`` or its extracted contents; the model has
    ``.predict([X * intensity_scale, local_offsets])``. Publishes the trained ``intensity_scale`` to the
    legacy dict."""
    return models.load_predictor(model_dir, BACKEND, convert_other_backend)
