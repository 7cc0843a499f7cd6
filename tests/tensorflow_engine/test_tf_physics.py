"""The TensorFlow engine computes the reference physics (float32, max relative error ≤ 1e-5)."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from ptycho.config.config import ModelConfig  # noqa: E402
from ptycho.physics import Translation, poisson_nll  # noqa: E402
from ptycho.physics.pipeline import predicted_amplitude  # noqa: E402
from ptycho.probe import normalize_probe  # noqa: E402
from ptycho.simulation import make_probe  # noqa: E402
from ptycho.tf import physics as tfp  # noqa: E402
from ptycho.tf.model import create_model  # noqa: E402

RTOL = 1e-5
RNG = np.random.default_rng(7)


def max_relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def test_translate_matches_reference():
    images = (RNG.standard_normal((6, 40, 40)) + 1j * RNG.standard_normal((6, 40, 40))).astype(np.complex64)
    offsets = RNG.uniform(-7, 7, (6, 2)).astype(np.float32)
    expected = Translation(offsets.astype(np.float64)).fwd(images.astype(np.complex128))
    actual = tfp.translate(tf.constant(images), tf.constant(offsets)).numpy()
    assert max_relative_error(actual, expected) <= RTOL


def test_poisson_nll_matches_reference():
    lam = RNG.uniform(0, 50, (4, 64, 64)).astype(np.float32)
    counts = RNG.poisson(20, (4, 64, 64)).astype(np.float32)
    lam[0, 0, 0] = 0.0  # the floor
    assert float(tfp.poisson_nll(lam, counts)) == pytest.approx(poisson_nll(lam, counts), rel=RTOL)


@pytest.mark.parametrize("N, gridsize, object_big, modes, probe_mask, sigma", [
    (64, 1, True, 1, False, 0.0), (64, 2, True, 1, False, 0.0), (64, 2, False, 1, False, 0.0),
    (64, 2, True, 2, True, 1.5), (128, 2, True, 1, False, 0.0), (128, 1, True, 2, False, 0.0),
])
def test_forward_path_matches_reference(N, gridsize, object_big, modes, probe_mask, sigma):
    """Complex patches in -> diffraction amplitude out, through the model's own physics stage."""
    probe = normalize_probe(np.stack([make_probe("disk", N)] * modes) * (1 + 0.3j * np.arange(modes))[:, None, None], N)
    model = create_model(ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1, object_big=object_big,
                                     probe_mask=probe_mask, gaussian_smoothing_sigma=sigma), probe, 10.0)
    C = gridsize**2
    Cout = C if object_big else 1
    decoded = (RNG.uniform(0.2, 1, (3, N, N, Cout)) * np.exp(1j * RNG.uniform(-3, 3, (3, N, N, Cout))))
    offsets = RNG.uniform(-6, 6, (3, 1, 2, C)) * (C > 1)
    _, intensity = model.physics(tf.constant(decoded.astype(np.complex64)), tf.constant(offsets.astype(np.float32)))
    actual = np.sqrt(np.transpose(intensity.numpy(), (0, 2, 3, 1)))
    expected = predicted_amplitude(decoded, offsets, probe.astype(np.complex128), channels=C,
                                   object_big=object_big, probe_mask=probe_mask, smoothing_sigma=sigma)
    assert max_relative_error(actual, expected) <= RTOL
