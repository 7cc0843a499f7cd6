"""Upstream-compatible surface: the ``*_with_backend`` calls of upstream scripts. The real path is
:mod:`ptycho.workflows.models` (``train_model``, ``load_model``); these only pick the engine (docs/design.md
§5, POLICY-001): one entry point, the chosen engine only.

Order of every call: sync the legacy dict (CONFIG-001), validate ``config.backend``, then look the engine
up in :mod:`ptycho.engines` (which imports it, and only it). ``'tensorflow'`` never imports torch and
``'pytorch'`` never imports TensorFlow; choosing ``'pytorch'`` without a usable torch raises
``RuntimeError`` (never a silent fall-back).
"""

from __future__ import annotations

from ptycho.engines import check_backend
from ptycho.workflows import models
from ptycho.workflows.common import sync_legacy


def _sync_and_validate(config) -> str:
    sync_legacy(config)
    return check_backend(getattr(config, "backend", None))


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
    return models.run_cdi_example(
        backend, train_data, test_data, config, flip_x, flip_y, transpose, M, do_stitching, torch_execution_config
    )


def train_cdi_model_with_backend(train_data, test_data, config, torch_execution_config=None, resume=False):
    """Train on the chosen engine; ``results['backend']`` says which."""
    backend = _sync_and_validate(config)
    return models.train_model(backend, train_data, test_data, config, torch_execution_config, resume=resume)


def save_model_with_backend(results: dict, out_dir):
    """Archive the model in ``results`` as ``out_dir/wts.h5.zip`` with the engine that trained it."""
    return models.save_model(results, out_dir)


def load_inference_bundle_with_backend(bundle_dir, config):
    """``(model, params)`` for the chosen backend; an archive of the other engine is converted through the
    neutral weights (and the log says so)."""
    backend = _sync_and_validate(config)
    return models.load_predictor(bundle_dir, backend, convert_other_backend=True)
