"""Reading a Lightning checkpoint file safely: ``torch.load(weights_only=True)`` (no pickle), then the
contents a ptychopinn checkpoint must have. Used by ``--resume``, ``ptycho inspect`` and the test
harness's validators; torch is imported only when a checkpoint is read.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

REQUIRED_HPARAMS = ("model_config", "data_config", "training_config", "inference_config")


def _names_a_real_global(lines: list[str]) -> bool:
    """Whether the refused ``GLOBAL module.name`` comes from an installed package: a pickled object. A name
    no package provides (``uorch._utils…``: one flipped byte of ``torch``) is damage. Only the top-level
    name is looked up, so nothing the file names is imported."""
    import importlib.util

    for line in lines:
        found = re.search(r"GLOBAL\s+([A-Za-z_][\w.]*)", line)
        if found:
            top = found.group(1).split(".")[0]
            return importlib.util.find_spec(top) is not None
    return any("global" in line for line in lines)


def _load_failure(path: Path, exc: Exception) -> str:
    """One sentence on why ``torch.load(weights_only=True)`` refused ``path`` (its message runs to pages):
    pickled objects only when the file really names a global to build, else damage."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if "GLOBAL" in line or "Unsupported" in line or "global" in line]
    detail = f"{type(exc).__name__}: {(telling or lines or [''])[0][:200]}"
    if telling and _names_a_real_global(telling):
        return (f"{path}: refused: it holds pickled objects beyond plain tensors and settings, which are never "
                f"loaded ({detail}); use a checkpoint written by ptycho train")
    return (f"{path}: does not load with torch.load(weights_only=True) ({detail}); it is damaged, truncated or "
            "not a checkpoint: use an intact checkpoint written by ptycho train")


def load_lightning_checkpoint(path, required_hparams=REQUIRED_HPARAMS) -> dict:
    """The checkpoint dict, loaded with ``torch.load(weights_only=True)`` and validated: non-empty
    ``hyper_parameters`` with the required keys, a non-empty ``state_dict``, a Lightning version.
    Anything else raises :class:`~ptycho.errors.ArchiveError` naming the file (``FileNotFoundError`` when
    there is none)."""
    import torch

    from ptycho.errors import ArchiveError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise ArchiveError(f"{path}: is empty (0 bytes), an interrupted copy or save; use an intact checkpoint")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the refusal below says it all
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged or hostile file; all mean "refused"
        raise ArchiveError(_load_failure(path, exc)) from None
    if not isinstance(ckpt, dict):
        raise ArchiveError(f"{path}: holds a {type(ckpt).__name__}, not a Lightning checkpoint dict")
    hparams = ckpt.get("hyper_parameters")
    if not isinstance(hparams, dict) or not hparams:
        raise ArchiveError(f"{path}: 'hyper_parameters' is missing or empty; call save_hyperparameters() in the "
                           "LightningModule")
    missing = [k for k in required_hparams if k not in hparams]
    if missing:
        raise ArchiveError(f"{path}: 'hyper_parameters' lacks {missing} (has {sorted(map(str, hparams))})")
    empty = [k for k in required_hparams if not isinstance(hparams[k], dict) or not hparams[k]]
    if empty:
        raise ArchiveError(f"{path}: hyper-parameter dicts {empty} are empty or not dicts")
    state = ckpt.get("state_dict")
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ArchiveError(f"{path}: 'state_dict' is missing, empty or holds something other than tensors")
    if not isinstance(ckpt.get("pytorch-lightning_version"), str) or not ckpt["pytorch-lightning_version"]:
        raise ArchiveError(f"{path}: no 'pytorch-lightning_version'; not written by Lightning")
    return ckpt
