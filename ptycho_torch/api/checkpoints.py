"""Checkpoints as upstream clients use them: the best one of a run, and the configs saved inside it."""

from __future__ import annotations

from pathlib import Path

import torch

from ptycho.checkpoint_file import verify_records
from ptycho.errors import ConfigError
from ptycho_torch.network_match import ARCHITECTURE_FIELDS, check_same_network  # noqa: F401 - upstream home


def read_hyperparameters(path) -> dict:
    """The four config dicts a checkpoint of this engine holds (``torch.load(weights_only=True)``)."""
    verify_records(Path(path))
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    hp = checkpoint.get("hyper_parameters") or {}
    missing = [k for k in ("model_config", "data_config", "training_config", "inference_config") if k not in hp]
    if missing:
        raise ConfigError(f"{path}: not a ptychopinn checkpoint (hyper_parameters lack {', '.join(missing)})")
    return hp


def find_best_checkpoint(run_dir) -> Path | None:
    """The checkpoint Lightning ranked best in ``run_dir`` (its ``best_model_path``), else the newest one;
    ``None`` when the run wrote none."""
    found = sorted(Path(run_dir).rglob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    last = [p for p in found if p.name == "last.ckpt"]
    if last:
        # mmap: only the callback states are read, not every tensor of the checkpoint
        state = torch.load(last[-1], map_location="cpu", weights_only=True, mmap=True).get("callbacks", {})
        for key, value in state.items():
            best = Path(value.get("best_model_path") or "") if "ModelCheckpoint" in key else None
            if best and best.is_file():
                return best
    ranked = [p for p in found if p.name != "last.ckpt"]
    return (ranked or found)[-1]
