"""Atomic file writes: write to a temp file in the target folder, then rename over the target.

A writer killed before the rename (SIGKILL, power cut) leaves its temp file behind. Temp names are
``.{target}.{host}.{pid}.{random}.tmp{suffix}``, so the next atomic write of the same target removes the
stale ones: those whose writer is gone (same host, that pid no longer running), and any of that target's
temp files — those of other hosts and the pid-less ``.{target}.{random}.tmp{suffix}`` of earlier versions
included — untouched for :data:`STALE_AFTER_S`. Only names of exactly that pattern for that target are
ever removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# A live writer touches its temp file continuously and renames it within seconds of the last write; ten
# minutes without a change means nobody is writing it (also on a shared folder another host writes to).
STALE_AFTER_S = 600.0
_RANDOM = r"[a-z0-9_]{8}"  # tempfile's name characters


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64] or "host"


def temp_name_pattern(path: Path) -> re.Pattern:
    """Temp names of ``path``'s writers: groups ``host`` and ``pid`` (both ``None`` in pid-less names)."""
    return re.compile(
        rf"\.{re.escape(path.name)}\.(?:(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.)?{_RANDOM}\.tmp{re.escape(path.suffix)}"
    )


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a pid we cannot ask about: assume a live writer
    return True


def remove_stale_temp_files(path, now: float | None = None) -> list[Path]:
    """Remove the temp files that killed writers of ``path`` left (module docstring); return them."""
    path = Path(path)
    pattern, host = temp_name_pattern(path), _host()
    now = time.time() if now is None else now
    removed = []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                writer_gone = match["host"] == host and not _pid_running(int(match["pid"]))
                if writer_gone or now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on failure it vanishes.

    Readers never see a half-written file, and a failed write leaves any previous file untouched; temp
    files of earlier writers that were killed are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_host()}.{os.getpid()}.", suffix=".tmp" + path.suffix,
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        # a write that fails (disk full, quota, file size limit) names no file: say which one, and that
        # the previous one is intact
        raise OSError(exc.errno, f"{exc.strerror} while writing {path} (nothing was changed there)") from exc
    finally:
        tmp.unlink(missing_ok=True)
