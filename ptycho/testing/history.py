"""The runtime-history JSONL (``pytest --runtime-history PATH``), defined once: the plugin appends one
line per session, ``ptycho harness plot`` and incident files read it back.

Each line: ``{"utc": ISO time, "factor": budget factor, "tests": {nodeid: seconds}, "median": seconds}``.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

RECENT = 5  # durations an incident file shows per test


def append_history(path: Path, durations: dict[str, float], factor: float) -> None:
    """Append one session: each timed test's duration (test id -> seconds) and the budget factor."""
    line = {
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "factor": factor,
        "tests": durations,
        "median": statistics.median(durations.values()) if durations else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(line) + "\n")


def load_history(path: Path, skip_torn: bool = False) -> list[dict]:
    """The sessions, oldest first. A line that is not JSON is an error naming it, or skipped with
    ``skip_torn`` (a run killed while writing must not stop an incident file from being written)."""
    if not path.is_file():
        raise FileNotFoundError(f"runtime history not found: {path} (write one with pytest --runtime-history PATH)")
    sessions = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            sessions.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if not skip_torn:
                raise ValueError(f"{path}:{number}: not a JSON line ({exc})") from None
    return sessions


def recent_durations(path: Path | None, last: int = RECENT) -> dict[str, list[float]]:
    """Test id -> its ``last`` durations (oldest first); empty without a history file."""
    if path is None or not path.is_file():
        return {}
    durations: dict[str, list[float]] = {}
    for session in load_history(path, skip_torn=True):
        for nodeid, seconds in session.get("tests", {}).items():
            durations.setdefault(nodeid, []).append(seconds)
    return {k: v[-last:] for k, v in durations.items()}
