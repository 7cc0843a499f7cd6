"""The PyTorch engine's own configuration objects (upstream ``ptycho_torch.config_params`` names).

They describe the same run as the canonical :mod:`ptycho.config.config` dataclasses in the engine's
vocabulary (``grid_size`` pairs, ``mode``, ``epochs``, ``K``, ``nll``); :mod:`ptycho_torch.config_bridge`
translates. Defaults that differ from the canonical ones are listed in ``DIVERGENT_DEFAULTS``.

Clients written for upstream PtychoPINN (ptychodus 1.7.0) also set fields that select features this engine
does not have (attention blocks, staged fine-tuning, other data normalisations…). They are accepted so
those clients run; ``IGNORED_FIELDS`` lists them with the value that means "off", and
:func:`ptycho_torch.config_bridge.ignored_options` names every one set otherwise (the façade logs them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    N: int = 64
    grid_size: tuple[int, int] = (1, 1)
    C: int | None = None  # channels = gridsize² (checked when given)
    K: int = 4
    n_subsample: int | None = None
    subsample_seed: int | None = None
    nphotons: float = 1e5  # upstream engine default; the canonical default is 1e9 (see DIVERGENT_DEFAULTS)
    probe_scale: float = 4.0
    sequential_sampling: bool = False
    normalize: str = "Batch"
    probe_normalize: bool = True
    data_scaling: str = "Parseval"
    phase_subtraction: bool = True
    neighbor_function: str = "Nearest"
    scan_pattern: str = "Isotropic"
    x_bounds: tuple[float, float] = (0.1, 0.9)
    y_bounds: tuple[float, float] = (0.1, 0.9)
    min_neighbor_distance: float = 0.0
    max_neighbor_distance: float = 3.0
    K_quadrant: int = 30
    probe_ramp_removal: bool = False


@dataclass
class ModelConfig:
    mode: str = "Unsupervised"
    amp_activation: str = "sigmoid"
    n_filters_scale: int = 2
    object_big: bool = True
    probe_big: bool = True
    pad_object: bool = True
    probe_mask: bool | None = False
    gaussian_smoothing_sigma: float = 0.0
    projection_iterations: int = 0  # see ptycho.config.ModelConfig
    estimate_gain: bool = False  # see ptycho.config.ModelConfig
    intensity_scale_trainable: bool = True
    probe_trainable: bool = False
    intensity_scale: float | None = None  # initial photon scale; this engine measures it from the data
    loss_function: str = "Poisson"
    C_model: int | None = None
    C_forward: int | None = None
    decoder_last_amp_channels: int | None = None
    num_datasets: int = 1
    max_position_jitter: int = 0
    cbam_encoder: bool = False
    cbam_bottleneck: bool = False
    cbam_decoder: bool = False
    eca_encoder: bool = False
    eca_decoder: bool = False
    spatial_decoder: bool = False
    decoder_spatial_kernel: int = 7
    use_shared_decoder: bool = False
    batch_norm: bool = False
    edge_pad: int = 0
    offset: int = 0
    decoder_last_c_outer_fraction: float = 0.125
    amp_loss: str | None = None
    phase_loss: str | None = None
    amp_loss_coeff: float = 1.0
    phase_loss_coeff: float = 1.0
    probe_reference_coeff: float = 0.0
    amplitude_variance_loss: bool = False
    amplitude_variance_coeff: float = 0.01


@dataclass
class TrainingConfig:
    epochs: int = 50
    batch_size: int = 16
    nll: bool = True
    mae_weight: float = 0.0
    realspace_mae_weight: float = 0.0
    realspace_weight: float = 0.0
    positions_provided: bool = True
    learning_rate: float = 1e-3
    n_devices: int = 1
    num_workers: int = 0
    accum_steps: int = 1
    gradient_clip_val: float | None = None
    device: str = "cpu"
    strategy: str = "auto"
    scheduler: str = "Default"
    framework: str = "Lightning"
    orchestrator: str = "Lightning"
    notes: str = ""
    model_name: str = "PtychoPINN"
    warmup_epochs: int = 0
    min_lr_ratio: float = 0.0
    epochs_fine_tune: int = 0
    fine_tune_gamma: float = 0.1
    enable_staged_finetuning: bool = False
    finetune_stage1_epochs: int = 0
    finetune_stage2_epochs: int = 0
    finetune_stage3_epochs: int = 0
    finetune_stage1_lr_decoder: float = 0.0
    finetune_stage2_lr_encoder_top: float = 0.0
    finetune_stage2_lr_decoder: float = 0.0
    finetune_stage2_lr_phase_head: float = 0.0
    finetune_stage3_lr_encoder_bottom: float = 0.0
    finetune_stage3_lr_encoder_top: float = 0.0
    finetune_stage3_lr_decoder: float = 0.0
    finetune_stage3_lr_phase_head: float = 0.0
    finetune_skip_stage3: bool = True
    finetune_early_stop_patience: int = 3
    finetune_val_split: float = 0.05


@dataclass
class InferenceConfig:
    batch_size: int = 64
    debug: bool = False
    middle_trim: int = 32
    experiment_number: int = 0
    patch_weighting: str = "probe"
    pad_eval: bool = True
    window: int = 20


@dataclass
class DatagenConfig:
    """Upstream's simulation settings; this engine simulates with ``ptycho simulate`` instead."""

    object_class: str = "dead_leaves"
    image_size: tuple[int, int] = (250, 250)
    nphotons: float = 1e5
    beamstop_diameter: int = 4


# (config class, field) -> (engine default, canonical default): never bridged silently
DIVERGENT_DEFAULTS = {("DataConfig", "nphotons"): (DataConfig.nphotons, 1e9)}

# (config class, field) -> the value meaning "feature off": upstream features this engine does not have
IGNORED_FIELDS = {
    ("DataConfig", "normalize"): "Batch",
    ("DataConfig", "probe_normalize"): True,
    ("DataConfig", "data_scaling"): "Parseval",
    ("DataConfig", "phase_subtraction"): True,
    ("DataConfig", "neighbor_function"): "Nearest",
    ("DataConfig", "probe_ramp_removal"): False,
    ("ModelConfig", "intensity_scale"): None,
    ("ModelConfig", "num_datasets"): 1,
    ("ModelConfig", "max_position_jitter"): 0,
    ("ModelConfig", "cbam_encoder"): False,
    ("ModelConfig", "cbam_bottleneck"): False,
    ("ModelConfig", "cbam_decoder"): False,
    ("ModelConfig", "eca_encoder"): False,
    ("ModelConfig", "eca_decoder"): False,
    ("ModelConfig", "spatial_decoder"): False,
    ("ModelConfig", "use_shared_decoder"): False,
    ("ModelConfig", "batch_norm"): False,
    ("ModelConfig", "edge_pad"): 0,
    ("ModelConfig", "offset"): 0,
    ("ModelConfig", "amp_loss"): None,
    ("ModelConfig", "phase_loss"): None,
    ("ModelConfig", "probe_reference_coeff"): 0.0,
    ("ModelConfig", "amplitude_variance_loss"): False,
    ("TrainingConfig", "num_workers"): 0,  # the data module serves in-memory tensors: workers only add start-up
    ("TrainingConfig", "warmup_epochs"): 0,
    ("TrainingConfig", "epochs_fine_tune"): 0,
    ("TrainingConfig", "enable_staged_finetuning"): False,
    ("InferenceConfig", "patch_weighting"): "probe",
}
