"""Folders made with ``tmp_path_factory`` during a fixture's set-up, so the checkpoints that fixture leaves
there (a session fixture's training run, the ptychodus façade's run folder) are validated when its set-up
ends, not only those a test leaves in its own ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

made_key = pytest.StashKey[list]()
# A test's own tmp_path is fresh and empty at set-up; it is validated after the test's call instead.
TEST_FOLDERS = ("tmp_path", "tmpdir")


def watch(config) -> None:
    """Record every folder the session's ``TempPathFactory.mktemp`` makes (pytest keeps the factory as
    ``config._tmp_path_factory``; without it nothing is recorded and only ``tmp_path`` is validated)."""
    made = config.stash.setdefault(made_key, [])
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or getattr(factory.mktemp, "records_folders", False):
        return
    mktemp = factory.mktemp

    def recording_mktemp(basename: str, numbered: bool = True) -> Path:
        path = mktemp(basename, numbered)
        made.append(Path(path))
        return path

    recording_mktemp.records_folders = True
    factory.mktemp = recording_mktemp


def made_so_far(config) -> list[Path]:
    return config.stash.setdefault(made_key, [])


def problems_in(folders) -> str | None:
    """The checkpoint validator over every folder in ``folders`` (each once)."""
    from ptycho.testing.checkpoints import check_checkpoints_under

    found = [msg for folder in dict.fromkeys(folders) if (msg := check_checkpoints_under(folder))]
    return "\n".join(found) or None
