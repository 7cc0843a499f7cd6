"""TensorFlow-engine workflows with the upstream PtychoPINN names (the calls ptychodus makes).

Importing this module imports TensorFlow.
"""

from __future__ import annotations

import logging

from ptycho import model_manager, params
from ptycho.probe import set_probe_guess
from ptycho.workflows.common import (
    create_ptycho_data_container,
    initial_intensity_scale,
    predict_patches,
    reconstruct_trained,
    save_outputs,
    start_workflow,
    stitch_patches,
)

log = logging.getLogger("ptycho.workflows")

__all__ = [
    "create_ptycho_data_container",
    "train_cdi_model",
    "run_cdi_example",
    "reassemble_cdi_image",
    "load_inference_bundle",
    "save_outputs",
]


def train_cdi_model(train_data, test_data, config, seed: int = 0) -> dict:
    """Train a fresh model; ``results`` holds ``history``, ``model_instance``, ``diffraction_to_obj``,
    the containers and the trained ``intensity_scale``."""
    from ptycho.tf.model import DiffractionToObject, create_model
    from ptycho.tf.train import Trainer

    start_workflow(config)
    train = create_ptycho_data_container(train_data, config)
    test = None if test_data is None else create_ptycho_data_container(test_data, config)
    probe = set_probe_guess(train.X, train.probe)
    scale = initial_intensity_scale(config, train)
    model = create_model(
        config.model,
        probe,
        scale,
        probe_trainable=config.probe_trainable,
        intensity_scale_trainable=config.intensity_scale_trainable,
        seed=seed,
    )
    log.info(
        "[tensorflow] training on %d groups of %d patterns (N=%d) for %d epochs",
        len(train),
        config.model.gridsize**2,
        config.model.N,
        config.nepochs,
    )
    history = Trainer(model, config).fit(train, test, scale, seed=seed)
    params.set("intensity_scale", model.intensity_scale)
    snapshot = params.params()
    model_manager.remember(model, snapshot)
    return {
        "history": history,
        "model_instance": model,
        "params": snapshot,
        "diffraction_to_obj": DiffractionToObject(model),
        "train_container": train,
        "test_container": test,
        "intensity_scale": model.intensity_scale,
        "backend": "tensorflow",
    }


def reassemble_cdi_image(test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, diffraction_to_obj=None):
    """Predict and stitch ``test_data``; returns ``(stitched complex object, decoded patches)``."""
    data = create_ptycho_data_container(test_data, config)
    if diffraction_to_obj is None:
        from ptycho.tf.model import DiffractionToObject

        if not model_manager._last_trained:
            raise RuntimeError("no trained model: pass diffraction_to_obj or train one first")
        diffraction_to_obj = DiffractionToObject(model_manager._last_trained["model"])
    patches = predict_patches(diffraction_to_obj, data, params.get("intensity_scale"))
    return stitch_patches(patches, data, M, flip_x, flip_y, transpose), patches


def run_cdi_example(
    train_data, test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, do_stitching=False
):
    """Train, then (with ``do_stitching`` and test data) reconstruct: ``(amplitude|None, phase|None, results)``."""
    results = train_cdi_model(train_data, test_data, config)
    amplitude = phase = None
    if do_stitching and test_data is not None:
        amplitude, phase = reconstruct_trained(results, M, flip_x, flip_y, transpose)
    return amplitude, phase, results


def save_model(results: dict, out_dir):
    """Archive the model of ``results`` (from :func:`train_cdi_model`) into ``out_dir/wts.h5.zip``."""
    return model_manager.save_model(results["model_instance"], out_dir, results["params"])


def load_inference_bundle(model_dir, convert_other_backend: bool = False):
    """``(model, params)`` from a folder holding ``wts.h5.zip`` or its extracted contents; the model has
    ``.predict([X * intensity_scale, local_offsets])``. Sets the trained ``intensity_scale`` in the legacy dict."""
    from ptycho.tf.model import DiffractionToObject

    model, saved = model_manager.load(model_dir, convert_other_backend=convert_other_backend)
    return DiffractionToObject(model), saved
