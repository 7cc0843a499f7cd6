"""One session's state: settings, recorded baselines and the machine's calibration, made once at start
(under xdist: once in the controller, handed to the workers) and kept only in the pytest stash."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import pytest

from ptycho.testing import baselines as baselines_io
from ptycho.testing import budgets
from ptycho.testing.calibration import machine_score, scale_factor
from ptycho.testing.history import recent_durations
from ptycho.testing.settings import Settings


@dataclass
class SessionState:
    settings: Settings
    baselines: baselines_io.Baselines | None
    score: float | None
    factor: float
    tier_counts: dict = field(default_factory=dict)
    promoted: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)
    incidents: list = field(default_factory=list)
    strict_failures: list = field(default_factory=list)  # lines, filled at session end in strict mode
    history: dict = field(default_factory=dict)
    session_stamp: str = ""
    workers: int = 1  # pytest-xdist workers sharing the machine (budgets.calibrate)


settings_key = pytest.StashKey[Settings]()
state_key = pytest.StashKey[SessionState]()
budget_key = pytest.StashKey[budgets.Budget]()
phase_key = pytest.StashKey[dict]()
skipped_key = pytest.StashKey[bool]()
output_key = pytest.StashKey[str]()


READINGS = 3


def reading() -> float:
    """Today's machine score, read at session start: where every later session reads it too (a process that
    has imported torch and TensorFlow scores NumPy about 1.4x faster: 296-312 against 205-225). The median of
    :data:`READINGS` readings (each best-of-5 after a warm-up), so one moment of a busy machine does not set
    the whole session's budgets; recording stores the same median."""
    return statistics.median(machine_score() for _ in range(READINGS))


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _xdist_workers(config) -> int:
    """The controller's ``-n``: a number, or 1 without xdist ('auto'/'logical' are resolved only for
    the workers, which read their own ``workercount``)."""
    value = getattr(config.option, "numprocesses", None)
    return value if isinstance(value, int) and value > 0 else 1


def start(config, settings: Settings) -> SessionState:
    """Load the baselines (a corrupt file is a usage error), calibrate, and stash the new state."""
    try:
        recorded = baselines_io.load(settings.baselines_path)
    except baselines_io.BaselinesError as exc:
        raise pytest.UsageError(str(exc)) from None
    if is_worker(config):
        score, factor = config.workerinput.get("ptycho_score"), config.workerinput.get("ptycho_factor", 1.0)
        stamp = config.workerinput.get("ptycho_stamp", "")
    else:
        score = (settings.machine_score or reading()) if settings.calibrate or settings.record else None
        factor = scale_factor(recorded.calibration_score if recorded else None, score) if settings.calibrate else 1.0
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    config.stash[settings_key] = settings
    workers = int(config.workerinput.get("workercount", 1)) if is_worker(config) else _xdist_workers(config)
    state = SessionState(settings, recorded, score, factor, session_stamp=stamp, workers=max(workers, 1))
    state.history = recent_durations(settings.history_path)
    config.stash[state_key] = state
    return state


def hand_to_worker(node) -> None:
    """xdist controller -> worker: one calibration and one session stamp for the whole session."""
    state = node.config.stash[state_key]
    node.workerinput["ptycho_score"] = state.score
    node.workerinput["ptycho_factor"] = state.factor
    node.workerinput["ptycho_stamp"] = state.session_stamp
