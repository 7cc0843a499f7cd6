"""RawData grouping (upstream dict), the offset sign convention, and the loader container."""

import numpy as np
import pytest

from ptycho import loader, params
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.errors import ConfigError, DataContractError
from ptycho.physics import stitch
from ptycho.raw_data import RawData


def test_grouped_dict_shapes_gridsize_2(small_npz):
    raw = RawData.from_file(small_npz)
    d = raw.generate_grouped_data(64, K=6, nsamples=10, seed=1, gridsize=2)
    assert d["diffraction"].shape == (10, 64, 64, 4) and d["X_full"].shape == (10, 64, 64, 4)
    assert d["Y"].shape == (10, 64, 64, 4) and np.iscomplexobj(d["Y"])
    assert d["coords_offsets"].shape == (10, 1, 2, 1)
    assert d["coords_relative"].shape == d["coords_nn"].shape == (10, 1, 2, 4)
    assert d["coords_start_relative"].shape == (10, 1, 2, 4)
    assert d["nn_indices"].shape == (10, 4)
    np.testing.assert_allclose(d["coords_relative"].mean(axis=-1), 0, atol=1e-9)
    np.testing.assert_allclose(d["coords_offsets"] + d["coords_relative"], d["coords_nn"])
    power = np.sum(d["X_full"] ** 2, axis=(1, 2)).mean()
    assert power == pytest.approx(32**2, rel=1e-4)


def test_channels_follow_grid_cells(small_npz):
    d = RawData.from_file(small_npz).generate_grouped_data(64, K=8, nsamples=20, seed=2, gridsize=2)
    rel = d["coords_relative"][:, 0]  # (n, 2, C)
    assert np.all(rel[:, 1, 0] <= rel[:, 1, 2]) and np.all(rel[:, 1, 1] <= rel[:, 1, 3])  # top row first
    assert np.all(rel[:, 0, 0] <= rel[:, 0, 1]) and np.all(rel[:, 0, 2] <= rel[:, 0, 3])  # left before right


def test_gridsize_none_reads_the_synced_legacy_dict(small_npz, fresh_params):
    raw = RawData.from_file(small_npz)
    with pytest.raises(KeyError, match="update_legacy_dict"):
        raw.generate_grouped_data(64, nsamples=3)
    params.update_legacy_dict(params.cfg, TrainingConfig(model=ModelConfig(gridsize=2)))
    assert raw.generate_grouped_data(64, nsamples=3, seed=0)["diffraction"].shape[-1] == 4


def test_sampling_is_seeded_and_sequential_takes_the_first(small_npz):
    raw = RawData.from_file(small_npz)
    a = raw.generate_grouped_data(64, nsamples=8, seed=5, gridsize=1)["nn_indices"]
    b = raw.generate_grouped_data(64, nsamples=8, seed=5, gridsize=1)["nn_indices"]
    np.testing.assert_array_equal(a, b)
    seq = raw.generate_grouped_data(64, nsamples=8, sequential_sampling=True, gridsize=1)["nn_indices"]
    np.testing.assert_array_equal(seq[:, 0], np.arange(8))
    everything = raw.generate_grouped_data(64, nsamples=10_000, seed=0, gridsize=1)
    assert len(everything["nn_indices"]) == len(raw)


def test_grouping_errors(small_npz):
    raw = RawData.from_file(small_npz)
    with pytest.raises(ConfigError, match=r"neighbor_count K=2 is too small for gridsize=2.*set K >= 3"):
        raw.generate_grouped_data(64, K=2, nsamples=3, gridsize=2)
    with pytest.raises(DataContractError, match=r"patterns are 64×64 but N=128 was requested"):
        raw.generate_grouped_data(128, nsamples=3, gridsize=1)


@pytest.mark.parametrize("gridsize", [1, 2])
def test_asymmetric_object_survives_group_then_stitch_unmirrored(small_npz, gridsize):
    """Ground-truth patches of each group, stitched at global + relative offsets, rebuild the object."""
    raw = RawData.from_file(small_npz)
    data = loader.load(lambda: raw.generate_grouped_data(64, K=6, nsamples=len(raw), seed=0,
                                                         gridsize=gridsize), raw.probeGuess)
    patches = np.moveaxis(data.Y, -1, 1).reshape(-1, 64, 64)
    canvas = stitch(patches, data.positions, M=32, canvas_shape=raw.objectGuess.shape)
    covered = np.abs(canvas) > 0
    truth = raw.objectGuess
    inner = (slice(70, 120), slice(70, 120))
    assert covered[inner].all()
    error = np.abs(canvas[inner] - truth[inner]).mean()
    mirrored = np.abs(canvas[inner] - truth[::-1, ::-1][inner]).mean()
    transposed = np.abs(canvas[inner] - truth.T[inner]).mean()
    assert error < 0.02 and mirrored > 10 * error and transposed > 10 * error


def test_loader_container(small_npz):
    raw = RawData.from_file(small_npz)
    data = loader.load(lambda: raw.generate_grouped_data(64, K=6, nsamples=12, seed=0, gridsize=2),
                       raw.probeGuess)
    assert data.X.dtype == np.float32 and data.X.shape == (12, 64, 64, 4)
    assert data.Y_I.shape == data.Y_phi.shape == (12, 64, 64, 4)
    assert data.local_offsets.shape == (12, 1, 2, 4) and data.global_offsets.shape == (12, 1, 2, 1)
    assert data.probe.dtype == np.complex64 and data.positions.shape == (48, 2)
    assert data.nphotons == pytest.approx(1e9, rel=0.05)  # a sample of the patterns


def test_loader_split(small_npz):
    raw = RawData.from_file(small_npz)
    cb = lambda: (raw.generate_grouped_data(64, nsamples=20, seed=0, gridsize=1), 0.75)  # noqa: E731
    train = loader.load(cb, raw.probeGuess, which="train", create_split=True)
    test = loader.load(cb, raw.probeGuess, which="test", create_split=True)
    assert (len(train), len(test)) == (15, 5)
    with pytest.raises(ValueError, match="choose 'train' or 'test'"):
        loader.load(cb, raw.probeGuess, create_split=True)
