"""The PyTorch engine's own configuration objects (upstream ``ptycho_torch.config_params`` names).

They describe the same run as the canonical :mod:`ptycho.config.config` dataclasses in the engine's
vocabulary (``grid_size`` pairs, ``mode``, ``epochs``, ``K``, ``nll``); :mod:`ptycho_torch.config_bridge`
translates. Defaults that differ from the canonical ones are listed in ``DIVERGENT_DEFAULTS``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    N: int = 64
    grid_size: tuple[int, int] = (1, 1)
    K: int = 4
    n_subsample: int | None = None
    subsample_seed: int | None = None
    nphotons: float = 1e5  # upstream engine default; the canonical default is 1e9 (see DIVERGENT_DEFAULTS)
    probe_scale: float = 4.0
    sequential_sampling: bool = False


@dataclass
class ModelConfig:
    mode: str = "Unsupervised"
    amp_activation: str = "sigmoid"
    n_filters_scale: int = 2
    object_big: bool = True
    probe_big: bool = True
    pad_object: bool = True
    probe_mask: bool = False
    gaussian_smoothing_sigma: float = 0.0
    intensity_scale_trainable: bool = True
    probe_trainable: bool = False


@dataclass
class TrainingConfig:
    epochs: int = 50
    batch_size: int = 16
    nll: bool = True
    mae_weight: float = 0.0
    realspace_mae_weight: float = 0.0
    realspace_weight: float = 0.0
    positions_provided: bool = True


@dataclass
class InferenceConfig:
    batch_size: int = 64
    debug: bool = False


# (config class, field) -> (engine default, canonical default): never bridged silently
DIVERGENT_DEFAULTS = {("DataConfig", "nphotons"): (DataConfig.nphotons, 1e9)}
