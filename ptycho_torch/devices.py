"""Which device a PyTorch run uses (no Lightning needed: inference places its model with this too)."""

from __future__ import annotations

import logging

import torch

from ptycho.errors import ConfigError

log = logging.getLogger("ptycho.torch")


def resolve_accelerator(requested: str) -> str:
    """``auto`` -> ``cpu`` with a warning when there is no GPU; ``gpu``/``cuda`` without CUDA is an error."""
    has_cuda = torch.cuda.is_available()
    if requested == "auto":
        if not has_cuda:
            log.info("accelerator 'auto': no GPU found, running on the CPU")  # expected on a laptop: no warning
            return "cpu"
        return "gpu"
    if requested in ("gpu", "cuda") and not has_cuda:
        raise ConfigError(f"accelerator={requested!r} but no CUDA device is available; use --accelerator cpu")
    return "gpu" if requested == "cuda" else requested
