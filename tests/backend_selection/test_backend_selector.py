"""Routing rules of ``ptycho.workflows.backend_selector`` (DESIGN §5, POLICY-001, CONFIG-001).

The engines themselves are replaced by recording fakes here, so the whole suite runs in a few seconds;
the real engines are exercised end to end by tests/integration.
"""

import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from ptycho import params
from ptycho.archive import write_archive
from ptycho.config.config import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from ptycho.errors import ArchiveError, ConfigError
from ptycho.workflows import backend_selector


@pytest.fixture(autouse=True)
def _clean_params():
    params.reset()
    yield
    params.reset()


@pytest.fixture
def fake_engines(monkeypatch):
    """Both engines as fakes that record the legacy dict they saw when called."""
    calls = []

    def result(name):
        def run(*args, **kwargs):
            calls.append((name, dict(params.cfg), kwargs))
            if name.startswith("run"):
                return np.ones((4, 4)), np.zeros((4, 4)), {"history": {}}
            if name.startswith("load"):
                return "model", {"intensity_scale": 1.0}
            return {"history": {}}
        return run

    modules = {
        "tensorflow": types.SimpleNamespace(run_cdi_example=result("run_tf"), train_cdi_model=result("train_tf"),
                                            load_inference_bundle=result("load_tf")),
        "pytorch": types.SimpleNamespace(run_cdi_example_torch=result("run_torch"),
                                         train_cdi_model_torch=result("train_torch"),
                                         load_inference_bundle_torch=result("load_torch")),
    }
    monkeypatch.setattr(backend_selector, "engine", lambda backend: modules[backend])
    return calls


def config(backend="tensorflow", N=64):
    return TrainingConfig(model=ModelConfig(N=N, gridsize=2), backend=backend, n_groups=7)


@pytest.mark.parametrize("backend, name", [("tensorflow", "run_tf"), ("pytorch", "run_torch")])
def test_routes_to_the_chosen_engine_and_annotates(fake_engines, backend, name):
    amplitude, phase, results = backend_selector.run_cdi_example_with_backend(None, None, config(backend))
    assert [c[0] for c in fake_engines] == [name]
    assert results["backend"] == backend
    assert amplitude.shape == phase.shape == (4, 4)


def test_legacy_dict_is_synced_before_the_engine_runs(fake_engines):
    backend_selector.train_cdi_model_with_backend(None, None, config("pytorch", N=128))
    _, seen, _ = fake_engines[0]
    assert seen["N"] == 128 and seen["gridsize"] == 2 and seen["n_groups"] == 7 and seen["backend"] == "pytorch"


def test_invalid_backend_names_both_literals_after_syncing(fake_engines):
    cfg = config()
    cfg.backend = "jax"
    with pytest.raises(ValueError, match=r"config.backend='jax' is not a backend; choose 'tensorflow' or 'pytorch'"):
        backend_selector.train_cdi_model_with_backend(None, None, cfg)
    assert params.get("N") == 64  # synced first (CONFIG-001)
    assert fake_engines == []


def test_execution_config_for_tensorflow_is_an_error(fake_engines):
    with pytest.raises(ConfigError, match="PyTorchExecutionConfig was given but backend='tensorflow'"):
        backend_selector.run_cdi_example_with_backend(None, None, config(), torch_execution_config=PyTorchExecutionConfig())
    assert fake_engines == []


def test_execution_config_reaches_the_torch_engine(fake_engines):
    execution = PyTorchExecutionConfig(accelerator="cpu")
    backend_selector.run_cdi_example_with_backend(None, None, config("pytorch"), torch_execution_config=execution)
    assert fake_engines[0][2]["execution_config"] is execution


def test_resume_is_torch_only(fake_engines):
    with pytest.raises(ConfigError, match="resuming from a checkpoint is a PyTorch-engine feature"):
        backend_selector.train_cdi_model_with_backend(None, None, config(), resume=True)


def test_default_backend_is_tensorflow():
    assert TrainingConfig().backend == "tensorflow"


def _archive(tmp_path, backend):
    weights = {"probe/real": np.zeros((1, 64, 64), np.float32)}
    return write_archive(tmp_path, backend, {"N": 64, "intensity_scale": 1.0}, weights, {})


@pytest.mark.parametrize("backend, expected", [("tensorflow", "load_tf"), ("pytorch", "load_torch")])
def test_bundle_loads_through_the_selected_engine(fake_engines, tmp_path, backend, expected):
    _archive(tmp_path, backend)
    from ptycho.config.config import InferenceConfig

    backend_selector.load_inference_bundle_with_backend(tmp_path, InferenceConfig(backend=backend))
    assert fake_engines[0][0] == expected


def test_bundle_with_unknown_backend_is_refused(fake_engines, tmp_path):
    _archive(tmp_path, "jax")
    from ptycho.config.config import InferenceConfig

    with pytest.raises(ArchiveError, match="unknown backend 'jax'"):
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
