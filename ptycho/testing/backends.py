"""What a test needs to run: a backend module (marker ``tf``/``torch``, applied by folder) or a CUDA device.

A missing backend skips its tests with the remedy, unless ``--require-backends`` names it: then the run
stops at start, so a broken install can never pass by skipping everything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BACKEND_MARKER_MODULES = {"tf": "tensorflow", "torch": "torch"}  # marker name -> module that provides it
FOLDER_BACKENDS = {"tensorflow_engine": "tf", "pytorch_engine": "torch"}  # suite folder -> marker


def backend_modules(config) -> dict[str, str]:
    """Marker -> module, with the ini ``ptycho_backend_modules`` overriding the defaults."""
    pairs = dict(BACKEND_MARKER_MODULES)
    for entry in config.getini("ptycho_backend_modules").split(","):
        if ":" in entry:
            marker, module = entry.split(":", 1)
            pairs[marker.strip()] = module.strip()
    return pairs


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(required: tuple[str, ...], modules: dict[str, str]) -> None:
    """A usage error naming every required backend that cannot be imported."""
    missing = [modules[b] for b in required if not importable(modules[b])]
    if missing:
        raise pytest.UsageError(
            f"--require-backends {','.join(required)}: {', '.join(missing)} cannot be imported; install "
            f"{' and '.join(missing)} (./run.sh test sets up everything)"
        )


def mark_by_folder(items) -> None:
    """Tests in an engine's suite folder get that engine's marker."""
    for item in items:
        marker = FOLDER_BACKENDS.get(Path(str(item.path)).parent.name)
        if marker and not item.get_closest_marker(marker):
            item.add_marker(marker)


def skip_missing(items, modules: dict[str, str]) -> None:
    """A skip with the remedy on each test whose backend module cannot be imported."""
    for item in items:
        for marker, module in modules.items():
            if item.get_closest_marker(marker) and not importable(module):
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{module} is not installed (marker '{marker}'); install it or run ./run.sh test"
                    )
                )


def skip_without_gpu(item) -> None:
    """Skip a ``gpu`` test (at set-up, so torch is imported only then) where torch sees no CUDA device."""
    if not item.get_closest_marker("gpu"):
        return
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        pytest.skip("needs a CUDA device (marker 'gpu'); this machine has none. Run nox -s gpu on a GPU host")
