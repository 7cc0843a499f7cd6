"""Canonical configuration of ptychopinn (docs/design.md §4, CONFIG-001).

Field names and defaults follow the upstream PtychoPINN API, because the ptychodus application builds
these objects directly. Field-level checks run in ``__post_init__`` and name the field, the value and
what is allowed. ``ModelConfig`` stays mutable and accepts ``N=0`` as a placeholder, since ptychodus
sets ``config.model.N`` after construction; :func:`validate_for_workflow` checks the whole config when a
workflow starts.

``update_legacy_dict`` is re-exported from :mod:`ptycho.params` (where it lives), because the ptychodus
plugin imports it from here (``from ptycho.config.config import update_legacy_dict``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ptycho.errors import ConfigError
from ptycho.params import KEY_MAPPINGS, update_legacy_dict

__all__ = [
    "ConfigError",
    "InferenceConfig",
    "ModelConfig",
    "PyTorchExecutionConfig",
    "SUPPORTED_N",
    "TrainingConfig",
    "model_config_from_params",
    "update_legacy_dict",
    "validate_for_workflow",
]

SUPPORTED_N = (64, 128, 256)
MODEL_TYPES = ("pinn", "supervised")
AMP_ACTIVATIONS = ("sigmoid", "swish", "softplus", "relu")
BACKENDS = ("tensorflow", "pytorch")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "tpu", "mps")
STRATEGIES = ("auto", "ddp", "ddp_spawn", "single_device")
SCHEDULERS = ("constant", "exponential", "cosine", "plateau")
CHECKPOINT_MODES = ("min", "max")
LOGGER_BACKENDS = ("csv", "tensorboard", "mlflow", "none")


def _require_choice(owner: str, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{owner}.{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}.")


def _require_int(owner: str, name: str, value, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}.{name}={value!r} must be an integer >= {minimum}.")


def _require_number(
    owner: str, name: str, value, minimum: float, allow_none: bool = False, strict: bool = False
) -> None:
    if value is None and allow_none:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        relation = ">" if strict else ">="
        raise ConfigError(f"{owner}.{name}={value!r} must be a number {relation} {minimum}.")


def _require_estimate_for_gain(model) -> None:
    if not isinstance(model.estimate_gain, bool):
        raise ConfigError(f"ModelConfig.estimate_gain={model.estimate_gain!r} must be True or False.")
    if model.estimate_gain and model.projection_iterations < 1:
        raise ConfigError(
            "ModelConfig.estimate_gain=True multiplies the projections' estimate, but projection_iterations=0 "
            "makes none; set projection_iterations >= 1 (e.g. 10)."
        )
    if model.estimate_gain and model.gridsize > 1 and not model.object_big:
        raise ConfigError(
            "ModelConfig.estimate_gain=True needs one decoded patch per pattern (object_big=True) when "
            f"gridsize={model.gridsize}: each gain multiplies its own pattern's estimate."
        )


def _as_path(value):
    return None if value is None else Path(value)


@dataclass
class ModelConfig:
    """Network and physics settings shared by both engines."""

    N: int = 64
    gridsize: int = 1
    n_filters_scale: int = 2
    model_type: Literal["pinn", "supervised"] = "pinn"
    amp_activation: Literal["sigmoid", "swish", "softplus", "relu"] = "sigmoid"
    object_big: bool = True
    probe_big: bool = True
    probe_mask: bool = False
    pad_object: bool = True
    probe_scale: float = 4.0
    gaussian_smoothing_sigma: float = 0.0
    # per-pattern probe-constrained projections whose estimate the encoder sees beside the diffraction
    # (ptycho.physics.projection); 0: the diffraction alone, as upstream
    projection_iterations: int = 0
    # the decoder's output multiplies that estimate (a learned correction of it) instead of replacing it
    estimate_gain: bool = False

    def __post_init__(self) -> None:
        if self.N != 0:
            _require_choice("ModelConfig", "N", self.N, SUPPORTED_N)
        _require_int("ModelConfig", "gridsize", self.gridsize, 1)
        _require_int("ModelConfig", "n_filters_scale", self.n_filters_scale, 1)
        _require_choice("ModelConfig", "model_type", self.model_type, MODEL_TYPES)
        _require_choice("ModelConfig", "amp_activation", self.amp_activation, AMP_ACTIVATIONS)
        _require_number("ModelConfig", "probe_scale", self.probe_scale, 0.0, strict=True)
        _require_number("ModelConfig", "gaussian_smoothing_sigma", self.gaussian_smoothing_sigma, 0.0)
        _require_int("ModelConfig", "projection_iterations", self.projection_iterations, 0)
        _require_estimate_for_gain(self)


@dataclass
class TrainingConfig:
    """What to train on and how long; ``backend`` selects the engine."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train_data_file: Path | None = None
    test_data_file: Path | None = None
    batch_size: int = 16
    nepochs: int = 50
    mae_weight: float = 0.0
    nll_weight: float = 1.0
    realspace_mae_weight: float = 0.0
    realspace_weight: float = 0.0
    nphotons: float = 1e9
    n_groups: int = 512
    n_images: int | None = None  # deprecated alias of n_groups
    n_subsample: int | None = None
    subsample_seed: int | None = None
    neighbor_count: int = 4
    positions_provided: bool = True
    probe_trainable: bool = False
    intensity_scale_trainable: bool = True
    output_dir: Path = Path("training_outputs")
    sequential_sampling: bool = False
    backend: Literal["tensorflow", "pytorch"] = "tensorflow"

    def __post_init__(self) -> None:
        if self.n_images is not None:
            warnings.warn(
                "TrainingConfig.n_images is deprecated; use n_groups (the value was copied to n_groups).",
                DeprecationWarning,
                stacklevel=3,
            )
            self.n_groups = self.n_images
            self.n_images = None
        self.train_data_file = _as_path(self.train_data_file)
        self.test_data_file = _as_path(self.test_data_file)
        self.output_dir = Path(self.output_dir)
        owner = "TrainingConfig"
        _require_int(owner, "batch_size", self.batch_size, 1)
        _require_int(owner, "nepochs", self.nepochs, 1)
        _require_int(owner, "n_groups", self.n_groups, 1)
        _require_int(owner, "n_subsample", self.n_subsample, 1, allow_none=True)
        _require_int(owner, "subsample_seed", self.subsample_seed, 0, allow_none=True)
        _require_int(owner, "neighbor_count", self.neighbor_count, 1)
        for name in ("mae_weight", "nll_weight", "realspace_mae_weight", "realspace_weight"):
            _require_number(owner, name, getattr(self, name), 0.0)
        _require_number(owner, "nphotons", self.nphotons, 0.0, strict=True)
        _require_choice(owner, "backend", self.backend, BACKENDS)


@dataclass
class InferenceConfig:
    """What model to apply to which data; ``backend`` selects the engine."""

    model: ModelConfig = field(default_factory=ModelConfig)
    model_path: Path | None = None
    test_data_file: Path | None = None
    n_groups: int | None = None
    n_subsample: int | None = None
    subsample_seed: int | None = None
    neighbor_count: int = 4
    debug: bool = False
    output_dir: Path = Path("inference_outputs")
    backend: Literal["tensorflow", "pytorch"] = "tensorflow"

    def __post_init__(self) -> None:
        self.model_path = _as_path(self.model_path)
        self.test_data_file = _as_path(self.test_data_file)
        self.output_dir = Path(self.output_dir)
        owner = "InferenceConfig"
        _require_int(owner, "n_groups", self.n_groups, 1, allow_none=True)
        _require_int(owner, "n_subsample", self.n_subsample, 1, allow_none=True)
        _require_int(owner, "subsample_seed", self.subsample_seed, 0, allow_none=True)
        _require_int(owner, "neighbor_count", self.neighbor_count, 1)
        _require_choice(owner, "backend", self.backend, BACKENDS)


@dataclass
class PyTorchExecutionConfig:
    """Runtime knobs of the PyTorch engine. They steer a run and are never written to the legacy dict."""

    accelerator: str = "auto"
    strategy: str = "auto"
    n_devices: int = 1
    deterministic: bool = True
    num_workers: int = 0
    pin_memory: bool = False
    persistent_workers: bool = False
    learning_rate: float = 1e-3
    scheduler: str = "constant"
    gradient_clip_val: float | None = None
    accum_steps: int = 1
    enable_checkpointing: bool = True
    checkpoint_save_top_k: int = 1
    checkpoint_monitor_metric: str = "val_loss"
    checkpoint_mode: str = "min"
    early_stop_patience: int | None = None
    enable_progress_bar: bool = True
    logger_backend: str = "csv"
    inference_batch_size: int | None = None

    def __post_init__(self) -> None:
        owner = "PyTorchExecutionConfig"
        _require_choice(owner, "accelerator", self.accelerator, ACCELERATORS)
        _require_choice(owner, "strategy", self.strategy, STRATEGIES)
        _require_int(owner, "n_devices", self.n_devices, 1)
        _require_int(owner, "num_workers", self.num_workers, 0)
        _require_number(owner, "learning_rate", self.learning_rate, 0.0, strict=True)
        _require_choice(owner, "scheduler", self.scheduler, SCHEDULERS)
        _require_number(owner, "gradient_clip_val", self.gradient_clip_val, 0.0, allow_none=True, strict=True)
        _require_int(owner, "accum_steps", self.accum_steps, 1)
        _require_int(owner, "checkpoint_save_top_k", self.checkpoint_save_top_k, -1)
        if not isinstance(self.checkpoint_monitor_metric, str) or not self.checkpoint_monitor_metric:
            raise ConfigError(
                f"{owner}.checkpoint_monitor_metric={self.checkpoint_monitor_metric!r} "
                "must be a metric name such as 'val_loss'."
            )
        _require_choice(owner, "checkpoint_mode", self.checkpoint_mode, CHECKPOINT_MODES)
        _require_int(owner, "early_stop_patience", self.early_stop_patience, 1, allow_none=True)
        _require_choice(owner, "logger_backend", self.logger_backend, LOGGER_BACKENDS)
        _require_int(owner, "inference_batch_size", self.inference_batch_size, 1, allow_none=True)
        if self.persistent_workers and self.num_workers == 0:
            raise ConfigError(f"{owner}.persistent_workers=True needs num_workers > 0 (got num_workers=0).")


def validate_for_workflow(config: TrainingConfig | InferenceConfig) -> None:
    """Whole-config checks that run when a workflow starts (after ptychodus has filled in ``N``)."""
    model = config.model
    if model.N not in SUPPORTED_N:
        raise ConfigError(
            f"ModelConfig.N={model.N!r} is not a supported patch size; set config.model.N to one of "
            f"{', '.join(map(str, SUPPORTED_N))} (it must match the diffraction pattern size) before starting."
        )
    _require_choice(type(config).__name__, "backend", config.backend, BACKENDS)


def model_config_from_params(saved: dict):
    """The ``ModelConfig`` a legacy-dict snapshot (an archive's params) describes: the inverse of
    :func:`ptycho.params.dataclass_to_legacy_dict` for the model fields."""
    keys = {name: KEY_MAPPINGS.get(name, name) for name in ModelConfig.__dataclass_fields__}
    return ModelConfig(**{name: saved[key] for name, key in keys.items() if key in saved})
