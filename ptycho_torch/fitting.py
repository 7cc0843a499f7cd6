"""Training the PyTorch engine with Lightning: the hyper-parameters a checkpoint carries, the resume
check, and the fit itself. Imported only to train, so inference never pays for importing Lightning."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import lightning.pytorch as L

from ptycho.checkpoint_file import load_lightning_checkpoint
from ptycho.config.config import PyTorchExecutionConfig
from ptycho.engines import Fitted, TrainingRun
from ptycho.errors import ArchiveError, ConfigError
from ptycho.shard_stream import has_truth, model_channels
from ptycho_torch.datamodule import PtychoDataModule
from ptycho_torch.lightning_module import PtychoPINN_Lightning, loss_weights
from ptycho_torch.trainer import build_trainer, monitor_metric

log = logging.getLogger("ptycho.torch")


def hyperparameters(
    config, execution: PyTorchExecutionConfig, probe_modes: int, scale: float, has_val: bool, seed: int
) -> dict:
    """The four JSON-able dicts a checkpoint carries."""
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
    return {
        "model_config": asdict(config.model),
        "data_config": data_config,
        "training_config": training_config,
        "inference_config": {"batch_size": execution.inference_batch_size or 64, "M": 20},
    }


def _resume_checkpoint(output_dir: Path, resume: bool) -> str | None:
    """``OUTPUT_DIR/checkpoints/last.ckpt``, checked to load safely (``weights_only``) before any training."""
    if not resume:
        return None
    last = output_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        raise FileNotFoundError(f"cannot resume: no checkpoint at {last}; train without --resume first")
    try:
        load_lightning_checkpoint(last)
    except ArchiveError as exc:  # one sentence naming the file and what is wrong with it
        raise ArchiveError(
            f"cannot resume from {last}: {str(exc).removeprefix(f'{last}: ')}. To go on, train afresh without "
            "--resume, or delete the file and train again"
        ) from None
    log.info("[pytorch] resuming from %s", last)
    return str(last)



def fit_model(run: TrainingRun) -> Fitted:
    """Train with Lightning (resuming from ``last.ckpt`` when asked); the trained network and its history."""
    config, execution = run.config, run.execution or PyTorchExecutionConfig()
    train, test = run.train, run.test
    output_dir = Path(config.output_dir)
    resume_from = _resume_checkpoint(output_dir, run.resume)
    with_y = config.model.model_type == "supervised" or bool(config.realspace_weight or config.realspace_mae_weight)
    if with_y and not has_truth(train):
        raise ConfigError(
            "this loss (supervised or real-space weights) needs ground-truth patches, but the training "
            "data has no objectGuess; use model_type='pinn' with zero real-space weights"
        )
    L.seed_everything(run.seed, workers=True, verbose=False)
    module = PtychoPINN_Lightning(
        **hyperparameters(config, execution, run.probe.shape[0], run.intensity_scale, test is not None, run.seed)
    )
    module.set_probe(run.probe)
    if run.initial_weights is not None:
        module.model.import_weights(run.initial_weights)
    data = PtychoDataModule(
        train,
        test,
        run.intensity_scale,
        config.batch_size,
        run.seed,
        with_y,
        execution.num_workers,
        execution.pin_memory,
        execution.persistent_workers,
    )
    trainer, history = build_trainer(
        execution, output_dir, config.nepochs, test is not None, extra_callbacks=run.callbacks,
        patterns=len(train) * model_channels(train),
    )
    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)
    last = output_dir / "checkpoints" / "last.ckpt"
    if not history.history["epoch"] and last.is_file():  # ddp_spawn trained in child processes: their
        # weights come back to this one, their loss history rides in the checkpoint
        callbacks = load_lightning_checkpoint(last).get("callbacks", {})
        history.load_state_dict(callbacks.get(history.state_key, {}))
    extra = {
        "lightning_module": module,
        "lightning_trainer": trainer,
        "checkpoint": last if last.is_file() else None,
        "is_global_zero": trainer.is_global_zero,
    }
    return Fitted(module.model.cpu().eval(), history.history, extra)
