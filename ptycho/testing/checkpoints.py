"""Validators of the artifacts a run leaves: Lightning checkpoints, model archives, PNG pictures.

Each ``check_*`` returns ``None`` when the artifact is valid, else one sentence saying what is wrong;
each ``assert_*`` raises ``AssertionError`` with that sentence; :func:`load_lightning_checkpoint` returns
the checkpoint or raises ``ArchiveError`` with it. ``ptycho inspect`` and the pytest plugin use the same
checks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ptycho.checkpoint_file import REQUIRED_HPARAMS, load_lightning_checkpoint


def check_lightning_checkpoint(path, required_hparams=REQUIRED_HPARAMS) -> str | None:
    """``None`` when :func:`load_lightning_checkpoint` accepts ``path``, else why not."""
    from ptycho.errors import ArchiveError

    try:
        load_lightning_checkpoint(path, required_hparams)
    except (ArchiveError, FileNotFoundError) as exc:
        return str(exc)
    return None


def check_checkpoints_in_archive(path) -> list[str]:
    """The Lightning checkpoints (``*.ckpt`` members) inside a model archive, each validated.

    Only archives :func:`ptycho.archive.read_archive` accepts are opened: one it refuses is a test's
    deliberate damage, and that test asserts the refusal itself."""
    from ptycho.archive import read_archive
    from ptycho.errors import ArchiveError, ConfigError

    try:
        members = read_archive(path).members
    except (ArchiveError, ConfigError, OSError):
        return []
    problems = []
    for name in sorted(n for n in members if n.endswith(".ckpt")):
        with tempfile.TemporaryDirectory() as scratch:
            member = Path(scratch) / Path(name).name
            member.write_bytes(members[name])
            problem = check_lightning_checkpoint(member)
        if problem:
            problems.append(f"{path}: member {name}: {problem.replace(str(member), name)}")
    return problems


def check_checkpoints_under(folder: Path | None) -> str | None:
    """Every ``*.ckpt`` left under ``folder`` (a test's ``tmp_path``, or a folder a fixture made with
    ``tmp_path_factory``) and the checkpoint inside every model archive (``wts.h5.zip``) there, validated:
    the plugin fails a passing test, or errors a fixture, that wrote an invalid checkpoint."""
    from ptycho.archive.format import ARCHIVE_NAME

    if folder is None or not Path(folder).is_dir():
        return None
    folder = Path(folder)
    problems = [msg for msg in (check_lightning_checkpoint(p) for p in sorted(folder.rglob("*.ckpt"))) if msg]
    for archive in sorted(folder.rglob(ARCHIVE_NAME)):
        if archive.is_file():
            problems += check_checkpoints_in_archive(archive)
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
