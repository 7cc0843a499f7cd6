"""PyTorch-engine workflows with the upstream names: train with Lightning, reconstruct, save, load.

Same signatures and ``(amplitude, phase, results)`` return as :mod:`ptycho.workflows.components`.
Nothing here writes the legacy dict except :func:`ptycho.workflows.common.start_workflow` (CONFIG-001).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch as L

from ptycho import params
from ptycho.config.config import PyTorchExecutionConfig
from ptycho.errors import ConfigError
from ptycho.probe import set_probe_guess
from ptycho.workflows.common import (
    create_ptycho_data_container,
    initial_intensity_scale,
    predict_patches,
    reconstruct_trained,
    start_workflow,
    stitch_patches,
)
from ptycho_torch import model_manager
from ptycho_torch.datamodule import PtychoDataModule
from ptycho_torch.lightning_module import PtychoPINN_Lightning, loss_weights
from ptycho_torch.model import DiffractionToObject
from ptycho_torch.trainer import build_trainer, monitor_metric

log = logging.getLogger("ptycho.workflows")

__all__ = [
    "train_cdi_model_torch",
    "run_cdi_example_torch",
    "load_inference_bundle_torch",
    "save_model",
    "hyperparameters",
]


def hyperparameters(
    config, execution: PyTorchExecutionConfig, probe_modes: int, scale: float, has_val: bool, seed: int
) -> dict:
    """The four JSON-able dicts a checkpoint carries."""
    model_config = asdict(config.model)
    data_config = {
        "N": config.model.N,
        "gridsize": config.model.gridsize,
        "K": config.neighbor_count,
        "n_groups": config.n_groups,
        "nphotons": float(config.nphotons),
        "probe_modes": probe_modes,
        "train_data_file": str(config.train_data_file) if config.train_data_file else None,
        "test_data_file": str(config.test_data_file) if config.test_data_file else None,
    }
    training_config = {
        "nepochs": config.nepochs,
        "batch_size": config.batch_size,
        **loss_weights(config),
        "learning_rate": execution.learning_rate,
        "scheduler": execution.scheduler,
        "monitor": monitor_metric(execution, has_val),
        "intensity_scale": float(scale),
        "probe_trainable": config.probe_trainable,
        "intensity_scale_trainable": config.intensity_scale_trainable,
        "accum_steps": execution.accum_steps,
        "seed": seed,
    }
    inference_config = {"batch_size": execution.inference_batch_size or 64, "M": 20}
    return {
        "model_config": model_config,
        "data_config": data_config,
        "training_config": training_config,
        "inference_config": inference_config,
    }


def train_cdi_model_torch(
    train_data,
    test_data,
    config,
    execution_config: PyTorchExecutionConfig | None = None,
    seed: int = 0,
    resume: bool = False,
) -> dict:
    """Train with Lightning; ``results`` holds ``history`` (``train_loss``/``val_loss``), the module, the
    plain model, ``diffraction_to_obj``, containers, the trained ``intensity_scale`` and the checkpoint."""
    execution = execution_config or PyTorchExecutionConfig()
    start_workflow(config)
    train = create_ptycho_data_container(train_data, config)
    test = None if test_data is None else create_ptycho_data_container(test_data, config)
    probe = set_probe_guess(train.X, train.probe)
    scale = initial_intensity_scale(config, train)
    L.seed_everything(seed, workers=True, verbose=False)
    hp = hyperparameters(config, execution, probe.shape[0], scale, test is not None, seed)
    module = PtychoPINN_Lightning(**hp)
    module.set_probe(probe)
    with_y = config.model.model_type == "supervised" or bool(config.realspace_weight or config.realspace_mae_weight)
    if with_y and train.Y_I is None:
        raise ConfigError(
            "this loss (supervised or real-space weights) needs ground-truth patches, but the training "
            "data has no objectGuess; use model_type='pinn' with zero real-space weights"
        )
    data = PtychoDataModule(
        train,
        test,
        scale,
        config.batch_size,
        seed,
        with_y,
        execution.num_workers,
        execution.pin_memory,
        execution.persistent_workers,
    )
    output_dir = Path(config.output_dir)
    trainer, history = build_trainer(execution, output_dir, config.nepochs, test is not None)
    last = output_dir / "checkpoints" / "last.ckpt"
    ckpt_path = None
    if resume:
        if not last.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {last}; train without --resume first")
        ckpt_path = str(last)
        log.info("[pytorch] resuming from %s", last)
    log.info(
        "[pytorch] training on %d groups of %d patterns (N=%d) for %d epochs",
        len(train),
        config.model.gridsize**2,
        config.model.N,
        config.nepochs,
    )
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    model = module.model.cpu().eval()
    params.set("intensity_scale", model.intensity_scale)
    checkpoint = last if last.is_file() else None
    return {
        "history": history.history,
        "model_instance": model,
        "lightning_module": module,
        "diffraction_to_obj": DiffractionToObject(model),
        "train_container": train,
        "test_container": test,
        "intensity_scale": model.intensity_scale,
        "params": params.params(),
        "checkpoint": checkpoint,
        "is_global_zero": trainer.is_global_zero,
        "backend": "pytorch",
    }


def reassemble_cdi_image_torch(
    test_data, config, flip_x=False, flip_y=False, transpose=False, M=20, diffraction_to_obj=None
):
    data = create_ptycho_data_container(test_data, config)
    patches = predict_patches(diffraction_to_obj, data, params.get("intensity_scale"))
    return stitch_patches(patches, data, M, flip_x, flip_y, transpose), patches


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
    results = train_cdi_model_torch(train_data, test_data, config, execution_config)
    amplitude = phase = None
    if do_stitching and test_data is not None:
        amplitude, phase = reconstruct_trained(results, M, flip_x, flip_y, transpose)
    return amplitude, phase, results


def save_model(results: dict, out_dir):
    """Archive ``results`` (from :func:`train_cdi_model_torch`) as ``out_dir/wts.h5.zip``; rank 0 only."""
    if not results.get("is_global_zero", True):
        return None
    return model_manager.save_model(results["model_instance"], out_dir, results["params"], results["checkpoint"])


def load_inference_bundle_torch(model_dir, convert_other_backend: bool = False):
    """``(model, params)``; the model has ``.predict([X * intensity_scale, local_offsets])``."""
    model, saved = model_manager.load(model_dir, convert_other_backend=convert_other_backend)
    return DiffractionToObject(model), saved
