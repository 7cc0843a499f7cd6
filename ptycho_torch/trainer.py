"""Lightning ``Trainer`` wiring from ``PyTorchExecutionConfig`` (accelerator, strategy, checkpoints, logger…)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

from ptycho.config.config import PyTorchExecutionConfig
from ptycho.errors import ConfigError
from ptycho.progress import EpochReporter
from ptycho_torch.devices import resolve_accelerator
from ptycho_torch.lightning_module import PtychoPINN_Lightning

log = logging.getLogger("ptycho.torch")

TRAIN_LOSS, VAL_LOSS = PtychoPINN_Lightning.loss_name, PtychoPINN_Lightning.val_loss_name


class History(Callback):
    """Collects ``epoch`` (numbered from 1 as trained), ``train_loss`` and ``val_loss`` per epoch and prints
    one progress line per epoch. Its state rides in every checkpoint, so ``--resume`` continues the whole
    history instead of starting a new one at the resumed epoch."""

    def __init__(self, epochs: int, patterns: int | None = None):
        self.history = {"epoch": [], "train_loss": [], "val_loss": []}
        self.reporter = EpochReporter(epochs, "pytorch", patterns)

    def state_dict(self) -> dict:
        return {key: list(values) for key, values in self.history.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = {key: list(state_dict.get(key, [])) for key in self.history}

    def on_train_start(self, trainer, module):
        if trainer.current_epoch and not self.history["epoch"]:  # a checkpoint written before it kept history
            log.warning(
                "[pytorch] the resumed checkpoint holds no loss history; the history lists epochs %d onwards only",
                trainer.current_epoch + 1,
            )

    def on_train_epoch_end(self, trainer, module):
        metrics = trainer.callback_metrics
        if TRAIN_LOSS not in metrics:
            return
        self.history["epoch"].append(trainer.current_epoch + 1)
        self.history["train_loss"].append(float(metrics[TRAIN_LOSS]))
        shown = {"loss": self.history["train_loss"][-1]}
        if VAL_LOSS in metrics:
            self.history["val_loss"].append(float(metrics[VAL_LOSS]))
            shown["val_loss"] = self.history["val_loss"][-1]
        if trainer.is_global_zero:
            self.reporter.epoch_done(trainer.current_epoch, shown)


class LastCheckpoint(Callback):
    """Writes ``last.ckpt`` at the end of every epoch, atomically (Lightning's ``save_last`` only refreshes it
    when a top-k checkpoint is saved, so it can lag behind the trained weights)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_train_epoch_end(self, trainer, module):
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # full state for --resume; collective under DDP
        except OSError as exc:  # disk full, read-only, quota: no half-written file stays behind
            if trainer.is_global_zero:
                tmp.unlink(missing_ok=True)
            raise OSError(exc.errno, f"could not write the checkpoint {self.path} ({exc.strerror or exc}); free "
                          f"space in {self.path.parent} or train into another --output-dir") from None
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        trainer.strategy.barrier("last_checkpoint")


def monitor_metric(execution: PyTorchExecutionConfig, has_val: bool) -> str:
    """The logged loss to monitor: ``val_loss`` falls back to the training loss without validation data.
    The names logged before 0.1.1 (``poisson_val_loss``/``poisson_train_loss``) are accepted as aliases."""
    name = execution.checkpoint_monitor_metric
    if name in (VAL_LOSS, "poisson_val_loss"):
        return VAL_LOSS if has_val else TRAIN_LOSS
    if name in (TRAIN_LOSS, "loss", "poisson_train_loss"):
        return TRAIN_LOSS
    return name


def make_logger(execution: PyTorchExecutionConfig, output_dir: Path):
    backend = execution.logger_backend
    if backend == "none":
        return False
    if backend == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=str(output_dir), name="logs")
    if backend == "tensorboard":
        try:
            from lightning.pytorch.loggers import TensorBoardLogger

            return TensorBoardLogger(save_dir=str(output_dir), name="logs")
        except (ImportError, ModuleNotFoundError) as exc:
            raise ConfigError(
                f"logger 'tensorboard' needs the tensorboard package ({exc}); "
                "pip install tensorboard, or use --logger csv"
            ) from exc
    try:
        import mlflow  # noqa: F401
        from lightning.pytorch.loggers import MLFlowLogger
    except ImportError as exc:
        raise ConfigError(
            "logger 'mlflow' needs the mlflow package, which ptychopinn never requires; "
            "pip install mlflow, or use --logger csv / none"
        ) from exc
    return MLFlowLogger(experiment_name="ptychopinn", tracking_uri=f"file:{output_dir / 'mlruns'}")


def build_trainer(
    execution: PyTorchExecutionConfig, output_dir: Path, epochs: int, has_val: bool, extra_callbacks=(),
    patterns: int | None = None,
) -> tuple[L.Trainer, History]:
    history = History(epochs, patterns)
    monitor = monitor_metric(execution, has_val)
    callbacks = [history, *extra_callbacks]
    if execution.enable_checkpointing:
        callbacks.append(
            ModelCheckpoint(
                dirpath=str(output_dir / "checkpoints"),
                monitor=monitor,
                mode=execution.checkpoint_mode,
                save_top_k=execution.checkpoint_save_top_k,
                filename="epoch{epoch:03d}",
                auto_insert_metric_name=False,
            )
        )
        callbacks.append(LastCheckpoint(output_dir / "checkpoints" / "last.ckpt"))
    if execution.early_stop_patience:
        callbacks.append(
            EarlyStopping(monitor=monitor, mode=execution.checkpoint_mode, patience=execution.early_stop_patience)
        )
    strategy = execution.strategy
    if (
        execution.n_devices > 1
        and strategy in ("ddp", "ddp_spawn")
        and resolve_accelerator(execution.accelerator) == "cpu"
    ):
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(
            process_group_backend="gloo", start_method="spawn" if strategy == "ddp_spawn" else "popen"
        )
    trainer = L.Trainer(
        accelerator=resolve_accelerator(execution.accelerator),
        devices=execution.n_devices,
        strategy=strategy,
        max_epochs=epochs,
        deterministic=execution.deterministic,
        gradient_clip_val=execution.gradient_clip_val,
        accumulate_grad_batches=execution.accum_steps,
        enable_checkpointing=execution.enable_checkpointing,
        enable_progress_bar=execution.enable_progress_bar,
        logger=make_logger(execution, output_dir),
        callbacks=callbacks,
        default_root_dir=str(output_dir),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    return trainer, history
