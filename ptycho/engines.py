"""The engine interface, and the registry that imports an engine only when it is chosen (POLICY-001).

An engine (``ptycho.tf.engine``, ``ptycho_torch.engine``) knows how to build, fit, place and persist its
own network; everything around it (data containers, the photon scale, the legacy dict, archives, stitching)
is backend-neutral and lives in :mod:`ptycho.workflows`. Choosing ``'tensorflow'`` never imports torch and
``'pytorch'`` never imports TensorFlow; a missing framework is a ``RuntimeError`` naming the fix.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ptycho.config.config import BACKENDS, PyTorchExecutionConfig

ENGINE_MODULES = {"tensorflow": "ptycho.tf.engine", "pytorch": "ptycho_torch.engine"}

TORCH_REQUIRED = (
    "PyTorch backend selected, but PyTorch cannot be used here ({reason}). "
    "Install PyTorch >= 2.2 with: pip install torch>=2.2 (or choose backend='tensorflow')."
)
TF_REQUIRED = (
    "TensorFlow backend selected, but TensorFlow cannot be imported ({reason}); "
    "install it with: pip install tensorflow-cpu (or choose backend='pytorch')"
)


@dataclass
class TrainingRun:
    """Everything an engine's ``fit`` needs, prepared by :func:`ptycho.workflows.models.train_model`."""

    config: Any  # TrainingConfig
    train: Any  # PtychoDataContainer
    test: Any  # PtychoDataContainer | None
    probe: np.ndarray  # (modes, N, N) complex, normalised
    intensity_scale: float  # initial photon scale
    seed: int = 0
    execution: PyTorchExecutionConfig | None = None
    resume: bool = False
    callbacks: tuple = ()  # extra Lightning callbacks (PyTorch engine)
    initial_weights: dict | None = None  # neutral weights to start from (fine-tuning) instead of the seeded ones


@dataclass
class Fitted:
    """What ``fit`` returns: the trained model (on the CPU, in eval mode), the loss history, and any
    engine-specific entries for the results dict (a checkpoint path, the Lightning module…)."""

    model: Any
    history: dict
    extra: dict = field(default_factory=dict)


class Engine(Protocol):
    """What each engine implements; all else is shared."""

    name: str

    def check_options(self, execution: PyTorchExecutionConfig | None, resume: bool) -> None:
        """Refuse settings this engine does not have, before any work."""

    def fit(self, run: TrainingRun) -> Fitted:
        """Build a fresh model (initial weights from ``run.seed``) and train it."""

    def create_model(self, model_config, probe: np.ndarray, intensity_scale: float):
        """An untrained model with the neutral weight names of :mod:`ptycho.architecture`."""

    def engine_files(self, model, checkpoint: Path | None) -> dict[str, bytes]:
        """The engine's own members of a model archive (beside the neutral weights)."""

    def predictor(self, model):
        """An inference model: ``.predict([X·scale, local_offsets], batch_size)`` -> complex patches."""

    def place(self, model, accelerator: str | None) -> None:
        """Move ``model`` to ``accelerator`` (``None``: leave it where it is)."""


def check_backend(backend) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"config.backend={backend!r} is not a backend; choose 'tensorflow' or 'pytorch'")
    return backend


def get_engine(backend: str) -> Engine:
    """The engine registered for ``backend``, importing its package (and only it) on first use."""
    check_backend(backend)
    try:
        return importlib.import_module(ENGINE_MODULES[backend]).ENGINE
    except (ImportError, RuntimeError, OSError) as exc:  # OSError: a framework whose shared library fails
        reason = f"{type(exc).__name__}: {exc}"
        if backend == "pytorch":
            raise RuntimeError(TORCH_REQUIRED.format(reason=reason)) from exc
        raise RuntimeError(TF_REQUIRED.format(reason=reason)) from exc
