"""Simulation is seeded and contract-valid; metrics know their answers."""

import numpy as np
import pytest

from ptycho import metrics
from ptycho.data_contract import read_npz, write_npz
from ptycho.simulation import SimulationSpec, make_object, make_probe, make_scan, simulate_dataset


@pytest.mark.parametrize("kind", ["lines", "grf", "star", "sharp"])
def test_objects_are_polar_within_ranges(kind):
    obj = make_object(kind, 128, seed=1)
    assert obj.shape == (128, 128) and np.iscomplexobj(obj)
    assert 0.4 - 1e-9 <= np.abs(obj).min() and np.abs(obj).max() <= 1 + 1e-9
    assert np.abs(np.angle(obj)).max() <= 1 + 1e-9


def test_image_object(tmp_path):
    import matplotlib.pyplot as plt

    image = tmp_path / "img.png"
    plt.imsave(image, np.outer(np.arange(40), np.ones(50)), cmap="gray")
    obj = make_object("image", 64, image_path=image)
    assert obj.shape == (64, 64) and np.abs(obj[0, 0]) < np.abs(obj[-1, 0])


def test_unknown_kinds_are_named():
    with pytest.raises(ValueError, match="unknown object kind 'cat'; choose one of lines, grf, star, image"):
        make_object("cat", 64)
    with pytest.raises(ValueError, match="unknown probe kind 'laser'"):
        make_probe("laser", 64)
    with pytest.raises(ValueError, match="unknown scan kind 'zigzag'"):
        make_scan("zigzag", 128, 64)
    with pytest.raises(ValueError, match="object of 64 px is too small for 64×64 windows"):
        make_scan("grid", 64, 64)


@pytest.mark.parametrize("kind", ["grid", "jitter", "spiral", "random"])
def test_scans_keep_windows_inside(kind):
    positions = make_scan(kind, 200, 64, seed=3)
    assert len(positions) > 10
    assert positions.min() >= 32 and positions.max() <= 200 - 33


def test_simulation_is_reproducible_and_contract_valid(tmp_path):
    spec = SimulationSpec(N=64, object_size=160, nphotons=1e6, seed=11)
    _, a = simulate_dataset(spec)
    _, b = simulate_dataset(spec)
    np.testing.assert_array_equal(a["diffraction"], b["diffraction"])
    ds = read_npz(write_npz(tmp_path / "s.npz", a))
    assert np.mean(np.sum(ds.diffraction.astype(float) ** 2, axis=(1, 2))) == pytest.approx(1e6, rel=0.01)
    _, other = simulate_dataset(SimulationSpec(N=64, object_size=160, nphotons=1e6, seed=12))
    assert not np.array_equal(other["diffraction"], a["diffraction"])


def test_simulated_counts_are_integers(tmp_path):
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=128, nphotons=1e5, counts=True))
    assert arrays["diffraction"].dtype == np.int32
    ds = read_npz(write_npz(tmp_path / "c.npz", arrays))
    np.testing.assert_allclose(ds.diffraction ** 2, arrays["diffraction"], rtol=1e-5)


def test_psnr_ssim_mae_known_answers():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (64, 64))
    assert metrics.ssim(a, a, 1.0) == pytest.approx(1.0)
    assert metrics.psnr(a, a, 1.0) == float("inf")
    assert metrics.psnr(a + 0.1, a, 1.0) == pytest.approx(20.0)
    assert metrics.mae(a + 0.1, a) == pytest.approx(0.1)
    assert metrics.ssim(rng.uniform(0, 1, (64, 64)), a, 1.0) < 0.1


def test_frc_identical_and_noise():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((64, 64))
    _, curve, _, resolution = metrics.frc(a, a)
    assert np.allclose(curve, 1) and resolution == 0.5
    *_, noisy = metrics.frc(a, rng.standard_normal((64, 64)))
    assert noisy < 0.1


def test_registration_finds_a_sub_pixel_shift():
    obj = make_object("grf", 96, seed=2)
    moved = metrics.fourier_shift(obj, (2.3, -1.6))
    shift = metrics.register_offset(np.abs(moved), np.abs(obj))
    np.testing.assert_allclose(shift, [-2.3, 1.6], atol=0.11)


def test_compare_ignores_scale_global_phase_and_ramp():
    truth = make_object("grf", 96, seed=4)
    y, x = np.mgrid[:96, :96]
    recon = 3.0 * truth * np.exp(1j * (0.7 + 0.01 * x - 0.02 * y))
    result = metrics.compare(recon, truth)
    assert result["amplitude"]["ssim"] > 0.999 and result["phase"]["ssim"] > 0.99
    bad = metrics.compare(make_object("grf", 96, seed=5), truth)
    assert bad["amplitude"]["ssim"] < 0.5 and bad["phase"]["ssim"] < 0.5


def test_asking_for_more_positions_than_the_scan_holds_is_an_error_not_fewer_patterns():
    from ptycho.errors import ConfigError

    # a 224-px object with the default step (N/4) holds 100 grid positions; 500 used to give 100 silently
    with pytest.raises(ConfigError, match=r"n_positions=500 .* holds only 100 positions"):
        simulate_dataset(SimulationSpec(N=64, object_kind="grf", object_size=224, n_positions=500))
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_kind="grf", object_size=224, n_positions=100))
    assert len(arrays["xcoords"]) == 100
