"""Both engines start from the same weights for the same seed (one initialiser, ``ptycho.architecture``)."""

import numpy as np
import pytest

from ptycho.architecture import Architecture, initial_conv_weights
from ptycho.config.config import ModelConfig

pytestmark = [pytest.mark.per_pr, pytest.mark.tf, pytest.mark.torch]


def _fresh(module_name, config, seed):
    import importlib

    module = importlib.import_module(module_name)
    probe = np.ones((config.N, config.N), np.complex64)
    return module.create_model(config, probe, 10.0, seed=seed).export_weights()


def test_fresh_models_of_both_engines_share_their_initial_weights():
    config = ModelConfig(N=64, gridsize=2, n_filters_scale=1)
    tf_weights = _fresh("ptycho.tf.model", config, seed=3)
    torch_weights = _fresh("ptycho_torch.model", config, seed=3)
    expected = initial_conv_weights(Architecture.from_model_config(config), 3)
    for name, value in expected.items():
        assert np.array_equal(tf_weights[name], value), name
        assert np.array_equal(torch_weights[name], value), name
    other = _fresh("ptycho_torch.model", config, seed=4)
    assert not np.array_equal(other["encoder/block0/conv0/kernel"], expected["encoder/block0/conv0/kernel"])


def test_initial_kernels_are_glorot_uniform_with_zero_biases():
    arch = Architecture.from_model_config(ModelConfig(N=64, gridsize=1, n_filters_scale=1))
    weights = initial_conv_weights(arch, 0)
    kernel = weights["encoder/block1/conv0/kernel"]  # 3×3, 32 -> 64
    limit = np.sqrt(6 / (9 * (32 + 64)))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.05 * limit
    assert all(not np.any(v) for k, v in weights.items() if k.endswith("/bias"))
