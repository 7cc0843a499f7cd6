"""The PyTorch/Lightning engine of ptychopinn (POLICY-001: PyTorch >= 2.2 is required, no fall-back).

Importing this package checks torch once, here; nothing inside the package guards its imports.
"""

from ptycho.policy import MIN_TORCH, TORCH_REQUIRED, torch_version_tuple


def _check_torch() -> None:
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError(f"{TORCH_REQUIRED} (import failed: {exc})") from exc
    version = torch_version_tuple(torch.__version__)
    if version is None:
        raise RuntimeError(f"{TORCH_REQUIRED} (unreadable torch version {torch.__version__!r})")
    if version < MIN_TORCH:
        raise RuntimeError(f"{TORCH_REQUIRED} (found torch {torch.__version__})")


_check_torch()
