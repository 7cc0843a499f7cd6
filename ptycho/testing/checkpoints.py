"""Validators of the artifacts a run leaves: Lightning checkpoints, model archives, PNG pictures.

Each ``check_*`` returns ``None`` when the artifact is valid, else one sentence saying what is wrong;
each ``assert_*`` raises ``AssertionError`` with that sentence; :func:`load_lightning_checkpoint` returns
the checkpoint or raises ``ArchiveError`` with it. ``ptycho inspect`` and the pytest plugin use the same
checks.
"""

from __future__ import annotations

import warnings
from pathlib import Path

REQUIRED_HPARAMS = ("model_config", "data_config", "training_config", "inference_config")


def _load_failure(path: Path, exc: Exception) -> str:
    """One sentence on why ``torch.load(weights_only=True)`` refused ``path`` (its message runs to pages):
    pickled objects only when the file really names a global to build, else damage."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if "GLOBAL" in line or "Unsupported" in line or "global" in line]
    detail = f"{type(exc).__name__}: {(telling or lines or [''])[0][:200]}"
    if any("GLOBAL" in line or "global" in line for line in telling):
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


def check_lightning_checkpoint(path, required_hparams=REQUIRED_HPARAMS) -> str | None:
    """``None`` when :func:`load_lightning_checkpoint` accepts ``path``, else why not."""
    from ptycho.errors import ArchiveError

    try:
        load_lightning_checkpoint(path, required_hparams)
    except (ArchiveError, FileNotFoundError) as exc:
        return str(exc)
    return None


def check_checkpoints_under(folder: Path | None) -> str | None:
    """Every ``*.ckpt`` a test left under ``folder`` (its ``tmp_path``), validated: the plugin fails a
    passing test that wrote an invalid checkpoint."""
    paths = sorted(Path(folder).rglob("*.ckpt")) if folder is not None else []
    problems = [msg for msg in (check_lightning_checkpoint(p) for p in paths) if msg]
    return "checkpoint validation failed:\n" + "\n".join(problems) if problems else None


def check_model_archive(path, backend: str | None = None) -> str | None:
    """Everything :func:`ptycho.archive.read_archive` checks, plus readable, non-empty neutral weights and
    (optionally) the expected backend."""
    from ptycho.archive import read_archive
    from ptycho.errors import ArchiveError

    try:
        archive = read_archive(path)
        weights = archive.neutral_weights()
    except (ArchiveError, FileNotFoundError) as exc:
        return str(exc)
    if backend is not None and archive.backend != backend:
        return f"{path}: written by backend {archive.backend!r}, expected {backend!r}"
    if not weights:
        return f"{path}: the neutral weights are empty"
    return None


def check_png_artifact(path, min_bytes: int = 1024) -> str | None:
    """Exists, at least ``min_bytes``, decodes as an image, and is not one constant colour."""
    import matplotlib.image as mpimg
    import numpy as np

    path = Path(path)
    if not path.is_file():
        return f"{path}: missing"
    size = path.stat().st_size
    if size < min_bytes:
        return f"{path}: only {size} bytes (< {min_bytes}); probably an empty figure"
    try:
        image = mpimg.imread(path)
    except Exception as exc:  # noqa: BLE001
        return f"{path}: does not decode as PNG: {exc}"
    if float(np.ptp(image)) == 0.0:
        return f"{path}: the image is one constant colour"
    return None


def _assert(message: str | None) -> None:
    if message is not None:
        raise AssertionError(message)


def assert_lightning_checkpoint(path, required_hparams=REQUIRED_HPARAMS) -> None:
    _assert(check_lightning_checkpoint(path, required_hparams))


def assert_model_archive(path, backend: str | None = None) -> None:
    _assert(check_model_archive(path, backend))


def assert_png_artifact(path, min_bytes: int = 1024) -> None:
    _assert(check_png_artifact(path, min_bytes))
