"""The committed runtime-baselines file: test id -> seconds, with the machine and its calibration score.

A corrupt file or an unknown format is a hard error with the remedy (never silently skipped); the file is
only ever rewritten by ``--record-runtime-baselines``, atomically.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ptycho.atomic import atomic_path

FORMAT_VERSION = 1


class BaselinesError(Exception):
    """The baselines file cannot be used; the message says how to fix it."""


@dataclass
class Baselines:
    tests: dict[str, float] = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    calibration_score: float | None = None
    recorded_utc: str | None = None

    def get(self, nodeid: str) -> float | None:
        return self.tests.get(nodeid)


def load(path) -> Baselines | None:
    """``None`` when the file does not exist; :class:`BaselinesError` when it is unusable."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise BaselinesError(
            f"runtime baselines file {path} is corrupt ({exc}); restore it from git "
            "(git checkout -- <file>) or re-record with --record-runtime-baselines"
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise BaselinesError(
            f"runtime baselines file {path} has no format_version; re-record it with --record-runtime-baselines"
        )
    if data["format_version"] != FORMAT_VERSION:
        newer = isinstance(data["format_version"], int) and data["format_version"] > FORMAT_VERSION
        hint = "upgrade ptychopinn" if newer else "re-record it with --record-runtime-baselines"
        raise BaselinesError(
            f"runtime baselines file {path} has format_version {data['format_version']!r}, this "
            f"version reads {FORMAT_VERSION}; {hint}"
        )
    tests = data.get("tests")
    if not isinstance(tests, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in tests.values()):
        raise BaselinesError(
            f"runtime baselines file {path}: 'tests' must map test ids to seconds >= 0; re-record "
            "it with --record-runtime-baselines"
        )
    return Baselines(
        {k: float(v) for k, v in tests.items()},
        data.get("machine", {}),
        data.get("calibration_score"),
        data.get("recorded_utc"),
    )


def still_current(keep: Baselines | None, ran_files: set[str], root: Path) -> dict[str, float]:
    """The recorded entries a new recording keeps: those of test files this session did not run (a partial
    re-record leaves them alone), except files that no longer exist. An entry of a file that did run and was
    not measured again (a test removed, renamed or now skipped) is dropped with the stale rest."""
    if keep is None:
        return {}
    return {
        nodeid: seconds
        for nodeid, seconds in keep.tests.items()
        if (file := nodeid.split("::")[0]) not in ran_files and (root / file).exists()
    }


def record(
    path, measurements: dict[str, list[float]], machine: dict, score: float | None, kept: dict[str, float]
) -> Baselines:
    """Write the median of each test's measurements, besides the ``kept`` entries, atomically."""
    tests = dict(kept)
    tests.update({nodeid: round(statistics.median(values), 4) for nodeid, values in measurements.items() if values})
    baselines = Baselines(dict(sorted(tests.items())), machine, score, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    payload = {
        "format_version": FORMAT_VERSION,
        "recorded_utc": baselines.recorded_utc,
        "machine": machine,
        "calibration_score": score,
        "tests": baselines.tests,
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
    return baselines
