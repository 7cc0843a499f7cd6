"""Reading a Lightning checkpoint file safely: every zip record's declared size and CRC checked first
(torch's reader checks neither), then ``torch.load(weights_only=True)`` (no pickle), then the contents a
ptychopinn checkpoint must have, finite weights included. Used by ``--resume``, ``ptycho inspect``, the
Lightning loaders and the test harness's validators; torch is imported only when a checkpoint is read.
"""

from __future__ import annotations

import builtins
import re
import warnings
import zipfile
import zlib
from pathlib import Path

from ptycho.archive.format import MAX_COMPRESSION_RATIO, RATIO_CHECK_MIN_BYTES

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
            return hasattr(builtins, top) or importlib.util.find_spec(top) is not None
    return any("global" in line for line in lines)


def _looks_pickled(path: Path) -> bool:
    """A zip checkpoint, or a pickle stream that declares its protocol (0x80): written as a checkpoint by
    some tool, not text or random bytes."""
    with open(path, "rb") as handle:
        head = handle.read(2)
    return head == b"PK" or head[:1] == b"\x80"


def _load_failure(path: Path, exc: Exception) -> str:
    """One sentence on why ``torch.load(weights_only=True)`` refused ``path`` (its message runs to pages):
    pickled objects only when the file really names a global to build, else damage."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if "GLOBAL" in line or "Unsupported" in line or "global" in line]
    detail = f"{type(exc).__name__}: {(telling or lines or [''])[0][:200]}"
    if telling and _names_a_real_global(telling):
        return (f"{path}: refused: it holds pickled objects beyond plain tensors and settings, which are never "
                f"loaded ({detail}); use a checkpoint written by ptycho train")
    if telling and "Unsupported operand" in telling[0] and _looks_pickled(path):
        return (f"{path}: refused unread: it uses a pickle instruction the weights-only loader does not run "
                f"({detail}), so it was written by another tool or pickle protocol, or is damaged; use a "
                "checkpoint written by ptycho train")
    return (f"{path}: does not load with torch.load(weights_only=True) ({detail}); it is damaged, truncated or "
            "not a checkpoint: use an intact checkpoint written by ptycho train")


def verify_records(path: Path) -> None:
    """Refuse a zip checkpoint whose records are damaged (CRC), claim a decompression bomb, or declare more
    bytes than a stored record can hold, before torch reads any of them. A legacy (non-zip) checkpoint has
    no record checksums and is left to torch's loader."""
    from ptycho.errors import ArchiveError

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                ratio_ok = info.file_size <= max(RATIO_CHECK_MIN_BYTES, MAX_COMPRESSION_RATIO * info.compress_size)
                if not ratio_ok:
                    raise ArchiveError(
                        f"{path}: record {info.filename} would inflate {info.file_size} bytes from "
                        f"{info.compress_size} (over {MAX_COMPRESSION_RATIO}:1, a decompression bomb, not weights); "
                        "refused before reading it; use a checkpoint written by ptycho train"
                    )
            damaged = zf.testzip()  # reads every record in 1 MiB chunks, checking its CRC-32
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ArchiveError(f"{path}: is a damaged checkpoint zip ({type(exc).__name__}: {exc}); use an intact "
                           "checkpoint written by ptycho train") from None
    if damaged is not None:
        raise ArchiveError(f"{path}: record {damaged} fails its CRC-32 check: the checkpoint is damaged; use an "
                           "intact checkpoint (or train again)")


def non_finite_tensors(state: dict) -> list[str]:
    """Names of floating or complex tensors in ``state`` holding NaN or Inf."""
    import torch

    return [name for name, t in state.items()
            if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())]


def load_lightning_checkpoint(path, required_hparams=REQUIRED_HPARAMS) -> dict:
    """The checkpoint dict, its records verified (:func:`verify_records`), loaded with
    ``torch.load(weights_only=True)`` and validated: non-empty ``hyper_parameters`` with the required keys, a
    non-empty ``state_dict`` of finite tensors, a Lightning version.
    Anything else raises :class:`~ptycho.errors.ArchiveError` naming the file (``FileNotFoundError`` when
    there is none)."""
    import torch

    from ptycho.errors import ArchiveError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise ArchiveError(f"{path}: is empty (0 bytes), an interrupted copy or save; use an intact checkpoint")
    verify_records(path)
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
    bad = non_finite_tensors(state)
    if bad:
        raise ArchiveError(f"{path}: weights {', '.join(bad[:5])} hold NaN or Inf; the training that wrote it "
                           "diverged or the file was damaged: use an earlier checkpoint or train again")
    if not isinstance(ckpt.get("pytorch-lightning_version"), str) or not ckpt["pytorch-lightning_version"]:
        raise ArchiveError(f"{path}: no 'pytorch-lightning_version'; not written by Lightning")
    return ckpt
