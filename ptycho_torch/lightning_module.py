"""``PtychoPINN_Lightning``: the thin LightningModule around :class:`ptycho_torch.model.PtychoPINN`.

It owns the loss, the optimiser and logging; one ``_shared_step`` serves training and validation. Its
hyper-parameters are four plain JSON-able dicts, so ``load_from_checkpoint(path)`` needs no arguments and
checkpoints load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch

from ptycho.config.config import ModelConfig
from ptycho.training_guard import check_loss
from ptycho_torch.model import create_model
from ptycho_torch.physics import poisson_nll


def loss_weights(config) -> dict:
    """The loss composition of a canonical ``TrainingConfig``, as the module's ``training_config`` holds it."""
    return {
        "model_type": config.model.model_type,
        "nll_weight": config.nll_weight,
        "mae_weight": config.mae_weight,
        "realspace_weight": config.realspace_weight,
        "realspace_mae_weight": config.realspace_mae_weight,
    }


def loss_terms(model, outputs: dict, x_scaled, y_trimmed, training: dict) -> dict:
    """Weighted loss terms, the same composition as the TensorFlow engine (zero weights skipped)."""
    if training["model_type"] == "supervised":
        q, h = model.arch.N // 4, model.arch.N // 2
        dec = outputs["object"][:, :, q : q + h, q : q + h]
        return {
            "supervised": torch.mean(torch.abs(dec.abs() - y_trimmed.abs()))
            + torch.mean(torch.abs(torch.angle(dec) - torch.angle(y_trimmed)))
        }
    terms = {}
    if training["nll_weight"]:
        terms["nll"] = training["nll_weight"] * poisson_nll(outputs["pred_intensity"], x_scaled**2)
    if training["mae_weight"]:
        terms["mae"] = training["mae_weight"] * torch.mean(torch.abs(outputs["pred_amp_scaled"] - x_scaled))
    if training["realspace_weight"]:
        terms["realspace"] = training["realspace_weight"] * torch.mean(
            torch.abs(outputs["trimmed_obj"] - y_trimmed) ** 2
        )
    if training["realspace_mae_weight"]:
        terms["realspace_mae"] = training["realspace_mae_weight"] * torch.mean(
            torch.abs(outputs["trimmed_obj"] - y_trimmed)
        )
    return terms


class PtychoPINN_Lightning(L.LightningModule):  # noqa: N801 - upstream name
    """``model_config``: canonical ModelConfig fields; ``data_config``: N, gridsize, probe_modes, …;
    ``training_config``: loss weights, learning rate, scheduler, initial intensity scale, …;
    ``inference_config``: batch size and stitching window."""

    loss_name = "train_loss"  # the logged metrics (ptychodus reads these names)
    val_loss_name = "val_loss"

    def __init__(self, model_config: dict, data_config: dict, training_config: dict, inference_config: dict):
        super().__init__()
        self.save_hyperparameters()
        N, modes = data_config["N"], data_config["probe_modes"]
        placeholder_probe = np.ones((modes, N, N), np.complex64)  # the real probe arrives with the state dict
        self.model = create_model(
            ModelConfig(**model_config),
            placeholder_probe,
            training_config["intensity_scale"],
            probe_trainable=training_config["probe_trainable"],
            intensity_scale_trainable=training_config["intensity_scale_trainable"],
            seed=training_config.get("seed", 0),
        )

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, **upstream_configs):
        """Load a checkpoint of this engine (``torch.load(weights_only=True)``); its own four configs rebuild
        the module. Clients written for upstream PtychoPINN also pass the engine config objects
        (``model_config=ModelConfig(...)``, …): they must describe the same network, else ``ConfigError``."""
        from ptycho.checkpoint_file import non_finite_tensors, verify_records
        from ptycho.errors import ArchiveError

        verify_records(Path(checkpoint_path))
        module = super().load_from_checkpoint(checkpoint_path, map_location=map_location, weights_only=True)
        bad = non_finite_tensors(module.state_dict())
        if bad:
            raise ArchiveError(f"{checkpoint_path}: weights {', '.join(bad[:5])} hold NaN or Inf; use an earlier "
                               "checkpoint or train again")
        if upstream_configs:
            from ptycho_torch.network_match import check_same_network

            check_same_network(module.hparams, upstream_configs, checkpoint_path)
        return module

    def forward(self, x_scaled, offsets):
        return self.model(x_scaled, offsets)

    def set_probe(self, probe: np.ndarray) -> None:
        with torch.no_grad():
            probe = np.asarray(probe, np.complex64).reshape(self.model.probe_real.shape)
            self.model.probe_real.copy_(torch.from_numpy(probe.real.copy()))
            self.model.probe_imag.copy_(torch.from_numpy(probe.imag.copy()))

    def compute_loss(self, batch) -> torch.Tensor:
        x_scaled, offsets, y = batch
        terms = loss_terms(self.model, self.model(x_scaled, offsets), x_scaled, y, self.hparams.training_config)
        return torch.stack(list(terms.values())).sum()

    def _shared_step(self, batch, stage: str) -> torch.Tensor:
        loss = self.compute_loss(batch)
        self.log(
            self.loss_name if stage == "train" else self.val_loss_name,
            loss,
            prog_bar=True,
            on_step=False,
            on_epoch=True,
            sync_dist=True,
            batch_size=batch[0].shape[0],
        )
        return loss

    def training_step(self, batch, batch_idx):
        loss = self._shared_step(batch, "train")
        check_loss(float(loss.detach()), epoch=self.current_epoch + 1, step=batch_idx + 1, backend="pytorch",
                   intensity_scale=lambda: self.model.intensity_scale)
        return loss

    def validation_step(self, batch, batch_idx):
        return self._shared_step(batch, "val")

    def configure_optimizers(self):
        training = self.hparams.training_config
        optimizer = torch.optim.Adam(self.model.parameters(), lr=training["learning_rate"])
        scheduler = training.get("scheduler", "constant")
        if scheduler == "constant":
            return optimizer
        if scheduler == "exponential":
            sched = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
        elif scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, training["nepochs"]))
        else:  # plateau
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": sched, "monitor": training["monitor"]}}
        return {"optimizer": optimizer, "lr_scheduler": sched}
