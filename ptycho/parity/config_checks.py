"""The configuration bridge: the legacy dict (CONFIG-001) written from a canonical (TensorFlow-side) config
and from the equivalent PyTorch-engine configs is identical key by key, at the defaults and with every
field changed. The measured error is the number of keys that differ (tolerance 0).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from ptycho.config import config as canonical
from ptycho.params import dataclass_to_legacy_dict
from ptycho.parity.result import Check

ENGINE_KEY = "backend"  # names the engine that wrote the dict: the one key that must differ
NOT_EXERCISED = {ENGINE_KEY, "n_images"}  # n_images: a deprecated alias the legacy dict never holds
FILES = {"train_data_file": Path("train.npz"), "test_data_file": Path("test.npz"), "output_dir": Path("out")}


def _torch_configs():
    from ptycho_torch import config_bridge as bridge
    from ptycho_torch import config_params as pt

    return bridge, pt


# estimate_gain needs one decoded patch per pattern at gridsize 2 (object_big on), so the non-default pairs
# come in two variants: object_big changed, and estimate_gain changed; a field counts as untested only when
# both leave it at its default
VARIANTS = ("non_default", "non_default_gain")


def _pt_model(pt, variant: str, **training_flags):
    gain = variant == "non_default_gain"
    return pt.ModelConfig(mode="Supervised", amp_activation="silu", n_filters_scale=1, object_big=gain,
                          probe_big=False, pad_object=False, probe_mask=True, gaussian_smoothing_sigma=0.7,
                          projection_iterations=5, estimate_gain=gain, **training_flags)


def training_pair(variant: str):
    """(canonical TrainingConfig, the one bridged from the PyTorch-engine configs) for ``"default"`` or one
    of :data:`VARIANTS`."""
    bridge, pt = _torch_configs()
    if variant == "default":
        data, model, training = pt.DataConfig(nphotons=1e9), pt.ModelConfig(), pt.TrainingConfig()
        overrides = {"train_data_file": FILES["train_data_file"], "n_groups": 512}
        expected = canonical.TrainingConfig(train_data_file=FILES["train_data_file"])
    else:
        data = pt.DataConfig(N=128, grid_size=(2, 2), K=6, n_subsample=50, subsample_seed=3, nphotons=1e7,
                             probe_scale=3.0, sequential_sampling=True)
        model = _pt_model(pt, variant, intensity_scale_trainable=False, probe_trainable=True)
        training = pt.TrainingConfig(epochs=7, batch_size=4, nll=False, mae_weight=0.5, realspace_mae_weight=0.25,
                                     realspace_weight=0.125, positions_provided=False)
        overrides = {**FILES, "n_groups": 33}
        expected = canonical.TrainingConfig(
            model=non_default_model(variant), batch_size=4, nepochs=7, mae_weight=0.5, nll_weight=0.0,
            realspace_mae_weight=0.25, realspace_weight=0.125, nphotons=1e7, n_groups=33, n_subsample=50,
            subsample_seed=3, neighbor_count=6, positions_provided=False, probe_trainable=True,
            intensity_scale_trainable=False, sequential_sampling=True, **FILES,
        )
    bridged = bridge.to_training_config(bridge.to_model_config(data, model), data, model, training, overrides)
    return expected, bridged


def non_default_model(variant: str) -> canonical.ModelConfig:
    gain = variant == "non_default_gain"
    return canonical.ModelConfig(N=128, gridsize=2, n_filters_scale=1, model_type="supervised",
                                 amp_activation="swish", object_big=gain, probe_big=False, probe_mask=True,
                                 pad_object=False, probe_scale=3.0, gaussian_smoothing_sigma=0.7,
                                 projection_iterations=5, estimate_gain=gain)


def inference_pair(variant: str):
    bridge, pt = _torch_configs()
    paths = {"model_path": Path("model"), "test_data_file": FILES["test_data_file"]}
    if variant == "default":
        data, model, inference, overrides = pt.DataConfig(), pt.ModelConfig(), pt.InferenceConfig(), dict(paths)
        expected = canonical.InferenceConfig(**paths)
    else:
        data = pt.DataConfig(N=128, grid_size=(2, 2), K=6, n_subsample=50, subsample_seed=3, probe_scale=3.0)
        model = _pt_model(pt, variant)
        inference = pt.InferenceConfig(debug=True)
        overrides = {**paths, "n_groups": 9, "output_dir": FILES["output_dir"]}
        expected = canonical.InferenceConfig(model=non_default_model(variant), n_groups=9, n_subsample=50,
                                             subsample_seed=3, neighbor_count=6, debug=True,
                                             output_dir=FILES["output_dir"], **paths)
    bridged = bridge.to_inference_config(bridge.to_model_config(data, model), data, inference, overrides)
    return expected, bridged


def fields_at_default(config) -> list[str]:
    """Fields of ``config`` (its nested model included) still at their default value."""
    default = type(config)()
    out = []
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "model":
            out += [f"model.{name}" for name in fields_at_default(value)]
        elif f.name not in NOT_EXERCISED and value == getattr(default, f.name):
            out.append(f.name)
    return out


def compare(make_pair, variant: str) -> tuple[float, str]:
    """Differing legacy keys (+ fields every non-default variant left at their default, so none goes
    untested)."""
    expected, bridged = make_pair(variant)
    a, b = dataclass_to_legacy_dict(expected), dataclass_to_legacy_dict(bridged)
    keys = sorted((set(a) | set(b)) - {ENGINE_KEY})
    differing = [k for k in keys if a.get(k, "<missing>") != b.get(k, "<missing>")]
    detail = f"{len(keys)} keys compared ('{ENGINE_KEY}' names the engine and is left out)"
    if differing:
        detail += "; differ: " + ", ".join(f"{k} ({a.get(k)!r} vs {b.get(k)!r})" for k in differing)
    untested = []
    if variant != "default":
        untested = sorted(set.intersection(*(set(fields_at_default(make_pair(v)[0])) for v in VARIANTS)))
    if untested:
        detail += "; left at the default: " + ", ".join(untested)
    return float(len(differing) + len(untested)), detail


def checks() -> list[Check]:
    out = []
    for variant in ("default", *VARIANTS):
        out.append(Check(f"config/training/{variant}/legacy_dict", "config", 0.0,
                         lambda v=variant: compare(training_pair, v)))
        out.append(Check(f"config/inference/{variant}/legacy_dict", "config", 0.0,
                         lambda v=variant: compare(inference_pair, v)))
    return out
