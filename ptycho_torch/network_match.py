"""Whether engine configs given beside a checkpoint describe the network it holds (upstream clients pass
``model_config=…`` and ``data_config=…`` to ``load_from_checkpoint``)."""

from __future__ import annotations

from ptycho.config.config import ModelConfig
from ptycho.errors import ConfigError
from ptycho_torch import config_bridge

ARCHITECTURE_FIELDS = ("N", "gridsize", "n_filters_scale", "model_type", "amp_activation", "object_big", "probe_big",
                       "pad_object", "probe_mask", "projection_iterations", "estimate_gain")

DEFAULTS = ModelConfig()


def check_same_network(hparams, upstream_configs: dict, source) -> None:
    """Configs passed beside a checkpoint must describe its network (data and model configs compared)."""
    data, model = upstream_configs.get("data_config"), upstream_configs.get("model_config")
    if data is None or model is None:
        return
    given = config_bridge.to_model_config(data, model)
    saved = hparams["model_config"]
    saved = {f: saved.get(f, getattr(DEFAULTS, f)) for f in ARCHITECTURE_FIELDS}  # older checkpoints lack newer fields
    differ = {f: (getattr(given, f), saved[f]) for f in ARCHITECTURE_FIELDS if getattr(given, f) != saved[f]}
    if differ:
        listed = ", ".join(f"{f}: given {a!r}, checkpoint {b!r}" for f, (a, b) in differ.items())
        raise ConfigError(f"{source}: the configs given do not describe the checkpoint's network ({listed}); "
                          "rebuild them from the checkpoint (PtychoModel._extract_configs_from_checkpoint)")
