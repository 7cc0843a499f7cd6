"""Translate the PyTorch engine's configs into the canonical ``ptycho.config.config`` dataclasses.

Mappings: ``grid_size (h, w)`` -> ``gridsize`` (square only), ``mode`` 'Unsupervised'/'Supervised' ->
``model_type`` 'pinn'/'supervised', ``silu``/``SiLU`` -> ``swish``, ``epochs`` -> ``nepochs``, ``K`` ->
``neighbor_count``, ``nll`` (bool) -> ``nll_weight`` (1.0/0.0). Values the engine configs cannot hold
(``train_data_file``, ``n_groups``, ``model_path``, ``test_data_file``, …) come from ``overrides``; the
required ones raise a ``ConfigError`` naming them. An engine default that differs from the canonical
default (``nphotons``) must be overridden or set explicitly: it is never bridged silently.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from ptycho.config import config as canonical
from ptycho.errors import ConfigError
from ptycho_torch.config_params import (
    DIVERGENT_DEFAULTS,
    IGNORED_FIELDS,
    DataConfig,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
)

MODES = {"unsupervised": "pinn", "supervised": "supervised"}
ACTIVATIONS = {"silu": "swish", "swish": "swish", "sigmoid": "sigmoid", "softplus": "softplus", "relu": "relu"}
LOSSES = ("poisson", "mae")
SCHEDULERS = {"default": "constant", "constant": "constant", "exponential": "exponential", "cosine": "cosine",
              "plateau": "plateau", "adaptive": "plateau"}
DEVICES = {"cuda": "auto", "gpu": "auto", "auto": "auto", "cpu": "cpu"}  # 'cuda' runs on the CPU when there is none


def _gridsize(data: DataConfig) -> int:
    h, w = data.grid_size
    if h != w:
        raise ConfigError(
            f"DataConfig.grid_size={tuple(data.grid_size)!r} is not square; the PINN needs "
            "grid_size=(g, g) (gridsize g)"
        )
    if data.C is not None and data.C != h * w:
        raise ConfigError(f"DataConfig.C={data.C} but grid_size={tuple(data.grid_size)!r} groups {h * w} patterns; "
                          f"set C={h * w}")
    return int(h)


def _loss_weights(model: ModelConfig, training: TrainingConfig) -> dict:
    loss = str(model.loss_function).lower()
    if loss not in LOSSES:
        raise ConfigError(
            f"ModelConfig.loss_function={model.loss_function!r} is not allowed; choose 'Poisson' or 'MAE'"
        )
    if loss == "mae":
        return {"nll_weight": 0.0, "mae_weight": training.mae_weight or 1.0}
    return {"nll_weight": 1.0 if training.nll else 0.0, "mae_weight": training.mae_weight}


def ignored_options(*configs) -> dict[str, object]:
    """``{'ModelConfig.cbam_encoder': True, …}``: every field of ``configs`` that selects an upstream feature
    this engine does not have (:data:`ptycho_torch.config_params.IGNORED_FIELDS`)."""
    found = {}
    for config in configs:
        owner = type(config).__name__
        for f in fields(config):
            off = IGNORED_FIELDS.get((owner, f.name), getattr(config, f.name))
            if getattr(config, f.name) != off:
                found[f"{owner}.{f.name}"] = getattr(config, f.name)
    return found


def _choice(table: dict, value, where: str) -> str:
    key = str(value).lower()
    if key not in table:
        raise ConfigError(f"{where}={value!r} is not allowed; choose one of {', '.join(sorted(table))}")
    return table[key]


def to_execution_config(training: TrainingConfig, inference: InferenceConfig) -> canonical.PyTorchExecutionConfig:
    """The Lightning settings of ``training`` (device, devices, accumulation, clipping, learning rate and
    schedule) and the inference batch size. ``num_workers`` is not bridged: the data module serves tensors
    already in memory, and worker processes only add their start-up (9x slower training with 4 on 2 cores)."""
    devices = int(training.n_devices)
    strategy = training.strategy if devices > 1 else "auto"  # one device: no process group to start
    return canonical.PyTorchExecutionConfig(
        accelerator=_choice(DEVICES, training.device, "TrainingConfig.device"),
        n_devices=devices,
        strategy=strategy,
        accum_steps=int(training.accum_steps),
        gradient_clip_val=training.gradient_clip_val or None,
        learning_rate=float(training.learning_rate),
        scheduler=_choice(SCHEDULERS, training.scheduler, "TrainingConfig.scheduler"),
        inference_batch_size=int(inference.batch_size),
        enable_progress_bar=False,
    )


def _mode(model: ModelConfig) -> str:
    key = str(model.mode).lower()
    if key not in MODES:
        raise ConfigError(f"ModelConfig.mode={model.mode!r} is not allowed; choose 'Unsupervised' or 'Supervised'")
    return MODES[key]


def _activation(model: ModelConfig) -> str:
    key = str(model.amp_activation).lower()
    if key not in ACTIVATIONS:
        raise ConfigError(
            f"ModelConfig.amp_activation={model.amp_activation!r} is not allowed; choose one of "
            f"{', '.join(sorted(ACTIVATIONS))}"
        )
    return ACTIVATIONS[key]


def _require(overrides: dict, names: tuple[str, ...], target: str) -> None:
    missing = [n for n in names if overrides.get(n) is None]
    if missing:
        raise ConfigError(
            f"{target} needs {', '.join(missing)} in overrides (the PyTorch engine configs do not "
            f"hold {'it' if len(missing) == 1 else 'them'}), e.g. overrides={{'{missing[0]}': ...}}"
        )


def _nphotons(data: DataConfig, overrides: dict) -> float:
    if "nphotons" in overrides:
        return float(overrides["nphotons"])
    engine_default, canonical_default = DIVERGENT_DEFAULTS[("DataConfig", "nphotons")]
    if data.nphotons == engine_default and engine_default != canonical_default:
        raise ConfigError(
            f"DataConfig.nphotons is at the engine default {engine_default:g}, which differs from the "
            f"canonical default {canonical_default:g}; set DataConfig.nphotons or pass "
            "overrides={'nphotons': ...} so the choice is explicit"
        )
    return float(data.nphotons)


def to_model_config(data: DataConfig, model: ModelConfig, overrides: dict | None = None) -> canonical.ModelConfig:
    overrides = dict(overrides or {})
    values = dict(
        N=data.N,
        gridsize=_gridsize(data),
        n_filters_scale=model.n_filters_scale,
        model_type=_mode(model),
        amp_activation=_activation(model),
        object_big=model.object_big,
        probe_big=model.probe_big,
        probe_mask=bool(model.probe_mask),
        pad_object=model.pad_object,
        probe_scale=data.probe_scale,
        gaussian_smoothing_sigma=model.gaussian_smoothing_sigma,
        projection_iterations=model.projection_iterations,
        estimate_gain=model.estimate_gain,
    )
    values.update({k: v for k, v in overrides.items() if k in values})
    return canonical.ModelConfig(**values)


def to_training_config(
    model: canonical.ModelConfig,
    data: DataConfig,
    pt_model: ModelConfig,
    training: TrainingConfig,
    overrides: dict | None = None,
) -> canonical.TrainingConfig:
    overrides = dict(overrides or {})
    _require(overrides, ("train_data_file", "n_groups"), "to_training_config")
    values = dict(
        model=model,
        train_data_file=Path(overrides["train_data_file"]),
        test_data_file=overrides.get("test_data_file"),
        batch_size=training.batch_size,
        nepochs=training.epochs,
        **_loss_weights(pt_model, training),
        realspace_mae_weight=training.realspace_mae_weight,
        realspace_weight=training.realspace_weight,
        nphotons=_nphotons(data, overrides),
        n_groups=int(overrides["n_groups"]),
        n_subsample=data.n_subsample,
        subsample_seed=data.subsample_seed,
        neighbor_count=data.K,
        positions_provided=training.positions_provided,
        probe_trainable=pt_model.probe_trainable,
        intensity_scale_trainable=pt_model.intensity_scale_trainable,
        sequential_sampling=data.sequential_sampling,
        backend="pytorch",
    )
    passthrough = {"output_dir", "backend", "subsample_seed", "n_subsample", "batch_size", "nepochs"}
    values.update({k: v for k, v in overrides.items() if k in passthrough})
    return canonical.TrainingConfig(**values)


def to_inference_config(
    model: canonical.ModelConfig, data: DataConfig, inference: InferenceConfig, overrides: dict | None = None
) -> canonical.InferenceConfig:
    overrides = dict(overrides or {})
    _require(overrides, ("model_path", "test_data_file"), "to_inference_config")
    values = dict(
        model=model,
        model_path=Path(overrides["model_path"]),
        test_data_file=Path(overrides["test_data_file"]),
        n_groups=overrides.get("n_groups"),
        n_subsample=data.n_subsample,
        subsample_seed=data.subsample_seed,
        neighbor_count=data.K,
        debug=inference.debug,
        backend="pytorch",
    )
    if "output_dir" in overrides:
        values["output_dir"] = Path(overrides["output_dir"])
    return canonical.InferenceConfig(**values)


def from_hyperparameters(hp: dict) -> tuple[DataConfig, ModelConfig, TrainingConfig, InferenceConfig]:
    """The engine configs a checkpoint's ``hyper_parameters`` describe (the inverse of the bridge, for clients
    that rebuild their settings from a checkpoint)."""
    model, data, training, inference = (hp[k] for k in ("model_config", "data_config", "training_config",
                                                         "inference_config"))
    g = int(model["gridsize"])
    data_config = DataConfig(N=int(model["N"]), grid_size=(g, g), C=g * g, K=int(data["K"]),
                             nphotons=float(data["nphotons"]), probe_scale=float(model["probe_scale"]))
    mode = {v: k.capitalize() for k, v in MODES.items()}[model["model_type"]]
    model_config = ModelConfig(
        mode=mode,
        amp_activation=model["amp_activation"],
        n_filters_scale=int(model["n_filters_scale"]),
        object_big=bool(model["object_big"]),
        probe_big=bool(model["probe_big"]),
        pad_object=bool(model["pad_object"]),
        probe_mask=bool(model["probe_mask"]),
        gaussian_smoothing_sigma=float(model["gaussian_smoothing_sigma"]),
        projection_iterations=int(model.get("projection_iterations", 0)),
        estimate_gain=bool(model.get("estimate_gain", False)),
        intensity_scale_trainable=bool(training["intensity_scale_trainable"]),
        probe_trainable=bool(training["probe_trainable"]),
        intensity_scale=float(training["intensity_scale"]),
        loss_function="Poisson" if training.get("nll_weight", 1.0) else "MAE",
        C_model=g * g,
        C_forward=g * g,
    )
    training_config = TrainingConfig(
        epochs=int(training["nepochs"]),
        batch_size=int(training["batch_size"]),
        nll=bool(training.get("nll_weight", 1.0)),
        mae_weight=float(training.get("mae_weight", 0.0)),
        learning_rate=float(training["learning_rate"]),
        accum_steps=int(training.get("accum_steps", 1)),
        scheduler=str(training.get("scheduler", "constant")),
    )
    return data_config, model_config, training_config, InferenceConfig(batch_size=int(inference["batch_size"]))
