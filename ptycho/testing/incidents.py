"""Incident files: one ready-to-file Markdown page per runtime-guardrail breach.

Each page holds what a maintainer needs to act without the CI log: the measured time against the budget,
recent history, the exact command that reruns only that test with the same options and environment, the
environment snapshot, the component the suite guards, and the escalation steps.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ptycho.atomic import atomic_path
from ptycho.testing import rerun
from ptycho.testing.environment import snapshot
from ptycho.testing.suites import component_of, suite_of

MEANING = {
    "ceiling": "stopped at its hard ceiling (the test failed)",
    "warn": "slower than its warning threshold (the test passed; investigate)",
    "incomplete": "faster than its floor: it probably skipped part of its workflow",
}


def file_incident(record: dict, gpu: bool, state, config) -> Path:
    """Write the incident page of one breach into the session's incidents folder; its path."""
    command = rerun.command(
        record["nodeid"], record["tier"], config.rootpath, rerun.options(config, state.settings), rerun.environment(gpu)
    )
    text = render(
        record,
        command=command,
        environment=snapshot(),
        history=state.history.get(record["nodeid"]),
        score=state.score,
        recorded=state.baselines.calibration_score if state.baselines else None,
    )
    return write(folder(config, state.settings), record, text)


def folder(config, settings) -> Path:
    """``--runtime-incidents DIR``, else beside ``--runtime-report``, else ``.pytest_cache/ptycho-incidents``."""
    if settings.incidents_dir:
        return settings.incidents_dir
    if settings.report_path:
        return settings.report_path.parent / "incidents"
    return Path(config.rootpath, ".pytest_cache", "ptycho-incidents")


def file_name(nodeid: str) -> str:
    """A file-system-safe, readable name for a test id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:180] + ".md"


def render(record: dict, *, command: str, environment: dict, history: list[float] | None, score, recorded) -> str:
    b = record["budget"]
    status = record["status"]
    component, meaning = component_of(record["nodeid"])
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in record["phases"].items() if k != "stopped")
    if history:
        past = ", ".join(f"{s:.2f}" for s in history) + " s (oldest first)"
    else:
        past = "no history for this test (pytest --runtime-history PATH keeps one)"
    lines = [
        f"# Runtime incident: {status} — `{record['nodeid']}`",
        "",
        f"- written: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
        f"- test: `{record['nodeid']}`",
        f"- tier: {record['tier']}",
        f"- verdict: **{status}** — {MEANING.get(status, status)}",
        f"- suite: {suite_of(record['nodeid']) or 'n/a'}",
        "",
        "## Time against budget",
        "",
        "| | seconds |",
        "|---|---:|",
        f"| measured (test call) | {record['duration']:.2f} |",
        f"| floor | {b['floor']:.2f} |",
        f"| baseline | {b['baseline']:.2f} |",
        f"| warn | {b['warn']:.2f} |",
        f"| ceiling | {b['ceiling']:.2f} |",
        "",
        f"Budget from the {b['source']}, scaled by the calibration factor {b['factor']:.2f} "
        f"(machine score today {_num(score)}, recorded {_num(recorded)}). Phases: {phases or 'n/a'}.",
        "",
        f"Last durations from the history: {past}.",
        "",
        "## Rerun just this test",
        "",
        "```bash",
        command,
        "```",
        "",
        "## Environment",
        "",
        "```json",
        json.dumps(environment, indent=2),
        "```",
        "",
        "## Component",
        "",
        f"This suite guards: {component}. A failure here usually means: {meaning}.",
        "",
        "## Escalation",
        "",
        "1. Reproduce with the command above on the same machine; run it twice (the first run may pay "
        "one-off costs such as TensorFlow tracing).",
        "2. Compare the environment above with the machine recorded in `tests/runtime_baselines.json` "
        "(package versions, CPU, thread variables, `CUDA_VISIBLE_DEVICES`); `ptycho doctor` shows today's.",
        "3. Check the component this suite guards (above) and the commits that touched it since the last "
        "green run (`git log --since=... -- <paths>`).",
        "4. File an issue with this file attached; do not re-record baselines to silence it.",
        "",
    ]
    return "\n".join(lines)


def _num(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "n/a"


def write(folder: Path, record: dict, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(record["nodeid"])
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
