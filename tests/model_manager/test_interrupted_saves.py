"""Per PR: a save killed mid-write leaves the previous archive intact, and the next save into the folder
removes the killed writer's temp file (issue 16, finding 8); live writers' and other targets' temp files
are never touched."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from archive_cases import make_valid_archive

from ptycho.archive import ARCHIVE_NAME, read_archive
from ptycho.atomic import STALE_AFTER_S, _host, remove_stale_temp_files, temp_name_pattern

pytestmark = pytest.mark.per_pr
HERE = Path(__file__).resolve().parent
# 32 MB of random float32 deflates for about a second here: a wide window to kill the writer mid-write.
BIG_WEIGHTS_BYTES = 32 << 20
WRITER = f"""
import sys
import numpy as np
sys.path.insert(0, {str(HERE)!r})
from archive_cases import VALID_PARAMS, valid_weights
from ptycho.archive import write_archive
big = np.random.default_rng(1).standard_normal({BIG_WEIGHTS_BYTES // 4}).astype(np.float32)
write_archive(sys.argv[1], "pytorch", dict(VALID_PARAMS, backend="pytorch"), valid_weights() | {{"big": big}}, {{}})
"""


def temp_files(folder: Path) -> list[Path]:
    pattern = temp_name_pattern(folder / ARCHIVE_NAME)
    return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))


def kill_a_save_midway(folder: Path) -> None:
    """Start a real saving process and SIGKILL it once its temp file holds data, before the rename."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)])
    before = set(temp_files(folder))
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and writer.poll() is None:
            fresh = [p for p in set(temp_files(folder)) - before if p.exists() and p.stat().st_size > 0]
            if fresh:
                break
            time.sleep(0.005)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL, "the writer finished before it could be killed mid-save"


def test_killed_saves_leave_the_archive_intact_and_the_next_save_cleans_their_temp_files(tmp_path):
    make_valid_archive(tmp_path, "tensorflow")
    previous = []
    for _ in range(2):  # the second killed save already removes the first one's orphan when it starts
        kill_a_save_midway(tmp_path)
        orphans = temp_files(tmp_path)
        assert len(orphans) == 1 and orphans != previous and orphans[0].stat().st_size > 0  # killed mid-write
        assert read_archive(tmp_path).backend == "tensorflow"  # the previous archive is untouched
        previous = orphans
    make_valid_archive(tmp_path, "pytorch")
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [ARCHIVE_NAME]
    assert read_archive(tmp_path).backend == "pytorch" and read_archive(tmp_path).neutral_weights()


def test_only_stale_temp_files_of_that_target_are_removed(tmp_path):
    target = tmp_path / ARCHIVE_NAME
    now = time.time()
    cases = {  # label: (file name, untouched for twice the stale age, removed)
        "live writer (this process)": (f".{ARCHIVE_NAME}.{_host()}.{os.getpid()}.abcd1234.tmp.zip", False, False),
        "other host, recent": (f".{ARCHIVE_NAME}.elsewhere.{os.getpid()}.abcd1234.tmp.zip", False, False),
        "other host, stale": (f".{ARCHIVE_NAME}.elsewhere.1.abcd1235.tmp.zip", True, True),
        "old pid-less name, recent": (f".{ARCHIVE_NAME}.abcd1234.tmp.zip", False, False),
        "old pid-less name, stale": (f".{ARCHIVE_NAME}.abcd1235.tmp.zip", True, True),
        "another target's temp": (f".history.csv.{_host()}.1.abcd1234.tmp.csv", True, False),
        "a user's file": ("wts.h5.zip.tmp.zip", True, False),
    }
    for name, aged, _ in cases.values():
        (tmp_path / name).write_bytes(b"partial")
        if aged:
            os.utime(tmp_path / name, (now - 2 * STALE_AFTER_S,) * 2)
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f".{ARCHIVE_NAME}.{_host()}.{int(exited.stdout)}.abcd1236.tmp.zip"  # its writer has exited
    dead.write_bytes(b"partial")
    removed = remove_stale_temp_files(target, now)
    assert set(removed) == {tmp_path / name for name, _, gone in cases.values() if gone} | {dead}
    assert {p.name for p in tmp_path.iterdir()} == {name for name, _, gone in cases.values() if not gone}
