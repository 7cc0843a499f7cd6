"""The PyTorch/Lightning engine of ptychopinn (POLICY-001: PyTorch >= 2.2 is required, no fall-back).

Importing this package checks torch once, here; nothing inside the package guards its imports.
"""

MIN_TORCH = (2, 2)
TORCH_REQUIRED = "PyTorch >= 2.2 is required by the ptychopinn PyTorch engine; install it with: pip install torch>=2.2"


def _check_torch() -> None:
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError(f"{TORCH_REQUIRED} (import failed: {exc})") from exc
    try:
        version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    except ValueError as exc:
        raise RuntimeError(f"{TORCH_REQUIRED} (unreadable torch version {torch.__version__!r})") from exc
    if version < MIN_TORCH:
        raise RuntimeError(f"{TORCH_REQUIRED} (found torch {torch.__version__})")


_check_torch()
