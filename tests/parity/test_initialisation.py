"""Both engines start from the same weights for the same seed (one initialiser, ``ptycho.architecture``)."""

import numpy as np
import pytest

from ptycho.architecture import AMPLITUDE_WORKING_POINT, Architecture, amplitude_bias, initial_conv_weights
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
    assert all(not np.any(v) for k, v in weights.items() if k.endswith("/bias"))  # sigmoid: amplitude bias 0 too


ACTIVATIONS = {  # NumPy twins of the engines' amplitude activations
    "sigmoid": lambda b: 1 / (1 + np.exp(-b)),
    "swish": lambda b: b / (1 + np.exp(-b)),
    "softplus": lambda b: np.log1p(np.exp(b)),
    "relu": lambda b: np.maximum(b, 0.0),
}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_the_amplitude_head_starts_at_the_working_point_in_both_engines(activation):
    """With zero input every ReLU layer outputs its (zero) bias, so the decoded amplitude is exactly the
    activation of the amplitude head's initial bias: the working point the probe normalisation assumes,
    whatever the activation (swish and relu used to start at 0, a dark object, and barely learned)."""
    from ptycho.engines import get_engine

    assert ACTIVATIONS[activation](amplitude_bias(activation)) == pytest.approx(AMPLITUDE_WORKING_POINT, rel=1e-12)
    config = ModelConfig(N=64, gridsize=1, n_filters_scale=1, amp_activation=activation)
    weights = initial_conv_weights(Architecture.from_model_config(config), 0)
    assert np.all(weights["decoder_amp/centre/bias"] == np.float32(amplitude_bias(activation)))
    assert not weights["decoder_phase/centre/bias"].any()
    x, offsets = np.zeros((1, 64, 64, 1), np.float32), np.zeros((1, 1, 2, 1), np.float32)
    for backend in ("tensorflow", "pytorch"):
        engine = get_engine(backend)
        model = engine.create_model(config, np.ones((64, 64), np.complex64), 10.0)
        centre = engine.predictor(model).predict([x, offsets])[0, 16:48, 16:48, 0]
        np.testing.assert_allclose(np.abs(centre), AMPLITUDE_WORKING_POINT, rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(np.angle(centre), 0.0, atol=1e-6, err_msg=backend)


@pytest.mark.parametrize("backend", ["tensorflow", "pytorch"])
def test_an_untrained_gain_network_returns_the_projections_estimate_and_learns_from_there(backend):
    """``estimate_gain``: the heads' last kernels start at zero, so the decoded patch is exactly a gain of 1 on
    each pattern's projection estimate (against the float64 reference, within the projections' rounding
    model), and the loss still reaches those kernels, so training moves off the estimate."""
    from ptycho.config.config import TrainingConfig
    from ptycho.parity.engines import engine
    from ptycho.parity.error_model import projection_terms, tolerance
    from ptycho.parity.model_checks import batch
    from ptycho.parity.physics_checks import probe_modes
    from ptycho.physics.forward import intensity_scale
    from ptycho.physics.projection import probe_projections

    config = ModelConfig(N=64, gridsize=1, n_filters_scale=1, projection_iterations=5, estimate_gain=True)
    eng, scale = engine(backend), intensity_scale(1e9, 64)
    model = eng.build(config, probe_modes(64, 1), scale, seed=2, probe_trainable=False)
    x, offsets = batch(config, "gain")
    decoded = eng.forward(model, x, offsets, TrainingConfig(model=config))["object"]
    amplitude = np.moveaxis(x.astype(np.float64) / eng.intensity_scale(model), -1, 1)
    expected = np.moveaxis(probe_projections(amplitude, probe_modes(64, 1), 5, AMPLITUDE_WORKING_POINT), 1, -1)
    error = np.max(np.abs(decoded - expected)) / np.max(np.abs(expected))
    assert error < tolerance(projection_terms(64, 5)), error
    grads = eng.gradients(model, x, offsets, TrainingConfig(model=config))
    assert np.max(np.abs(grads["decoder_amp/centre/kernel"])) > 0
    assert np.max(np.abs(grads["decoder_phase/centre/kernel"])) > 0
