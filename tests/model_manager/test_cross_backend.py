"""Weekly: a model written by one engine reconstructs identically in the other (through neutral weights)."""

import numpy as np
import pytest

from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.commands import run_ptycho as ptycho

pytestmark = [pytest.mark.weekly, pytest.mark.tf, pytest.mark.torch]
OTHER = {"tensorflow": "pytorch", "pytorch": "tensorflow"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=112, scan_step=10, seed=9))
    return write_npz(tmp_path_factory.mktemp("mm") / "d.npz", arrays)


@pytest.mark.parametrize("network", [(), ("--projection-iterations", "10"),
                                     ("--projection-iterations", "10", "--estimate-gain")], ids=["plain", "p10", "gain"])
@pytest.mark.parametrize("writer", ["tensorflow", "pytorch"])
def test_archive_of_one_engine_reconstructs_identically_in_the_other(writer, network, dataset, tmp_path):
    model = tmp_path / "model"
    ptycho("--quiet", "train", "--backend", writer, "--train-data", str(dataset), "--output-dir", str(model),
           "--epochs", "1", "--n-groups", "8", "--gridsize", "2", "--batch-size", "4", "--n-filters-scale", "1",
           *network)
    ptycho("--quiet", "infer", "--backend", writer, "--model", str(model), "--data", str(dataset), "--output-dir",
           str(tmp_path / "own"))
    reader = OTHER[writer]
    converted = ptycho("infer", "--backend", reader, "--model", str(model), "--data", str(dataset), "--output-dir",
                       str(tmp_path / "other"))
    assert f"was written by the '{writer}' backend; converting it for the '{reader}' backend" in converted.stderr
    with np.load(tmp_path / "own" / "reconstruction.npz") as a, np.load(tmp_path / "other" / "reconstruction.npz") as b:
        own, other = a["patches"], b["patches"]
    assert np.max(np.abs(own - other)) / np.max(np.abs(own)) <= 1e-5
