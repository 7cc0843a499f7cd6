"""Translate the PyTorch engine's configs into the canonical ``ptycho.config.config`` dataclasses.

Mappings: ``grid_size (h, w)`` -> ``gridsize`` (square only), ``mode`` 'Unsupervised'/'Supervised' ->
``model_type`` 'pinn'/'supervised', ``silu``/``SiLU`` -> ``swish``, ``epochs`` -> ``nepochs``, ``K`` ->
``neighbor_count``, ``nll`` (bool) -> ``nll_weight`` (1.0/0.0). Values the engine configs cannot hold
(``train_data_file``, ``n_groups``, ``model_path``, ``test_data_file``, …) come from ``overrides``; the
required ones raise a ``ConfigError`` naming them. An engine default that differs from the canonical
default (``nphotons``) must be overridden or set explicitly: it is never bridged silently.
"""

from __future__ import annotations

from pathlib import Path

from ptycho.config import config as canonical
from ptycho.errors import ConfigError
from ptycho_torch.config_params import DIVERGENT_DEFAULTS, DataConfig, InferenceConfig, ModelConfig, TrainingConfig

MODES = {"unsupervised": "pinn", "supervised": "supervised"}
ACTIVATIONS = {"silu": "swish", "swish": "swish", "sigmoid": "sigmoid", "softplus": "softplus", "relu": "relu"}


def _gridsize(data: DataConfig) -> int:
    h, w = data.grid_size
    if h != w:
        raise ConfigError(
            f"DataConfig.grid_size={tuple(data.grid_size)!r} is not square; the PINN needs "
            "grid_size=(g, g) (gridsize g)"
        )
    return int(h)


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
        probe_mask=model.probe_mask,
        pad_object=model.pad_object,
        probe_scale=data.probe_scale,
        gaussian_smoothing_sigma=model.gaussian_smoothing_sigma,
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
        mae_weight=training.mae_weight,
        nll_weight=1.0 if training.nll else 0.0,
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
