"""Fixtures of the PyTorch-engine tests: one tiny, real Lightning run shared by the module."""

import pytest

from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset

TINY = SimulationSpec(N=64, object_size=128, scan_step=12, seed=5)


@pytest.fixture(scope="session")
def torch_tiny_npz(tmp_path_factory):
    _, arrays = simulate_dataset(TINY)
    return write_npz(tmp_path_factory.mktemp("tiny_torch") / "tiny.npz", arrays)


@pytest.fixture(scope="session")
def trained_torch(torch_tiny_npz, tmp_path_factory):
    """A real Lightning training run (gridsize 2, 3 epochs) with checkpoints and an archive."""
    from ptycho import params
    from ptycho.config.config import ModelConfig, PyTorchExecutionConfig, TrainingConfig
    from ptycho.raw_data import RawData
    from ptycho_torch.workflows import components

    params.reset()
    out = tmp_path_factory.mktemp("torch_run")
    raw = RawData.from_file(torch_tiny_npz)
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=2, n_filters_scale=1), nepochs=3, n_groups=16,
                            batch_size=4, output_dir=out, backend="pytorch")
    execution = PyTorchExecutionConfig(accelerator="cpu", enable_progress_bar=False, logger_backend="none")
    results = components.train_cdi_model_torch(raw, raw, config, execution)
    archive = components.save_model(results, out)
    return {"raw": raw, "config": config, "results": results, "archive": archive, "dir": out}
