"""Fixtures of the TensorFlow-engine tests: a tiny simulated dataset and one tiny trained model."""

import pytest

from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset

TINY = SimulationSpec(N=64, object_size=128, scan_step=12, seed=5)


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory):
    """36 patterns of 64×64 from a 128×128 object, with ground truth."""
    _, arrays = simulate_dataset(TINY)
    return write_npz(tmp_path_factory.mktemp("tiny") / "tiny.npz", arrays)


@pytest.fixture(scope="session")
def trained_tf(tiny_npz, tmp_path_factory):
    """A real (tiny) TensorFlow training run at gridsize 2 and its saved archive."""
    from ptycho import params
    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.raw_data import RawData
    from ptycho.workflows import components

    params.reset()
    raw = RawData.from_file(tiny_npz)
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=2, n_filters_scale=1), nepochs=3, n_groups=16,
                            batch_size=8)
    results = components.train_cdi_model(raw, raw, config)
    out = tmp_path_factory.mktemp("tf_model")
    archive = components.save_model(results, out)
    return {"raw": raw, "config": config, "results": results, "archive": archive, "dir": out}
