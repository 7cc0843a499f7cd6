"""What the ptychodus PtychoPINN (TensorFlow) plugin relies on, without ptychodus or an engine: the names it
imports, the configs its parent builds (``ModelConfig(N=0)`` filled in later by its child), the training NPZ
it exports, and ``save_outputs`` called with the ``(None, None, results)`` that ``run_cdi_example`` returns
without stitching. The real application drives the whole sequence in ``tests/client`` (weekly)."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptycho import params
from ptycho.config.config import InferenceConfig, ModelConfig, TrainingConfig
from ptycho.errors import ConfigError
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.checkpoints import assert_png_artifact

HEAVY = ("tensorflow", "torch", "keras", "lightning")

# (module, names) the plugin imports: ptychodus/model/ptychopinn/{_subprocess,reconstructor}.py (1.7.0)
PLUGIN_IMPORTS = {
    "ptycho.config.config": ("update_legacy_dict", "ModelConfig", "TrainingConfig", "InferenceConfig"),
    "ptycho.workflows.components": ("run_cdi_example", "save_outputs", "load_inference_bundle"),
    "ptycho.model_manager": ("save",),
    "ptycho.raw_data": ("RawData",),
    "ptycho.loader": ("load",),
    "ptycho.params": ("cfg", "get"),
    "ptycho.probe": ("set_probe_guess",),
    "ptycho.tf_helper": ("reassemble_position",),
}


@pytest.fixture(autouse=True)
def _fresh_params():
    params.reset()
    yield
    params.reset()


@pytest.mark.parametrize("module", sorted(PLUGIN_IMPORTS))
def test_every_name_the_plugin_imports_exists(module):
    imported = importlib.import_module(module)
    missing = [name for name in PLUGIN_IMPORTS[module] if not hasattr(imported, name)]
    assert not missing, f"ptychodus imports {missing} from {module}"
    if module == "ptycho.raw_data":
        assert callable(imported.RawData.from_file) and callable(imported.RawData.from_coords_without_pc)


def test_update_legacy_dict_is_exported_by_the_light_config_module():
    """The plugin's parent and child both import it from ``ptycho.config.config``, which must stay free of
    TensorFlow and torch (the parent process never loads an engine)."""
    code = (
        "import sys, json\n"
        "from ptycho.config.config import update_legacy_dict\n"
        "import ptycho.params\n"
        "assert update_legacy_dict is ptycho.params.update_legacy_dict\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def plugin_training_config(**model) -> TrainingConfig:
    """The TrainingConfig the plugin's parent builds (every field it sets, N left at the 0 placeholder)."""
    model_config = ModelConfig(N=0, gridsize=1, n_filters_scale=2, model_type="pinn", amp_activation="sigmoid",
                               object_big=True, probe_big=True, probe_mask=False, pad_object=True, probe_scale=4.0,
                               gaussian_smoothing_sigma=0.0, **model)
    return TrainingConfig(model=model_config, train_data_file=Path(), test_data_file=None, batch_size=16, nepochs=50,
                          mae_weight=0.0, nll_weight=1.0, realspace_mae_weight=0.0, realspace_weight=0.0,
                          nphotons=1e6, positions_provided=True, probe_trainable=False,
                          intensity_scale_trainable=True, output_dir=Path())


def test_placeholder_n_constructs_but_a_workflow_refuses_it_naming_n():
    from ptycho.workflows.common import start_workflow

    config = plugin_training_config()
    with pytest.raises(ConfigError, match=r"ModelConfig\.N=0 .*set config\.model\.N to one of 64, 128, 256"):
        start_workflow(config)
    config.model.N = 64  # what the plugin's child does once it has read the training data
    params.update_legacy_dict(params.cfg, config)
    start_workflow(config)
    assert params.get("N") == 64 and params.get("nphotons") == 1e6 and params.get("output_prefix") == "."
    inference = InferenceConfig(model=ModelConfig(N=64), model_path=Path(), test_data_file=Path(), debug=False,
                                output_dir=Path())
    assert inference.model.N == 64


@pytest.fixture(scope="module")
def exported_npz(tmp_path_factory):
    """A training NPZ with the keys, dtypes and shapes ``save_ptychopinn_training_data`` writes: integer
    counts as ``diff3d``, a ``(modes, N, N)`` probe, a ``bad_pixels`` mask, both coordinate pairs."""
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=128, scan_step=16, nphotons=1e6, counts=True,
                                                seed=1))
    path = tmp_path_factory.mktemp("ptychodus") / "train_data.npz"
    n = len(arrays["xcoords"])
    np.savez(path, xcoords=arrays["xcoords"], ycoords=arrays["ycoords"], xcoords_start=arrays["xcoords"],
             ycoords_start=arrays["ycoords"], diff3d=arrays["diffraction"], bad_pixels=np.zeros((64, 64), bool),
             probeGuess=arrays["probeGuess"][None].astype(np.complex64),
             objectGuess=arrays["objectGuess"].astype(np.complex64), scan_index=np.zeros(n, dtype=int))
    return path, arrays


def test_exported_training_npz_with_counts_and_probe_modes_groups(exported_npz):
    from ptycho import loader
    from ptycho.probe import set_probe_guess
    from ptycho.raw_data import RawData

    path, arrays = exported_npz
    raw = RawData.from_file(path)
    assert raw.diff3d.dtype == np.float32 and raw.probeGuess.shape == (1, 64, 64)
    np.testing.assert_allclose(raw.diff3d, np.sqrt(arrays["diffraction"].astype(np.float64)), rtol=1e-6)
    config = plugin_training_config()
    config.model.N = raw.diff3d.shape[-1]
    params.update_legacy_dict(params.cfg, config)
    grouped = raw.generate_grouped_data(config.model.N, K=7, nsamples=len(raw), gridsize=config.model.gridsize)
    container = loader.load(lambda: grouped, raw.probeGuess, which=None, create_split=False)
    assert container.X.shape == (len(raw), 64, 64, 1) and container.global_offsets.shape == (len(raw), 1, 2, 1)
    assert set_probe_guess(None, raw.probeGuess).shape == (1, 64, 64)


def test_save_outputs_without_images_writes_the_history(tmp_path):
    """ptychodus: ``recon_amp, recon_phase, results = run_cdi_example(train, test, config)`` (no stitching, so
    both are ``None``), then ``save_outputs(recon_amp, recon_phase, results, output_dir)``."""
    from ptycho.workflows.components import save_outputs

    history = {"train_loss": [3.0, 2.0, 1.5], "val_loss": [3.5, 2.5, 2.0], "epoch_seconds": [1.0, 1.0, 1.0]}
    files = save_outputs(None, None, {"history": history, "backend": "tensorflow"}, str(tmp_path))
    assert set(files) == {"history_json", "history_csv", "loss_curve"}
    assert all(Path(p).is_file() and Path(p).parent == tmp_path for p in files.values())
    assert json.loads((tmp_path / "history.json").read_text()) == history
    assert (tmp_path / "history.csv").read_text().splitlines() == [
        "epoch,train_loss,val_loss", "1,3.0,3.5", "2,2.0,2.5", "3,1.5,2.0"]
    assert_png_artifact(files["loss_curve"])
    assert not (tmp_path / "reconstructed_amplitude.png").exists()


def test_save_outputs_writes_what_it_has(tmp_path):
    from ptycho.workflows.components import save_outputs

    assert save_outputs(None, None, {}, tmp_path / "empty") == {}
    assert save_outputs(None, None, None, tmp_path / "none") == {}
    image = np.add.outer(np.arange(32.0), np.arange(32.0))
    files = save_outputs(image, None, {"history": {"train_loss": [1.0]}}, tmp_path / "amp")
    assert set(files) == {"amplitude", "history_json", "history_csv", "loss_curve"}
    assert_png_artifact(files["amplitude"])
