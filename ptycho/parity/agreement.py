"""Trained agreement: both engines trained from the same initial weights on the same batches in the same
order, then predicted and stitched; SSIM between the two reconstructions and of each against the truth.

Each engine uses its own loss and optimiser (TensorFlow: the engine's compiled train step; PyTorch: the
Lightning module's ``compute_loss`` and ``configure_optimizers``); only the batch order is driven here, so
the two runs see identical data. The measured "error" of a check is ``1 − SSIM`` (the worse of amplitude
and phase), its tolerance ``1 − the SSIM threshold``.
"""

from __future__ import annotations

import functools

import numpy as np

from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.parity.result import Check

EPOCHS = 10
N_GROUPS = 64
BATCH_SIZE = 8
# Every SSIM threshold here follows one rule: the measured spread's mean, 3.5 standard deviations on the
# failing side.
SIGMAS = 3.5
# The two engines' reconstructions of one training. They start equal and drift apart as float32 rounding
# differences grow through training (the losses of the first steps agree to ~1e-6).
# Chaotic, not systematic: the rounding of one convolution algorithm or thread count sends the runs along
# other paths. 1 − SSIM over 8 runs (TF_ENABLE_ONEDNN_OPTS 0/1 × 1/2 threads, NCHW and channels-last torch):
# amplitude 0.09 ± 0.06 (max 0.20), phase 0.18 ± 0.07 (max 0.33); 4 more runs on 2026-12-07 (AMD EPYC,
# oneDNN 0/1 × 1/2 threads) fell inside: amplitude 0.07-0.17, phase 0.14-0.26.
AGREEMENT_SPREAD = {"amplitude": (0.09, 0.06), "phase": (0.18, 0.07)}  # (mean, σ) of 1 − SSIM
AGREEMENT_SSIM = {part: round(1 - (mean + SIGMAS * sd), 3) for part, (mean, sd) in AGREEMENT_SPREAD.items()}
# Each engine against the ground truth after the same training, 8 runs (both engines × oneDNN 0/1 × 1/2
# threads, 2026-12-07, AMD EPYC): amplitude 0.523 ± 0.012 (min 0.501), phase 0.419 ± 0.014 (min 0.403);
# untrained, 0.08 / 0.06.
TRUTH_SPREAD = {"amplitude": (0.523, 0.012), "phase": (0.419, 0.014)}  # (mean, σ) of SSIM
TRUTH_SSIM = {part: round(mean - SIGMAS * sd, 3) for part, (mean, sd) in TRUTH_SPREAD.items()}
LOSS_CURVE_TOLERANCE = 1e-3  # relative difference of the per-step losses over the first epoch


@functools.cache
def trained_pair(epochs: int = EPOCHS) -> dict:
    """Train both engines in lock step; returns the stitched objects, the truth and the scan data."""
    import tensorflow as tf
    import torch

    from ptycho import params
    from ptycho.config.config import PyTorchExecutionConfig
    from ptycho.data_contract import from_arrays
    from ptycho.probe import set_probe_guess
    from ptycho.raw_data import RawData
    from ptycho.simulation import SimulationSpec, simulate_dataset
    from ptycho.tf.model import DiffractionToObject as TFInference
    from ptycho.tf.model import create_model
    from ptycho.tf.train import Trainer
    from ptycho.workflows.common import (
        create_ptycho_data_container,
        initial_intensity_scale,
        predict_patches,
        start_workflow,
        stitch_patches,
    )
    from ptycho_torch.fitting import hyperparameters
    from ptycho_torch.lightning_module import PtychoPINN_Lightning
    from ptycho_torch.model import DiffractionToObject as TorchInference

    _, arrays = simulate_dataset(SimulationSpec(N=64, object_kind="grf", object_size=128, scan_step=8, seed=2))
    raw = RawData(from_arrays(arrays, "agreement"))
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=2, n_filters_scale=1), n_groups=N_GROUPS,
                            batch_size=BATCH_SIZE, nepochs=epochs)
    with params.preserved():
        start_workflow(config)
        data = create_ptycho_data_container(raw, config)
        probe = set_probe_guess(data.X, data.probe)
        scale = initial_intensity_scale(config, data)

    tf_model = create_model(config.model, probe, scale, seed=0)
    trainer = Trainer(tf_model, config)
    execution = PyTorchExecutionConfig(accelerator="cpu", logger_backend="none", enable_progress_bar=False)
    module = PtychoPINN_Lightning(**hyperparameters(config, execution, probe.shape[0], scale, False, 0))
    module.model.import_weights(tf_model.export_weights())  # the same initial weights
    optimizer = module.configure_optimizers()
    rng = np.random.default_rng(0)
    losses = {"tensorflow": [], "pytorch": []}
    for _ in range(epochs):
        order = rng.permutation(len(data.X))
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            x, offsets = (data.X[idx] * scale).astype(np.float32), data.local_offsets[idx].astype(np.float32)
            y = np.zeros((len(idx), 1, 1, 1), np.complex64)
            losses["tensorflow"].append(float(trainer.train_step(tf.constant(x), tf.constant(offsets), tf.constant(y))))
            batch = (torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1))), torch.from_numpy(offsets),
                     torch.from_numpy(y))
            optimizer.zero_grad()
            loss = module.compute_loss(batch)
            loss.backward()
            optimizer.step()
            losses["pytorch"].append(float(loss.detach()))
    objects = {
        "tensorflow": stitch_patches(predict_patches(TFInference(tf_model), data, tf_model.intensity_scale), data),
        "pytorch": stitch_patches(
            predict_patches(TorchInference(module.model), data, module.model.intensity_scale), data
        ),
    }
    return {"objects": objects, "truth": raw.objectGuess, "data": data, "losses": losses}


def _ssim(recon, reference, data) -> dict:
    from ptycho.workflows.inference import score

    metrics = score(recon, reference, data, 20)
    return {part: metrics[part]["ssim"] for part in ("amplitude", "phase")}


def engines_agree(part: str) -> tuple[float, str]:
    run = trained_pair()
    ssim = _ssim(run["objects"]["pytorch"], run["objects"]["tensorflow"], run["data"])[part]
    return 1 - ssim, f"PyTorch vs TensorFlow reconstruction {part} SSIM {ssim:.3f} after {EPOCHS} epochs"


def first_epoch_losses() -> tuple[float, str]:
    run = trained_pair()
    steps = -(-N_GROUPS // BATCH_SIZE)
    tf_losses, torch_losses = (np.array(run["losses"][k]) for k in ("tensorflow", "pytorch"))
    per_step = np.abs(torch_losses - tf_losses) / np.abs(tf_losses)
    detail = (f"per-step loss difference: step 1 {per_step[0]:.2g}, epoch 1 max {per_step[:steps].max():.2g}, "
              f"last step {per_step[-1]:.2g}")
    return float(per_step[:steps].max()), detail


def against_truth(name: str, part: str) -> tuple[float, str]:
    run = trained_pair()
    ssim = _ssim(run["objects"][name], run["truth"], run["data"])
    return 1 - ssim[part], f"{name} {part} SSIM {ssim[part]:.3f} against the ground truth"


def checks() -> list[Check]:
    out = [Check("trained/first_epoch_losses", "trained", LOSS_CURVE_TOLERANCE, first_epoch_losses, tier="weekly")]
    for part, threshold in AGREEMENT_SSIM.items():
        out.append(Check(f"trained/engines_agree/{part}", "trained", 1 - threshold,
                         lambda p=part: engines_agree(p), tier="weekly"))
    for name in ("tensorflow", "pytorch"):
        for part, threshold in TRUTH_SSIM.items():
            out.append(Check(f"trained/{name}_vs_truth/{part}", "trained", 1 - threshold,
                             lambda n=name, p=part: against_truth(n, p), tier="weekly"))
    return out
