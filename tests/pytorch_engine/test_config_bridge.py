"""The PyTorch engine's configs map onto the canonical ones, field by field, with every error."""

import pytest

from ptycho import params
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.errors import ConfigError
from ptycho_torch import config_bridge as bridge  # our own module: a failed import must fail, not skip
from ptycho_torch.config_params import DataConfig, InferenceConfig
from ptycho_torch.config_params import ModelConfig as TorchModel
from ptycho_torch.config_params import TrainingConfig as TorchTraining


def test_model_mapping():
    m = bridge.to_model_config(DataConfig(N=128, grid_size=(2, 2), probe_scale=3.0),
                               TorchModel(mode="Supervised", amp_activation="SiLU", n_filters_scale=1, object_big=False,
                                          probe_big=False, pad_object=False, probe_mask=True,
                                          gaussian_smoothing_sigma=0.7))
    assert m == ModelConfig(N=128, gridsize=2, n_filters_scale=1, model_type="supervised", amp_activation="swish",
                            object_big=False, probe_big=False, probe_mask=True, pad_object=False, probe_scale=3.0,
                            gaussian_smoothing_sigma=0.7)
    assert bridge.to_model_config(DataConfig(), TorchModel(mode="Unsupervised", amp_activation="silu")).model_type == "pinn"


def test_training_mapping_and_legacy_dict_matches_canonical(tmp_path):
    data = DataConfig(N=64, grid_size=(2, 2), K=6, nphotons=1e7, n_subsample=50, subsample_seed=3)
    model = bridge.to_model_config(data, TorchModel())
    t = bridge.to_training_config(model, data, TorchModel(probe_trainable=True), TorchTraining(epochs=7, batch_size=4, nll=False, mae_weight=0.5),
                                  {"train_data_file": tmp_path / "a.npz", "n_groups": 33, "output_dir": tmp_path})
    expected = TrainingConfig(model=ModelConfig(N=64, gridsize=2), train_data_file=tmp_path / "a.npz", batch_size=4,
                              nepochs=7, nll_weight=0.0, mae_weight=0.5, nphotons=1e7, n_groups=33, n_subsample=50,
                              subsample_seed=3, neighbor_count=6, probe_trainable=True, output_dir=tmp_path,
                              backend="pytorch")
    assert t == expected
    assert params.dataclass_to_legacy_dict(t) == params.dataclass_to_legacy_dict(expected)


def test_inference_mapping(tmp_path):
    model = bridge.to_model_config(DataConfig(), TorchModel())
    i = bridge.to_inference_config(model, DataConfig(K=5), InferenceConfig(debug=True),
                                   {"model_path": tmp_path, "test_data_file": tmp_path / "t.npz", "n_groups": 9})
    assert (i.model_path, i.n_groups, i.neighbor_count, i.debug, i.backend) == (tmp_path, 9, 5, True, "pytorch")


@pytest.mark.parametrize("call, message", [
    (lambda: bridge.to_model_config(DataConfig(grid_size=(1, 2)), TorchModel()), r"grid_size=\(1, 2\) is not square"),
    (lambda: bridge.to_model_config(DataConfig(), TorchModel(mode="Semi")), r"mode='Semi' is not allowed"),
    (lambda: bridge.to_model_config(DataConfig(), TorchModel(amp_activation="gelu")), r"amp_activation='gelu'"),
    (lambda: bridge.to_training_config(ModelConfig(), DataConfig(nphotons=1e6), TorchModel(), TorchTraining(), {}),
     r"to_training_config needs train_data_file, n_groups in overrides"),
    (lambda: bridge.to_training_config(ModelConfig(), DataConfig(nphotons=1e6), TorchModel(), TorchTraining(),
                                       {"train_data_file": "x.npz"}), r"needs n_groups in overrides"),
    (lambda: bridge.to_inference_config(ModelConfig(), DataConfig(), InferenceConfig(), {"model_path": "m"}),
     r"to_inference_config needs test_data_file"),
])
def test_bridge_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_divergent_default_is_loud_not_silent():
    with pytest.raises(ConfigError, match=r"DataConfig.nphotons is at the engine default 100000, which differs from "
                                          r"the canonical default 1e\+09"):
        bridge.to_training_config(ModelConfig(), DataConfig(), TorchModel(), TorchTraining(),
                                  {"train_data_file": "a.npz", "n_groups": 4})
    t = bridge.to_training_config(ModelConfig(), DataConfig(), TorchModel(), TorchTraining(),
                                  {"train_data_file": "a.npz", "n_groups": 4, "nphotons": 1e9})
    assert t.nphotons == 1e9
