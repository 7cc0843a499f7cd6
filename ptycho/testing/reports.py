"""What a session reports: the header (tiers, calibration, promotions), the guardrail summary at the end,
the JSON runtime report, the runtime history, kept-artifact index and re-recorded baselines."""

from __future__ import annotations

import json

import pytest

from ptycho.atomic import atomic_path
from ptycho.testing import artifacts, budgets, trend, verdicts
from ptycho.testing import baselines as baselines_io
from ptycho.testing.calibration import FACTOR_LIMITS
from ptycho.testing.environment import machine_description, snapshot
from ptycho.testing.history import append_history, load_history
from ptycho.testing.tiers import TIERS

REPORT_THRESHOLD = 0.10  # list tests that used more than 10% of their ceiling


def header(state, selected: int) -> list[str]:
    """Which tiers ran and why, and the budget factor of this machine."""
    s = state.settings
    ran = f"only {s.only_tier}" if s.only_tier else (f"{s.tier} (cumulative)" if s.tier else "all tiers")
    counts = ", ".join(f"{t}={state.tier_counts.get(t, 0)}" for t in TIERS)
    lines = [f"ptycho harness: tier {ran}; collected {counts}; selected {selected}"]
    if s.strict:
        lines.append(
            f"ptycho harness: strict verdicts: ceiling fails, incomplete fails tests recorded at >= "
            f"{budgets.STRICT_MIN_BASELINE:g} s, warn is listed"
        )
    if state.score:
        recorded = state.baselines.calibration_score if state.baselines else None
        given = " (given, not measured)" if s.machine_score else ""
        shown = f"{recorded:.1f}" if recorded else "n/a"
        low, high = FACTOR_LIMITS
        lines.append(
            f"ptycho harness: machine score {state.score:.1f}{given} (recorded {shown}), "
            f"budget factor {state.factor:.2f} (recorded / today's score, clamped to {low:g}-{high:g})"
        )

    else:
        lines.append("ptycho harness: runtime calibration off (factor 1.00)")
    for nodeid, reason in state.promoted.items():
        lines.append(f"ptycho harness: promoted {nodeid} to this run because {reason}")
    return lines


def _worth_listing(record: dict) -> bool:
    """Heavy (over 10% of its ceiling) or not ok; an unrecorded test only when heavy."""
    heavy = record["duration"] > REPORT_THRESHOLD * record["budget"]["ceiling"]
    return heavy or record["status"] not in (budgets.OK, budgets.UNRECORDED)


def summary(tr, state) -> None:
    """The ``ptycho runtime guardrails`` section, then every file the session was asked to write."""
    records = [r for r in state.records.values() if r["status"] != "skipped"]
    breaches = [r for r in records if r["status"] in budgets.BREACHES]
    listed = [r for r in records if _worth_listing(r)]
    tr.section("ptycho runtime guardrails")
    shared = f", {state.workers} xdist workers share the machine: warn and ceiling x{state.workers}"
    tr.write_line(f"{len(records)} tests timed, factor {state.factor:.2f}{shared if state.workers > 1 else ''}; "
                  f"{len(breaches)} breach(es)")
    if listed:
        tr.write_line(f"{'status':<11} {'seconds':>8} {'floor':>7} {'base':>7} {'warn':>7} {'ceiling':>8}  test")
        for r in sorted(listed, key=lambda r: -r["duration"]):
            b = r["budget"]
            label = "investigate" if r["status"] == budgets.WARN else r["status"]
            tr.write_line(
                f"{label:<11} {r['duration']:>8.2f} {b['floor']:>7.2f} {b['baseline']:>7.2f} "
                f"{b['warn']:>7.2f} {b['ceiling']:>8.2f}  {r['nodeid']}"
            )
    env = snapshot() if breaches else None
    if env:
        tr.write_line(f"environment at breach: {json.dumps(env)}")
    for path in state.incidents:
        tr.write_line(f"incident: {path}")
    for line in state.strict_failures:
        tr.write_line(f"FAILED (strict runtime) {line}", red=True)
    _write_outputs(tr, state, records, env)


def judge_strict(session, state) -> None:
    """Strict mode: incomplete work that fails CI makes the run fail (listed in the summary)."""
    records = [r for r in state.records.values() if r["status"] != "skipped"]
    state.strict_failures = verdicts.strict_failures(records)
    if state.strict_failures and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _write_outputs(tr, state, records: list, env: dict | None) -> None:
    settings = state.settings
    kept = [
        {"nodeid": r["nodeid"], "status": r["status"], **r["artifacts"]}
        for r in state.records.values()
        if "artifacts" in r
    ]
    if kept:
        index = artifacts.write_index(settings.keep_artifacts / state.session_stamp, kept)
        tr.write_line(f"kept artifacts of {len(kept)} test(s): {index}")
    if settings.report_path:
        payload = {"factor": state.factor, "score": state.score, "tests": records, "environment": env}
        _write_json(settings.report_path, payload)
        tr.write_line(f"runtime report: {settings.report_path}")
    if settings.history_path:
        append_history(settings.history_path, {r["nodeid"]: r["duration"] for r in records}, state.factor)
        lines, _ = trend.report(load_history(settings.history_path, skip_torn=True))
        for line in lines:  # reported, not failed: `ptycho harness trend` is the gate
            tr.write_line(line)
    if settings.record:
        ran_files = {r["nodeid"].split("::")[0] for r in state.records.values()}
        kept = baselines_io.still_current(state.baselines, ran_files, tr.config.rootpath)
        recorded = baselines_io.record(
            settings.baselines_path, state.durations, machine_description(), state.score, kept
        )
        tr.write_line(
            f"recorded {len(state.durations)} runtime baselines into {settings.baselines_path} "
            f"({len(recorded.tests)} in the file)"
        )


def _write_json(path, payload) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))
