"""POLICY-001 in one place, importable without torch: the PyTorch engine needs torch >= 2.2, no fall-back."""

from __future__ import annotations

MIN_TORCH = (2, 2)
TORCH_REQUIRED = "PyTorch >= 2.2 is required by the ptychopinn PyTorch engine; install it with: pip install torch>=2.2"


def torch_version_tuple(version: str) -> tuple[int, int] | None:
    """``'2.13.0+cpu'`` -> ``(2, 13)``; ``None`` when unreadable."""
    try:
        major, minor = version.split("+")[0].split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None
