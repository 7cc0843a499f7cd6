"""Known-answer tests of every physics convention (docs/design.md §2) and the adjoint of every operator."""

import numpy as np
import pytest

from ptycho.physics import (
    Illumination,
    PatchExtraction,
    Propagation,
    Translation,
    canvas_for,
    centred_canvas,
    diffraction_amplitude,
    enforce_overlap,
    intensity_scale,
    mean_photons,
    normalisation_factor,
    poisson_nll,
    stitch,
)
from ptycho.physics.sampling import sample_windows

RNG = np.random.default_rng(1234)


def crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def asymmetric_object(size=96):
    """An 'F'-like object: a mirror or transpose of it is obviously different."""
    obj = np.full((size, size), 0.5 + 0j)
    obj[20:76, 30:38] = 1.0
    obj[20:28, 30:70] = 1.0
    obj[44:52, 30:60] = 1.0
    y, x = np.mgrid[:size, :size]
    return obj * np.exp(1j * 0.01 * (x - 2 * y))


OPERATORS = {
    "propagation": lambda: (Propagation(), crandn(3, 16, 16), crandn(3, 16, 16)),
    "illumination": lambda: (Illumination(crandn(2, 16, 16)), crandn(3, 16, 16), crandn(3, 2, 16, 16)),
    "translation": lambda: (Translation(RNG.uniform(-5, 5, (3, 2))), crandn(3, 20, 24), crandn(3, 20, 24)),
    "patch_extraction": lambda: (PatchExtraction(RNG.uniform(10, 40, (5, 2)), 16, (50, 52)), crandn(50, 52),
                                 crandn(5, 16, 16)),
}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_adjoint_dot_product(name):
    """<fwd(x), y> == <x, adj(y)> for every linear operator."""
    op, x, y = OPERATORS[name]()
    lhs = np.vdot(op.fwd(x), y)
    rhs = np.vdot(x, op.adj(y))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_propagation_is_unitary_parseval():
    wave = crandn(4, 32, 32)
    far = Propagation().fwd(wave)
    np.testing.assert_allclose(np.sum(np.abs(far) ** 2, axis=(1, 2)), np.sum(np.abs(wave) ** 2, axis=(1, 2)))


def test_diffraction_is_centred_at_n_over_2():
    """A flat exit wave sends all power to the zero frequency, which sits at pixel (N/2, N/2)."""
    N = 16
    amp = diffraction_amplitude(np.ones((N, N)), np.ones((1, N, N)))[0]
    assert np.unravel_index(np.argmax(amp), amp.shape) == (N // 2, N // 2)
    assert amp[N // 2, N // 2] == pytest.approx(N)  # sqrt(|N²|² / N²)
    assert np.sum(amp**2) == pytest.approx(N * N)


def test_diffraction_amplitude_formula_and_polar_object():
    N = 16
    probe, amp, phase = crandn(N, N), RNG.uniform(0.5, 1, (2, N, N)), RNG.uniform(-3, 3, (2, N, N))
    obj = amp * np.exp(1j * phase)
    expected = np.sqrt(np.abs(np.fft.fftshift(np.fft.fft2(probe * obj), axes=(-2, -1))) ** 2 / (N * N))
    np.testing.assert_allclose(diffraction_amplitude(probe, obj), expected, rtol=1e-12)


def test_probe_modes_add_as_intensities():
    N = 16
    modes, obj = crandn(2, N, N), crandn(3, N, N)
    both = diffraction_amplitude(modes, obj) ** 2
    separate = diffraction_amplitude(modes[0], obj) ** 2 + diffraction_amplitude(modes[1], obj) ** 2
    np.testing.assert_allclose(both, separate, rtol=1e-12)


def test_poisson_nll_known_value_and_floor():
    lam, counts = np.array([2.0, 0.5]), np.array([3.0, 0.0])
    assert poisson_nll(lam, counts) == pytest.approx(np.mean([2 - 3 * np.log(2), 0.5]))
    assert poisson_nll(np.array([0.0]), np.array([1.0])) == pytest.approx(1e-12 - np.log(1e-12))


def test_intensity_scale_and_normalisation():
    N = 64
    assert intensity_scale(1e6, N) == pytest.approx(1000 / 32)
    amps = RNG.uniform(0, 5, (10, N, N))
    normed = amps * normalisation_factor(amps)
    assert np.mean(np.sum(normed**2, axis=(1, 2))) == pytest.approx((N / 2) ** 2)
    # normalised amplitudes times the scale of their measured photon count give back sqrt counts
    np.testing.assert_allclose(normed * intensity_scale(mean_photons(amps), N), amps, rtol=1e-12)
    with pytest.raises(ValueError, match="mean pattern power is zero"):
        normalisation_factor(np.zeros((2, N, N)))


def test_translation_by_known_offsets():
    image = np.zeros((1, 16, 16))
    image[0, 5, 7] = 1.0
    moved = Translation(np.array([[3.0, -2.0]])).fwd(image)[0]  # dx=+3, dy=-2
    assert moved[3, 10] == pytest.approx(1.0) and moved.sum() == pytest.approx(1.0)
    half = Translation(np.array([[0.5, 0.0]])).fwd(image)[0]
    assert half[5, 7] == pytest.approx(0.5) and half[5, 8] == pytest.approx(0.5)
    ramp = np.tile(np.arange(16.0), (1, 16, 1))
    shifted = Translation(np.array([[0.25, 0.0]])).fwd(ramp)[0]
    np.testing.assert_allclose(shifted[:, 1:], ramp[0, :, 1:] - 0.25)  # linear data interpolate exactly


def test_patch_extraction_position_is_window_centre():
    obj = np.arange(40 * 40, dtype=float).reshape(40, 40)
    patch = PatchExtraction(np.array([[20.0, 10.0]]), 8, obj.shape).fwd(obj)[0]  # x=20, y=10
    np.testing.assert_array_equal(patch, obj[6:14, 16:24])


def test_sample_windows_zero_outside():
    out = sample_windows(np.ones((4, 4)), np.array([-2.0]), np.array([-2.0]), (4, 4))[0]
    assert out[:2].sum() == 0 and out[:, :2].sum() == 0 and out[2:, 2:].sum() == 4


def test_stitching_constant_patches_gives_the_constant():
    positions = RNG.uniform(30, 70, (40, 2))
    patches = np.full((40, 32, 32), 2.5 - 1j)
    canvas = stitch(patches, positions, M=20, canvas_shape=(100, 100))
    covered = np.abs(canvas) > 0
    np.testing.assert_allclose(canvas[covered], 2.5 - 1j, rtol=1e-12)
    assert covered[40:60, 40:60].all() and not covered[:5].any()  # border normalised, outside stays zero


def test_stitching_chunks_give_the_same_answer():
    positions = RNG.uniform(20, 60, (50, 2))
    patches = crandn(50, 16, 16)
    whole = stitch(patches, positions, M=10, canvas_shape=(80, 80), chunk=1000)
    chunked = stitch(patches, positions, M=10, canvas_shape=(80, 80), chunk=7)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)


def test_stitch_default_canvas_holds_every_window():
    positions = np.array([[10.0, 50.0], [90.0, 20.0]])
    shape, origin = canvas_for(positions, 20)
    assert origin[0] <= 0 and origin[1] <= 10
    assert origin[0] + shape[1] >= 100 and origin[1] + shape[0] >= 60


@pytest.mark.parametrize("positions", [np.array([[10.0, 50.0], [90.0, 20.0]]), np.array([[10.3, 50.2], [90.0, 20.7]]),
                                       RNG.uniform(30, 160, (100, 2))])
def test_centred_canvas_is_centred_on_the_scan_and_holds_every_window(positions):
    shape, origin = centred_canvas(positions, 20)
    centre = origin + (np.array(shape[::-1]) - 1) / 2  # (x, y) of the canvas's centre pixel
    np.testing.assert_allclose(centre, (positions.min(axis=0) + positions.max(axis=0)) / 2, atol=1e-12)
    assert np.all(origin <= positions.min(axis=0) - 10) and np.all(origin + shape[::-1] >= positions.max(axis=0) + 10)
    assert np.all(np.abs(origin - np.round(origin)) <= 0.25 + 1e-12)  # parity keeps the origin near whole pixels


def test_reassemble_position_puts_the_object_in_the_scan_centred_frame_unmirrored():
    """ptychodus places the stitched object with its input object's centre, which it puts on the scan's centre:
    pixel [r, c] of the result must be the object at (c, r) + origin, origin = scan centre − canvas half-size."""
    from ptycho.tf_helper import reassemble_position

    obj = asymmetric_object()
    ys, xs = np.mgrid[26:61:3, 30:71:3]  # a scan off the object's centre, wider than tall
    positions = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    patches = PatchExtraction(positions, 32, obj.shape).fwd(obj)
    out = reassemble_position(patches[..., None], positions[:, None, :, None], M=20)
    assert out.ndim == 3 and out.shape[-1] == 1
    out = out[..., 0]
    shape, origin = centred_canvas(positions, 20)
    assert out.shape == shape and np.allclose(origin, np.round(origin))
    x0, y0 = np.round(origin).astype(int)
    inner = (slice(30, 58), slice(34, 68))  # object pixels well inside the scan
    recon = out[inner[0].start - y0 : inner[0].stop - y0, inner[1].start - x0 : inner[1].stop - x0]
    aligned = recon * np.exp(-1j * np.angle(np.vdot(obj[inner], recon)))  # stitching frees the global phase
    np.testing.assert_allclose(aligned, obj[inner], atol=1e-9)


def test_extract_then_stitch_is_unmirrored_gridsize_1():
    obj = asymmetric_object()
    ys, xs = np.mgrid[30:67:3, 30:67:3]
    positions = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    patches = PatchExtraction(positions, 32, obj.shape).fwd(obj)
    canvas = stitch(patches, positions, M=20, canvas_shape=obj.shape)
    inner = (slice(32, 64), slice(32, 64))
    np.testing.assert_allclose(canvas[inner], obj[inner], atol=1e-12)


def test_extract_then_stitch_sub_pixel_smooth_object():
    size = 96
    y, x = np.mgrid[:size, :size]
    obj = np.exp(1j * np.sin(x / 9.0) * np.cos(y / 13.0))
    positions = RNG.uniform(30, 66, (200, 2))
    patches = PatchExtraction(positions, 32, obj.shape).fwd(obj)
    canvas = stitch(patches, positions, M=20, canvas_shape=obj.shape)
    inner = (slice(36, 60), slice(36, 60))
    np.testing.assert_allclose(canvas[inner], obj[inner], atol=5e-3)


def test_group_overlap_keeps_consistent_patches_and_sign():
    """Patches cut from one object at their offsets are a fixed point of merge→split; the wrong sign is not."""
    obj = asymmetric_object()
    N = 32
    centre = np.array([48.0, 50.0])
    rel = np.array([[-4.0, -3.0], [5.0, -4.0], [-3.0, 6.0], [4.0, 5.0]])  # (C, 2) as (dx, dy), integer
    patches = PatchExtraction(centre + rel, N, obj.shape).fwd(obj)  # (C, N, N)
    group = np.moveaxis(patches, 0, -1)[None]  # (1, N, N, C)
    offsets = rel.T[None]  # (1, 2, C)
    np.testing.assert_allclose(enforce_overlap(group, offsets), group, atol=1e-12)
    mirrored = enforce_overlap(group, -offsets)
    assert np.max(np.abs(mirrored - group)) > 0.1
