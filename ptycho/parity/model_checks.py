"""The full models of both engines on the same weights: outputs, gradients, the Lightning wrapper, and the
predict → stitch inference path.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from pathlib import Path

import numpy as np

from ptycho import params
from ptycho.architecture import Architecture, initial_conv_weights
from ptycho.config.config import AMP_ACTIVATIONS, ModelConfig, TrainingConfig
from ptycho.parity.engines import engine
from ptycho.parity.error_model import EPS32, forward_terms, gradient_terms, loss_terms, tolerance
from ptycho.parity.physics_checks import PROJECTIONS, probe_modes
from ptycho.parity.result import Check, relative_error, seeded
from ptycho.physics.forward import intensity_scale, normalisation_factor

STEP_FRACTION = 0.01  # the SGD step moves the largest weight by 1% of the largest weight
BATCH = 2


def batch(model_config: ModelConfig, *key):
    """Simulated diffraction of a real object as the model sees it (``x_scaled (B, N, N, C)``, normalised and
    scaled like the workflows do) with seeded sub-pixel offsets ``(B, 1, 2, C)``.

    Measured-like data matter: on white-noise inputs the Poisson NLL of a random model is ill-conditioned
    (counts where the model predicts almost nothing), and float32 rounding, not the engines, would dominate.
    """
    from ptycho.simulation import SimulationSpec, simulate_dataset

    rng = seeded("batch", data_key(model_config), *key)
    N, C = model_config.N, model_config.gridsize**2
    spec = SimulationSpec(N=N, object_kind="grf", object_size=2 * N, n_positions=BATCH * C, seed=int(rng.integers(1e6)))
    amplitudes = simulate_dataset(spec)[1]["diffraction"][: BATCH * C].astype(np.float64)
    x = amplitudes * normalisation_factor(amplitudes) * intensity_scale(1e9, N)
    x = np.moveaxis(x.reshape(BATCH, C, N, N), 1, -1)
    offsets = rng.uniform(-N / 8, N / 8, (BATCH, 1, 2, C)) if C > 1 else np.zeros((BATCH, 1, 2, C))
    return x.astype(np.float32), offsets.astype(np.float32)


# fields added after the checks first drew their data: left out of the seed at their defaults, so a new
# field does not redraw every check's data
LATER_FIELDS = {"projection_iterations": 0, "estimate_gain": False}


def data_key(model_config: ModelConfig) -> str:
    """The config's part of a check's seed: its repr as it read before :data:`LATER_FIELDS` existed."""
    shown = [f"{f.name}={getattr(model_config, f.name)!r}" for f in dataclasses.fields(model_config)
             if LATER_FIELDS.get(f.name, object()) != getattr(model_config, f.name)]
    return f"{type(model_config).__name__}({', '.join(shown)})"


def twin_models(model_config: ModelConfig, writer: str = "tensorflow", probe_trainable: bool = False):
    """``{engine: model}`` with the writer's random initial weights imported into the other engine."""
    reader = "pytorch" if writer == "tensorflow" else "tensorflow"
    probe = probe_modes(model_config.N, 1)
    scale = intensity_scale(1e9, model_config.N)
    models = {
        name: engine(name).build(model_config, probe, scale, seed=1, probe_trainable=probe_trainable)
        for name in (writer, reader)
    }
    weights = models[writer].export_weights()
    if model_config.estimate_gain:  # last kernels drawn, not zero: a constant gain would hide a wrong decoder
        arch = dataclasses.replace(Architecture.from_model_config(model_config), estimate_gain=False)
        weights.update(initial_conv_weights(arch, seed=1))
        models[writer].import_weights(weights)
    models[reader].import_weights(weights)
    return models


# -- same weights, same outputs ---------------------------------------------------------------------
def same_outputs(model_config: ModelConfig, writer: str) -> tuple[float, str]:
    config = TrainingConfig(model=model_config)
    models = twin_models(model_config, writer)
    x, offsets = batch(model_config)
    out = {name: engine(name).forward(model, x, offsets, config) for name, model in models.items()}
    tf_out, torch_out = out["tensorflow"], out["pytorch"]
    errors = {
        "object": relative_error(torch_out["object"], tf_out["object"]),
        "pred_amp_scaled": relative_error(torch_out["pred_amp_scaled"], tf_out["pred_amp_scaled"]),
        "loss": abs(torch_out["loss"] - tf_out["loss"]) / abs(tf_out["loss"]),
    }
    detail = f"weights {writer} -> other; " + ", ".join(f"{k} {v:.2g}" for k, v in errors.items())
    return max(errors.values()), detail


def combinations():
    flags = (True, False)
    for N, gridsize, object_big, probe_big, pad_object, activation in itertools.product(
        (64, 128), (1, 2), flags, flags, flags, AMP_ACTIVATIONS
    ):
        yield ModelConfig(
            N=N,
            gridsize=gridsize,
            n_filters_scale=1,
            object_big=object_big,
            probe_big=probe_big,
            pad_object=pad_object,
            amp_activation=activation,
        )


def _label(mc: ModelConfig) -> str:
    return (
        f"N={mc.N}/gridsize={mc.gridsize}/object_big={int(mc.object_big)}/probe_big={int(mc.probe_big)}/"
        f"pad_object={int(mc.pad_object)}/{mc.amp_activation}"
    )


# -- same gradients ---------------------------------------------------------------------------------
def same_gradients(model_config: ModelConfig) -> tuple[float, str]:
    """Gradients of the training loss per weight tensor, then one SGD step: the parameters after it."""
    config = TrainingConfig(model=model_config, probe_trainable=True)
    models = twin_models(model_config, probe_trainable=True)
    x, offsets = batch(model_config, "gradients")
    grads = {name: engine(name).gradients(model, x, offsets, config) for name, model in models.items()}
    tf_grads, torch_grads = grads["tensorflow"], grads["pytorch"]
    if set(tf_grads) != set(torch_grads):
        return float("inf"), f"different trainable weights: {sorted(set(tf_grads) ^ set(torch_grads))}"
    grad_errors = tensor_errors(torch_grads, tf_grads)
    amplification = scale_gradient_amplification(models["tensorflow"], x, offsets, config)
    base = gradient_tolerance(model_config)
    if SCALE_GRADIENT in grad_errors:  # judged against its own error model: in units of the check's tolerance
        grad_errors[SCALE_GRADIENT] *= base / scale_gradient_tolerance(amplification, base)
    weights = models["tensorflow"].export_weights()
    largest_weight = max(float(np.max(np.abs(weights[k]))) for k in tf_grads)
    largest_grad = max(float(np.max(np.abs(g))) for g in tf_grads.values())
    lr = STEP_FRACTION * largest_weight / largest_grad
    for name, model in models.items():
        engine(name).sgd_step(model, grads[name], lr)
    after = {name: {k: w for k, w in model.export_weights().items() if k in tf_grads} for name, model in models.items()}
    step_errors = tensor_errors(after["pytorch"], after["tensorflow"])
    worst = max(grad_errors, key=grad_errors.get)
    detail = (
        f"{len(tf_grads)} trainable tensors; gradients {grad_errors[worst]:.2g} (worst {worst}; each error scaled "
        "by the largest value of its layer, see tensor_errors); "
        f"parameters after one SGD step (lr {lr:.2g}) {max(step_errors.values()):.2g}; "
        f"log_scale gradient tolerance {scale_gradient_tolerance(amplification, base):.2g} "
        f"(cancellation {amplification:.3g})"
    )
    return max(max(grad_errors.values()), max(step_errors.values())), detail


SCALE_GRADIENT = "intensity_scaler/log_scale"


def scale_gradient_amplification(tf_model, x, offsets, config) -> float:
    """``Σλ / |Σ(λ − I)|``: how much the log-scale gradient's cancelling sum amplifies rounding in ``λ``.

    With ``λ = s²·p``, ``∂ mean(λ − I·log λ) / ∂ log s = 2·mean(λ − I)``: near the fitted scale the terms
    nearly cancel, and each engine's float32 ``λ`` (relative rounding ~ε₃₂ per pixel, from different FFTs)
    moves the sum by up to ~ε₃₂·Σλ, relative to a gradient of size ``|Σ(λ − I)|``.
    """
    predicted = engine("tensorflow").forward(tf_model, x, offsets, config)["pred_amp_scaled"].astype(np.float64) ** 2
    residual = abs(float(np.sum(predicted - np.asarray(x, np.float64) ** 2)))
    return float(np.sum(predicted)) / max(residual, 1e-300)


def scale_gradient_tolerance(amplification: float, floor: float) -> float:
    """Error model of the log-scale gradient between the engines: 3·ε₃₂ per unit of λ times the cancellation
    amplification, never tighter than the gradients' own tolerance ``floor``. Measured: amplification 1,660
    gives a 1.3e-4 difference (tolerance 5.9e-4); amplification 25 gives 5e-6 (tolerance: the floor)."""
    return max(floor, 3 * EPS32 * amplification)


def gradient_tolerance(model_config) -> float:
    """:mod:`ptycho.parity.error_model` for the loss's gradients at this check's batch."""
    return tolerance(gradient_terms(model_config, BATCH))


def tensor_errors(actual: dict, expected: dict) -> dict[str, float]:
    """Per tensor ``max|a − e| / scale``, the scale being the largest value in the tensor's layer (kernel and
    bias, or the probe's real and imaginary parts, share one). A bias gradient alone can be a nearly
    cancelling sum (the phase bias of a loss that ignores a global phase): measured against itself it shows
    float32 summation noise (torch's conv-bias backward is ~1e-3 off float64 there, TensorFlow ~5e-5)."""
    layer_scale: dict[str, float] = {}
    for name, e in expected.items():
        layer = name.rsplit("/", 1)[0]
        layer_scale[layer] = max(layer_scale.get(layer, 0.0), float(np.max(np.abs(e))))
    return {
        name: float(np.max(np.abs(actual[name] - e))) / (layer_scale[name.rsplit("/", 1)[0]] or 1.0)
        for name, e in expected.items()
    }


# -- Lightning --------------------------------------------------------------------------------------
def lightning_module(model_config: ModelConfig, weights: dict):
    from ptycho.config.config import PyTorchExecutionConfig
    from ptycho_torch.fitting import hyperparameters
    from ptycho_torch.lightning_module import PtychoPINN_Lightning

    config = TrainingConfig(model=model_config, n_groups=BATCH)
    execution = PyTorchExecutionConfig(accelerator="cpu", logger_backend="none", enable_progress_bar=False)
    scale = float(np.exp(weights["intensity_scaler/log_scale"]))
    module = PtychoPINN_Lightning(**hyperparameters(config, execution, 1, scale, False, 0))
    module.model.import_weights(weights)
    return module, config


def lightning_runs(N: int, gridsize: int) -> dict:
    """One real Lightning optimiser step from the plain model's weights; the loss its training_step
    computed, the plain model's loss on the same batch, and the predictions before/after a checkpoint reload."""
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ptycho_torch.lightning_module import PtychoPINN_Lightning

    model_config = ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1)
    torch_engine = engine("pytorch")
    plain = twin_models(model_config)["pytorch"]
    module, config = lightning_module(model_config, plain.export_weights())
    x, offsets = batch(model_config, "lightning")
    plain_loss = torch_engine.forward(plain, x, offsets, config)["loss"]
    tx, toff = torch_engine.inputs(x, offsets)
    loader = DataLoader(TensorDataset(tx, toff, torch.zeros((BATCH, 1, 1, 1), dtype=torch.complex64)), BATCH)
    seen = {}

    class Capture(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen["loss"] = float(outputs["loss"])

    trainer = L.Trainer(
        max_steps=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[Capture()],
    )
    trainer.fit(module, loader)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "step.ckpt"
        trainer.save_checkpoint(path, weights_only=True)
        reloaded = PtychoPINN_Lightning.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    module.eval(), reloaded.eval()
    with torch.no_grad():
        before, after = module(tx, toff)["object"].numpy(), reloaded(tx, toff)["object"].numpy()
    return {"plain_loss": plain_loss, "lightning_loss": seen["loss"], "before": before, "after": after}


def lightning_loss(N: int, gridsize: int) -> tuple[float, str]:
    run = lightning_runs(N, gridsize)
    error = abs(run["lightning_loss"] - run["plain_loss"]) / abs(run["plain_loss"])
    return error, f"training_step {run['lightning_loss']:.8g} vs plain model {run['plain_loss']:.8g}"


def lightning_reload(N: int, gridsize: int) -> tuple[float, str]:
    run = lightning_runs(N, gridsize)
    return relative_error(run["after"], run["before"]), "predictions after save_checkpoint -> load_from_checkpoint"


# -- predict -> stitch ------------------------------------------------------------------------------
def stitched(model_config: ModelConfig) -> tuple[float, str]:
    """Both engines' inference models on the same weights and data, stitched by the shared stitcher."""
    from ptycho.data_contract import from_arrays
    from ptycho.raw_data import RawData
    from ptycho.simulation import SimulationSpec, simulate_dataset
    from ptycho.workflows.common import create_ptycho_data_container, predict_patches, start_workflow, stitch_patches

    _, arrays = simulate_dataset(SimulationSpec(N=model_config.N, object_size=2 * model_config.N, scan_step=12, seed=4))
    config = TrainingConfig(model=model_config, n_groups=12)
    with params.preserved():
        start_workflow(config)
        data = create_ptycho_data_container(RawData(from_arrays(arrays, "parity")), config)
    models = twin_models(model_config)
    scale = intensity_scale(1e9, model_config.N)
    objects = {
        name: stitch_patches(predict_patches(engine(name).inference_model(m), data, scale), data)
        for name, m in models.items()
    }
    error = relative_error(objects["pytorch"], objects["tensorflow"])
    return error, f"{len(data.X)} groups stitched onto {objects['tensorflow'].shape}"


def checks() -> list[Check]:
    out = []
    for i, mc in enumerate(combinations()):
        writer = ("tensorflow", "pytorch")[i % 2]  # half the combinations each way
        same = tolerance(forward_terms(mc))
        out.append(Check(f"weights/{_label(mc)}", "same_weights", same, lambda mc=mc, w=writer: same_outputs(mc, w)))
    for gridsize, writer in ((1, "tensorflow"), (2, "pytorch")):
        for gain in (False, True):
            mc = ModelConfig(N=64, gridsize=gridsize, n_filters_scale=1, projection_iterations=PROJECTIONS,
                             estimate_gain=gain)
            out.append(Check(f"weights/{_label(mc)}/projections={PROJECTIONS}{'/gain' * gain}", "same_weights",
                             tolerance(forward_terms(mc)), lambda mc=mc, w=writer: same_outputs(mc, w)))
    for gridsize, object_big in itertools.product((1, 2), (True, False)):
        mc = ModelConfig(N=64, gridsize=gridsize, n_filters_scale=1, object_big=object_big)
        out.append(
            Check(
                f"gradients/N=64/gridsize={gridsize}/object_big={int(object_big)}",
                "gradients",
                gradient_tolerance(mc),
                lambda mc=mc: same_gradients(mc),
            )
        )
    # 2 projections: the way back does not pass through them, so a few prove the gradients right with them
    # present, while 10 would widen the tolerance past what catches a wrong engine
    for gain in (False, True):
        mc = ModelConfig(N=64, gridsize=1, n_filters_scale=1, projection_iterations=2, estimate_gain=gain)
        out.append(Check(f"gradients/N=64/gridsize=1/projections=2{'/gain' * gain}", "gradients",
                         gradient_tolerance(mc), lambda mc=mc: same_gradients(mc)))
    lightning_config = ModelConfig(N=64, gridsize=2, n_filters_scale=1)  # what lightning_runs builds
    loss_tolerance = tolerance(loss_terms(lightning_config, BATCH))
    out.append(Check("lightning/training_step_loss", "lightning", loss_tolerance, lambda: lightning_loss(64, 2)))
    out.append(Check("lightning/checkpoint_reload", "lightning", 0.0, lambda: lightning_reload(64, 2)))
    for gridsize in (1, 2):
        mc = ModelConfig(N=64, gridsize=gridsize, n_filters_scale=1)
        stitching = tolerance(forward_terms(mc))  # the overlap sums add a handful of terms per pixel
        out.append(Check(f"stitching/N=64/gridsize={gridsize}", "stitching", stitching, lambda mc=mc: stitched(mc)))
    return out
