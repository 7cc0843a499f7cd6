"""Routing rules of ``ptycho.workflows.backend_selector`` (docs/design.md §5, POLICY-001, CONFIG-001).

The engines are replaced by recording fakes registered in the real registry (:mod:`ptycho.engines`), so
the suite runs in seconds; the real engines are exercised end to end by tests/integration.
"""

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from ptycho import engines, params
from ptycho.archive import write_archive
from ptycho.config.config import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from ptycho.engines import Fitted
from ptycho.errors import ArchiveError, ConfigError
from ptycho.raw_data import RawData
from ptycho.workflows import backend_selector


@pytest.fixture(autouse=True)
def _clean_params():
    params.reset()
    yield
    params.reset()


class FakeModel:
    intensity_scale = 2.5
    probe_real = np.zeros((1, 64, 64), np.float32)

    def export_weights(self):
        return {"probe/real": self.probe_real, "probe/imag": self.probe_real}

    def import_weights(self, weights):
        pass


class FakePredictor:
    model = FakeModel()

    def predict(self, inputs, batch_size=64):
        x = inputs[0]
        return np.ones(x.shape, np.complex64)


class FakeEngine:
    """An :class:`ptycho.engines.Engine` that records what it was asked and the legacy dict it saw."""

    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def check_options(self, execution, resume):
        pass

    def fit(self, run):
        self.calls.append((f"fit_{self.name}", dict(params.cfg), run))
        return Fitted(FakeModel(), {"train_loss": [1.0]})

    def create_model(self, model_config, probe, intensity_scale):
        self.calls.append((f"load_{self.name}", dict(params.cfg), model_config))
        return FakeModel()

    def engine_files(self, model, checkpoint):
        return {}

    def predictor(self, model):
        return FakePredictor()

    def place(self, model, accelerator):
        pass


@pytest.fixture
def fake_engines(monkeypatch):
    """Both engines registered as fakes (through the real registry) that record their calls."""
    calls = []
    for backend in ("tensorflow", "pytorch"):
        module = types.ModuleType(f"fake_{backend}_engine")
        module.ENGINE = FakeEngine(backend, calls)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        monkeypatch.setitem(engines.ENGINE_MODULES, backend, module.__name__)
    return calls


@pytest.fixture(scope="module")
def raw():
    return RawData.from_file(Path(__file__).parents[1] / "fixtures" / "data" / "sim_n64.npz")


def config(backend="tensorflow", N=64):
    return TrainingConfig(model=ModelConfig(N=N, gridsize=2), backend=backend, n_groups=7)


@pytest.mark.parametrize("backend", ["tensorflow", "pytorch"])
def test_routes_to_the_chosen_engine_and_annotates(fake_engines, raw, backend):
    amplitude, phase, results = backend_selector.run_cdi_example_with_backend(raw, raw, config(backend),
                                                                              do_stitching=True)
    assert [c[0] for c in fake_engines] == [f"fit_{backend}"]
    assert results["backend"] == backend and results["intensity_scale"] == FakeModel.intensity_scale
    assert amplitude.shape == phase.shape == raw.objectGuess.shape


def test_legacy_dict_is_synced_before_the_engine_runs(fake_engines, raw):
    backend_selector.train_cdi_model_with_backend(raw, None, config("pytorch"))
    _, seen, _ = fake_engines[0]
    assert seen["N"] == 64 and seen["gridsize"] == 2 and seen["n_groups"] == 7 and seen["backend"] == "pytorch"
    assert params.get("intensity_scale") == FakeModel.intensity_scale  # the trained scale, published after


def test_a_loaded_model_publishes_its_params(fake_engines, tmp_path):
    _archive(tmp_path, "pytorch")
    from ptycho.config.config import InferenceConfig

    _, saved = backend_selector.load_inference_bundle_with_backend(tmp_path, InferenceConfig(backend="pytorch"))
    assert saved["intensity_scale"] == params.get("intensity_scale") == FakeModel.intensity_scale


def test_invalid_backend_names_both_literals_after_syncing(fake_engines):
    cfg = config()
    cfg.backend = "jax"
    with pytest.raises(ValueError, match=r"config.backend='jax' is not a backend; choose 'tensorflow' or 'pytorch'"):
        backend_selector.train_cdi_model_with_backend(None, None, cfg)
    assert params.get("N") == 64  # synced first (CONFIG-001)
    assert fake_engines == []


def test_execution_config_for_tensorflow_is_an_error():
    pytest.importorskip("tensorflow")
    with pytest.raises(ConfigError, match="PyTorchExecutionConfig was given but backend='tensorflow'"):
        backend_selector.run_cdi_example_with_backend(None, None, config(), torch_execution_config=PyTorchExecutionConfig())


def test_execution_config_reaches_the_torch_engine(fake_engines, raw):
    execution = PyTorchExecutionConfig(accelerator="cpu")
    backend_selector.run_cdi_example_with_backend(raw, None, config("pytorch"), torch_execution_config=execution)
    assert fake_engines[0][2].execution is execution


def test_resume_is_torch_only():
    pytest.importorskip("tensorflow")
    with pytest.raises(ConfigError, match="resuming from a checkpoint is a PyTorch-engine feature"):
        backend_selector.train_cdi_model_with_backend(None, None, config(), resume=True)


def test_default_backend_is_tensorflow():
    assert TrainingConfig().backend == "tensorflow"


def _archive(tmp_path, backend):
    weights = FakeModel().export_weights()
    return write_archive(tmp_path, backend, {"N": 64, "intensity_scale": 1.0}, weights, {})


@pytest.mark.parametrize("backend, expected", [("tensorflow", "load_tensorflow"), ("pytorch", "load_pytorch")])
def test_bundle_loads_through_the_selected_engine(fake_engines, tmp_path, backend, expected):
    _archive(tmp_path, backend)
    from ptycho.config.config import InferenceConfig

    backend_selector.load_inference_bundle_with_backend(tmp_path, InferenceConfig(backend=backend))
    assert fake_engines[0][0] == expected


def test_bundle_with_unknown_backend_is_refused(fake_engines, tmp_path):
    _archive(tmp_path, "jax")
    from ptycho.config.config import InferenceConfig

    with pytest.raises(ArchiveError, match="field 'backend' is 'jax', not one of 'tensorflow', 'pytorch'"):
        backend_selector.load_inference_bundle_with_backend(tmp_path, InferenceConfig())


def test_pytorch_without_torch_is_a_runtime_error_never_a_fallback(tmp_path):
    """A real interpreter in which torch cannot be imported."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('No module named torch (blocked)')\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(blocker)!r})
        from ptycho.config.config import TrainingConfig
        from ptycho.workflows.backend_selector import train_cdi_model_with_backend
        try:
            train_cdi_model_with_backend(None, None, TrainingConfig(backend="pytorch"))
        except RuntimeError as exc:
            print("RuntimeError:", exc)
        print("tensorflow imported:", "tensorflow" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "RuntimeError: PyTorch backend selected" in out and "pip install torch>=2.2" in out
    assert "tensorflow imported: False" in out
