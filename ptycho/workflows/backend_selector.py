"""Backend selection (DESIGN §5, POLICY-001): one entry point, the chosen engine only.

Order of every call: sync the legacy dict (CONFIG-001), validate ``config.backend``, then import and call
only the chosen engine. ``'tensorflow'`` never imports torch and ``'pytorch'`` never imports TensorFlow.
Choosing ``'pytorch'`` without a usable torch raises ``RuntimeError`` (never a silent fall-back).
"""

from __future__ import annotations

import importlib
import logging

from ptycho import params
from ptycho.archive import read_archive
from ptycho.config.config import BACKENDS, PyTorchExecutionConfig
from ptycho.errors import ArchiveError, ConfigError

log = logging.getLogger("ptycho.backend")

TORCH_REQUIRED = (
    "PyTorch backend selected, but PyTorch cannot be used here ({reason}). "
    "Install PyTorch >= 2.2 with: pip install torch>=2.2 (or choose backend='tensorflow')."
)

ENGINE_MODULES = {"tensorflow": "ptycho.workflows.components", "pytorch": "ptycho_torch.workflows.components"}


def _sync_and_validate(config) -> str:
    params.update_legacy_dict(params.cfg, config)
    backend = getattr(config, "backend", None)
    if backend not in BACKENDS:
        raise ValueError(f"config.backend={backend!r} is not a backend; choose 'tensorflow' or 'pytorch'")
    return backend


def engine(backend: str):
    """Import the workflows module of ``backend`` (and only it)."""
    try:
        return importlib.import_module(ENGINE_MODULES[backend])
    except (ImportError, RuntimeError) as exc:
        if backend == "pytorch":
            raise RuntimeError(TORCH_REQUIRED.format(reason=f"{type(exc).__name__}: {exc}")) from exc
        raise RuntimeError(
            f"TensorFlow backend selected, but TensorFlow cannot be imported ({exc}); "
            "install it with: pip install tensorflow-cpu (or choose backend='pytorch')"
        ) from exc


def _check_execution_config(backend: str, torch_execution_config) -> None:
    if torch_execution_config is None:
        return
    if backend != "pytorch":
        raise ConfigError(
            "a PyTorchExecutionConfig was given but backend='tensorflow'; the TensorFlow engine "
            "has no such settings: drop it or choose backend='pytorch'"
        )
    if not isinstance(torch_execution_config, PyTorchExecutionConfig):
        raise TypeError(
            f"torch_execution_config must be a PyTorchExecutionConfig, got {type(torch_execution_config).__name__}"
        )


def run_cdi_example_with_backend(
    train_data,
    test_data,
    config,
    flip_x=False,
    flip_y=False,
    transpose=False,
    M=20,
    do_stitching=False,
    torch_execution_config=None,
):
    """Train and (with ``do_stitching``) reconstruct on the chosen engine: ``(amplitude, phase, results)``."""
    backend = _sync_and_validate(config)
    _check_execution_config(backend, torch_execution_config)
    module = engine(backend)
    kwargs = {"execution_config": torch_execution_config} if backend == "pytorch" else {}
    runner = module.run_cdi_example_torch if backend == "pytorch" else module.run_cdi_example
    amplitude, phase, results = runner(
        train_data, test_data, config, flip_x, flip_y, transpose, M, do_stitching, **kwargs
    )
    results["backend"] = backend
    return amplitude, phase, results


def train_cdi_model_with_backend(train_data, test_data, config, torch_execution_config=None, resume=False):
    """Train on the chosen engine; ``results['backend']`` says which."""
    backend = _sync_and_validate(config)
    _check_execution_config(backend, torch_execution_config)
    if resume and backend != "pytorch":
        raise ConfigError("resuming from a checkpoint is a PyTorch-engine feature; choose backend='pytorch'")
    module = engine(backend)
    if backend == "pytorch":
        results = module.train_cdi_model_torch(
            train_data, test_data, config, execution_config=torch_execution_config, resume=resume
        )
    else:
        results = module.train_cdi_model(train_data, test_data, config)
    results["backend"] = backend
    return results


def save_model_with_backend(results: dict, out_dir):
    """Archive the model in ``results`` as ``out_dir/wts.h5.zip`` with the engine that trained it."""
    return engine(results["backend"]).save_model(results, out_dir)


def load_inference_bundle_with_backend(bundle_dir, config):
    """``(model, params)`` for the chosen backend; an archive of the other engine is converted through the
    neutral weights (and the log says so)."""
    backend = _sync_and_validate(config)
    archive = read_archive(bundle_dir)
    module = engine(backend)
    if archive.backend not in BACKENDS:
        raise ArchiveError(f"{archive.source}: unknown backend {archive.backend!r} in the manifest")
    loader = module.load_inference_bundle_torch if backend == "pytorch" else module.load_inference_bundle
    return loader(bundle_dir, convert_other_backend=True)
