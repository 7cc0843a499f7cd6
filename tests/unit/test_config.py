"""Config dataclasses and the legacy-dict bridge (CONFIG-001)."""

from dataclasses import replace
from pathlib import Path

import pytest

from ptycho import params
from ptycho.config.config import (
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    TrainingConfig,
    validate_for_workflow,
)
from ptycho.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_params():
    params.reset()
    yield
    params.reset()


def test_model_defaults_match_upstream():
    m = ModelConfig()
    assert (m.N, m.gridsize, m.n_filters_scale, m.model_type, m.amp_activation) == (64, 1, 2, "pinn", "sigmoid")
    assert (m.object_big, m.probe_big, m.probe_mask, m.pad_object) == (True, True, False, True)
    assert (m.probe_scale, m.gaussian_smoothing_sigma) == (4.0, 0.0)
    assert m.projection_iterations == 0  # ours, not upstream's: the upstream network sees the diffraction alone


def test_training_defaults_match_upstream():
    t = TrainingConfig()
    assert (t.batch_size, t.nepochs, t.mae_weight, t.nll_weight) == (16, 50, 0, 1)
    assert (t.realspace_mae_weight, t.realspace_weight, t.nphotons, t.n_groups) == (0, 0, 1e9, 512)
    assert (t.neighbor_count, t.positions_provided, t.probe_trainable) == (4, True, False)
    assert t.intensity_scale_trainable is True and t.sequential_sampling is False
    assert t.output_dir == Path("training_outputs") and t.backend == "tensorflow"


def test_inference_defaults_match_upstream():
    i = InferenceConfig()
    assert (i.neighbor_count, i.debug, i.output_dir, i.backend) == (4, False, Path("inference_outputs"),
                                                                    "tensorflow")
    assert i.model_path is None and i.n_groups is None


def test_model_config_is_mutable_and_accepts_placeholder_n():
    m = ModelConfig(N=0)
    cfg = TrainingConfig(model=m)
    with pytest.raises(ConfigError, match=r"ModelConfig.N=0 .*set config.model.N to one of 64, 128, 256"):
        validate_for_workflow(cfg)
    m.N = 128  # what ptychodus does after construction
    validate_for_workflow(cfg)


@pytest.mark.parametrize("kwargs, message", [
    ({"N": 96}, r"ModelConfig.N=96 is not allowed; choose one of 64, 128, 256"),
    ({"gridsize": 0}, r"ModelConfig.gridsize=0 must be an integer >= 1"),
    ({"model_type": "gan"}, r"ModelConfig.model_type='gan' is not allowed; choose one of 'pinn', 'supervised'"),
    ({"amp_activation": "tanh"}, r"ModelConfig.amp_activation='tanh' is not allowed"),
    ({"probe_scale": 0}, r"ModelConfig.probe_scale=0 must be a number > 0"),
    ({"gaussian_smoothing_sigma": -1}, r"ModelConfig.gaussian_smoothing_sigma=-1 must be a number >= 0"),
    ({"projection_iterations": -1}, r"ModelConfig.projection_iterations=-1 must be an integer >= 0"),
    ({"projection_iterations": 2.5}, r"ModelConfig.projection_iterations=2.5 must be an integer >= 0"),
    ({"estimate_gain": 1, "projection_iterations": 10}, r"ModelConfig.estimate_gain=1 must be True or False"),
    ({"estimate_gain": True}, r"estimate_gain=True multiplies the projections' estimate, but projection_iterations=0 "
                              r"makes none; set projection_iterations >= 1"),
    ({"estimate_gain": True, "projection_iterations": 10, "gridsize": 2, "object_big": False},
     r"estimate_gain=True needs one decoded patch per pattern \(object_big=True\) when gridsize=2"),
])
def test_model_config_errors_name_field_value_and_allowed(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, r"TrainingConfig.batch_size=0 must be an integer >= 1"),
    ({"nepochs": 1.5}, r"TrainingConfig.nepochs=1.5 must be an integer >= 1"),
    ({"nphotons": 0}, r"TrainingConfig.nphotons=0 must be a number > 0"),
    ({"nll_weight": -1}, r"TrainingConfig.nll_weight=-1 must be a number >= 0"),
    ({"backend": "jax"}, r"TrainingConfig.backend='jax' is not allowed; choose one of 'tensorflow', 'pytorch'"),
    ({"neighbor_count": 0}, r"TrainingConfig.neighbor_count=0"),
])
def test_training_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainingConfig(**kwargs)


def test_inference_config_errors():
    with pytest.raises(ConfigError, match=r"InferenceConfig.backend='torch' is not allowed"):
        InferenceConfig(backend="torch")
    with pytest.raises(ConfigError, match=r"InferenceConfig.n_groups=0"):
        InferenceConfig(n_groups=0)


def test_n_images_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="n_images is deprecated; use n_groups"):
        t = TrainingConfig(n_images=77)
    assert t.n_groups == 77
    assert "n_images" not in params.dataclass_to_legacy_dict(t)


@pytest.mark.parametrize("field, value, allowed", [
    ("accelerator", "quantum", "'auto', 'cpu', 'gpu', 'cuda', 'tpu', 'mps'"),
    ("strategy", "horovod", "'auto', 'ddp'"),
    ("scheduler", "warmup", "'constant', 'exponential', 'cosine', 'plateau'"),
    ("checkpoint_mode", "avg", "'min', 'max'"),
    ("logger_backend", "wandb", "'csv', 'tensorboard', 'mlflow', 'none'"),
])
def test_execution_config_choice_errors(field, value, allowed):
    with pytest.raises(ConfigError, match=rf"PyTorchExecutionConfig.{field}='{value}' is not allowed; "
                                          rf"choose one of {allowed}"):
        PyTorchExecutionConfig(**{field: value})


@pytest.mark.parametrize("field, value", [
    ("n_devices", 0), ("num_workers", -1), ("learning_rate", 0), ("gradient_clip_val", -1.0),
    ("accum_steps", 0), ("checkpoint_save_top_k", -2), ("early_stop_patience", 0),
    ("inference_batch_size", 0), ("checkpoint_monitor_metric", ""),
])
def test_execution_config_number_errors(field, value):
    with pytest.raises(ConfigError, match=rf"PyTorchExecutionConfig.{field}={value!r}"):
        PyTorchExecutionConfig(**{field: value})


def test_execution_config_persistent_workers_need_workers():
    with pytest.raises(ConfigError, match="persistent_workers=True needs num_workers > 0"):
        PyTorchExecutionConfig(persistent_workers=True)
    PyTorchExecutionConfig(persistent_workers=True, num_workers=2)


def test_reading_an_unsynced_key_names_the_remedy():
    with pytest.raises(KeyError, match=r"'gridsize' was never set; call ptycho.params.update_legacy_dict"):
        params.get("gridsize")


def test_default_training_config_maps_every_field():
    flat = params.update_legacy_dict(params.cfg, TrainingConfig())
    expected = {
        "N": 64, "gridsize": 1, "n_filters_scale": 2, "model_type": "pinn", "amp_activation": "sigmoid",
        "object.big": True, "probe.big": True, "probe.mask": False, "pad_object": True, "probe_scale": 4.0,
        "gaussian_smoothing_sigma": 0.0, "projection_iterations": 0, "estimate_gain": False, "batch_size": 16, "nepochs": 50, "mae_weight": 0.0,
        "nll_weight": 1.0, "realspace_mae_weight": 0.0, "realspace_weight": 0.0, "nphotons": 1e9,
        "n_groups": 512, "neighbor_count": 4, "positions.provided": True, "probe.trainable": False,
        "intensity_scale.trainable": True, "output_prefix": "training_outputs", "sequential_sampling": False,
        "backend": "tensorflow",
    }
    assert dict(flat) == expected


def test_non_default_training_config_full_mapping(tmp_path):
    model = ModelConfig(N=128, gridsize=2, n_filters_scale=1, model_type="supervised", amp_activation="swish",
                        object_big=False, probe_big=False, probe_mask=True, pad_object=False, probe_scale=2.0,
                        gaussian_smoothing_sigma=0.5, projection_iterations=10)
    t = TrainingConfig(model=model, train_data_file=tmp_path / "train.npz", test_data_file=tmp_path / "t.npz",
                       batch_size=4, nepochs=3, mae_weight=0.1, nll_weight=0.5, realspace_mae_weight=0.2,
                       realspace_weight=0.3, nphotons=1e6, n_groups=10, n_subsample=20, subsample_seed=7,
                       neighbor_count=6, positions_provided=False, probe_trainable=True,
                       intensity_scale_trainable=False, output_dir=tmp_path / "out", sequential_sampling=True,
                       backend="pytorch")
    flat = params.dataclass_to_legacy_dict(t)
    assert flat == {
        "N": 128, "gridsize": 2, "n_filters_scale": 1, "model_type": "supervised", "amp_activation": "swish",
        "object.big": False, "probe.big": False, "probe.mask": True, "pad_object": False, "probe_scale": 2.0,
        "gaussian_smoothing_sigma": 0.5, "projection_iterations": 10, "estimate_gain": False,
        "train_data_file_path": str(tmp_path / "train.npz"),
        "test_data_file_path": str(tmp_path / "t.npz"), "batch_size": 4, "nepochs": 3, "mae_weight": 0.1,
        "nll_weight": 0.5, "realspace_mae_weight": 0.2, "realspace_weight": 0.3, "nphotons": 1e6,
        "n_groups": 10, "n_subsample": 20, "subsample_seed": 7, "neighbor_count": 6,
        "positions.provided": False, "probe.trainable": True, "intensity_scale.trainable": False,
        "output_prefix": str(tmp_path / "out"), "sequential_sampling": True, "backend": "pytorch",
    }
    assert all(not isinstance(v, Path) for v in flat.values())
    # estimate_gain needs one patch per pattern at gridsize 2, so it is mapped with object_big on
    gain = replace(t, model=replace(model, object_big=True, estimate_gain=True))
    assert params.dataclass_to_legacy_dict(gain) == {**flat, "object.big": True, "estimate_gain": True}


def test_inference_config_mapping_and_none_values_are_not_written(tmp_path):
    params.set("n_groups", 99)
    i = InferenceConfig(model=ModelConfig(N=128), model_path=tmp_path, debug=True)
    params.update_legacy_dict(params.cfg, i)
    assert params.get("model_path") == str(tmp_path)
    assert params.get("N") == 128 and params.get("debug") is True
    assert params.get("output_prefix") == "inference_outputs"
    assert params.get("n_groups") == 99  # None never overwrites a synced value
    with pytest.raises(KeyError):
        params.get("test_data_file_path")


def test_dataclass_to_legacy_dict_rejects_non_configs():
    with pytest.raises(TypeError, match="expected a config dataclass, got dict"):
        params.dataclass_to_legacy_dict({"N": 64})


@pytest.mark.parametrize(("flag", "weights"), [((), (1.0, 0.0)), (("--loss", "nll"), (1.0, 0.0)),
                                               (("--loss", "mae"), (0.0, 1.0))])
def test_train_loss_flag_sets_the_data_fit_weights(flag, weights):
    """``ptycho train --loss``: the Poisson likelihood (default) or the amplitudes' MAE, as the two weights both
    engines read (TensorFlow's loss_terms, PyTorch's bridged training config)."""
    from ptycho.cli.main import build_parser
    from ptycho.cli.train import training_config

    args = build_parser().parse_args(["train", "--train-data", "scan.npz", *flag])
    config = training_config(args, 64)
    assert (config.nll_weight, config.mae_weight) == weights
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--train-data", "scan.npz", "--loss", "l2"])


@pytest.mark.parametrize(("flag", "init", "expected"), [
    ((), None, 0),
    (("--projection-iterations", "10"), None, 10),
    ((), "disk64-g1-p10", 10),  # fine-tuning keeps the --init model's network
    ((), "disk64-g1", 0),
    (("--projection-iterations", "0"), "disk64-g1-p10", 0),
])
def test_train_projection_iterations_flag_sets_the_model_config(flag, init, expected):
    """``ptycho train --projection-iterations K``: as given, else the ``--init`` model's, else 0."""
    from ptycho import pretrained
    from ptycho.cli.main import build_parser
    from ptycho.cli.train import training_config

    args = build_parser().parse_args(["train", "--train-data", "scan.npz", *flag])
    archive = None if init is None else pretrained.resolve(init, "--init")
    assert training_config(args, 64, archive).model.projection_iterations == expected
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--train-data", "scan.npz", "--projection-iterations", "-1"])


@pytest.mark.parametrize(("flag", "init", "expected"), [
    (("--projection-iterations", "10"), None, False),
    (("--projection-iterations", "10", "--estimate-gain"), None, True),
    ((), "disk64-g1-p10", False),  # a model from before the flag: its provenance predates the field
    (("--estimate-gain",), "disk64-g1-p10", True),  # the --init model's projections, a gain on top
])
def test_train_estimate_gain_flag_sets_the_model_config(flag, init, expected):
    """``ptycho train --estimate-gain``: as given, else the ``--init`` model's, else off."""
    from ptycho import pretrained
    from ptycho.cli.main import build_parser
    from ptycho.cli.train import training_config

    args = build_parser().parse_args(["train", "--train-data", "scan.npz", *flag])
    archive = None if init is None else pretrained.resolve(init, "--init")
    assert training_config(args, 64, archive).model.estimate_gain is expected


def test_train_estimate_gain_without_projections_names_the_missing_flag():
    from ptycho.cli.main import build_parser
    from ptycho.cli.train import training_config

    args = build_parser().parse_args(["train", "--train-data", "scan.npz", "--estimate-gain"])
    with pytest.raises(ConfigError, match="set projection_iterations >= 1"):
        training_config(args, 64)
