"""Shared fixtures: small simulated datasets written to real files."""

import pytest

from ptycho import params
from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset


@pytest.fixture
def fresh_params():
    """An empty legacy dict before and after the test (CONFIG-001 state does not leak)."""
    params.reset()
    yield params
    params.reset()


@pytest.fixture(scope="session")
def small_npz(tmp_path_factory):
    """A 64×64 simulated dataset of 64 patterns with ground truth, written once per session."""
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=192, seed=3))
    return write_npz(tmp_path_factory.mktemp("data") / "small.npz", arrays)
