"""The per-pattern probe-constrained projections a network with ``projection_iterations`` sees
(:mod:`ptycho.physics.projection`, the float64 reference both engines are checked against in the parity
suite)."""

import numpy as np

from ptycho.parity.physics_checks import smooth_object_patches
from ptycho.physics import diffraction_amplitude
from ptycho.physics.projection import probe_projections
from ptycho.simulation import make_probe

N = 64
PROBE = make_probe("disk", N)


def misfit(estimate, measured):
    """Relative far-field amplitude misfit of ``(B, C, N, N)`` estimates."""
    predicted = diffraction_amplitude(PROBE, estimate.reshape(-1, N, N)).reshape(measured.shape)
    return float(np.linalg.norm(predicted - measured) / np.linalg.norm(measured))


def test_no_projection_is_the_flat_start():
    measured = np.ones((2, 1, N, N))
    assert np.array_equal(probe_projections(measured, PROBE, 0, 0.5), np.full((2, 1, N, N), 0.5 + 0j))


def test_the_flat_object_that_made_the_data_is_a_fixed_point():
    measured = diffraction_amplitude(PROBE, np.full((1, N, N), 0.5 + 0j))[:, None]
    assert np.max(np.abs(probe_projections(measured, PROBE, 5, 0.5) - 0.5)) < 1e-12


def test_projections_fit_the_measured_amplitudes_and_approach_the_object():
    truth = smooth_object_patches(np.random.default_rng(3), (4, N, N))[:, None]
    measured = diffraction_amplitude(PROBE, truth[:, 0])[:, None]
    inside = np.abs(PROBE) > 0.5 * np.abs(PROBE).max()  # where the probe lights the object
    misfits, errors = [], []
    for k in (0, 1, 10):
        estimate = probe_projections(measured, PROBE, k, 0.5)
        misfits.append(misfit(estimate, measured))
        errors.append(np.linalg.norm((estimate - truth)[..., inside]) / np.linalg.norm(truth[..., inside]))
    assert misfits[0] > 2 * misfits[1] > 4 * misfits[2], misfits
    assert errors[2] < 0.5 * errors[0], errors


def test_each_channel_is_inverted_on_its_own():
    rng = np.random.default_rng(4)
    measured = diffraction_amplitude(PROBE, smooth_object_patches(rng, (6, N, N))).reshape(3, 2, N, N)
    together = probe_projections(measured, PROBE, 3, 0.5)
    apart = [probe_projections(measured[:, [c]], PROBE, 3, 0.5) for c in range(2)]
    assert np.allclose(together, np.concatenate(apart, axis=1), rtol=0, atol=1e-12)
