"""Data-consistency metrics, the Velociprobe conversion, and the product file."""

from pathlib import Path

import numpy as np
import pytest

from ptycho.consistency import data_consistency
from ptycho.data_contract import read_npz
from ptycho.product import read_product, write_product

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "velociprobe_siemens_star.npz.bz2"


def test_truth_is_more_consistent_than_a_wrong_object(small_npz):
    ds = read_npz(small_npz)
    positions = np.stack([ds.xcoords, ds.ycoords], axis=1)
    truth = data_consistency(ds.objectGuess, ds.probeGuess, positions, ds.diffraction)
    wrong = data_consistency(np.ones_like(ds.objectGuess), ds.probeGuess, positions, ds.diffraction)
    assert truth["r_factor"] < 0.01 < wrong["r_factor"]
    assert truth["poisson_nll_per_pixel"] < wrong["poisson_nll_per_pixel"]


def test_product_file_round_trip(tmp_path):
    positions = np.array([[40.0, 50.0], [60.0, 70.0]])
    obj = np.exp(1j * np.ones((100, 120)))
    path = write_product(tmp_path / "product.h5", name="x", probe=np.ones((64, 64)), obj=obj, positions=positions,
                         losses=[3.0, 2.0], photon_count=1e6)
    product = read_product(path)
    assert product["object"].shape == (1, 100, 120) and product["probe"].shape == (1, 64, 64)
    np.testing.assert_allclose(product["probe_position_x_m"], positions[:, 0] - 59.5)
    np.testing.assert_allclose(product["probe_position_y_m"], positions[:, 1] - 49.5)
    assert list(product["loss_values"]) == [3.0, 2.0] and product["attrs"]["length_unit"] == "pixel"
    assert product["object_attrs"]["pixel_width_m"] == 1.0


@pytest.mark.skipif(not SHARED.exists(), reason=f"shared data not found at {SHARED}")
def test_velociprobe_conversion_centres_patterns_and_positions(tmp_path):
    from ptycho.velociprobe import convert

    ds = read_npz(convert(SHARED, tmp_path / "velo.npz"))
    assert len(ds) == 516 and ds.N == 128 and ds.probeGuess.shape == (128, 128)
    mean = np.mean(ds.diffraction.astype(np.float64) ** 2, axis=0)
    centre_share = mean[32:96, 32:96].sum() / mean.sum()
    assert centre_share > 0.9  # the bright low frequencies sit in the centre, not at the corners (FFT order)
    assert ds.xcoords.min() >= 64 and ds.ycoords.min() >= 64
    assert 4e5 < np.mean(np.sum(ds.diffraction.astype(np.float64) ** 2, axis=(1, 2))) < 5e5
