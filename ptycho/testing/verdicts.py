"""Runtime verdicts of each test: its budget (marker, recorded baseline or defaults), the ceiling enforced
through pytest-timeout, and the record of where the time went (floor / warn / ceiling via ``budgets``).

The record travels in the report's ``user_properties``, so under xdist the controller receives it.
"""

from __future__ import annotations

import json
import re

import pytest

from ptycho.testing import budgets
from ptycho.testing.session import budget_key, output_key, phase_key, skipped_key
from ptycho.testing.tiers import tier_of

USER_PROPERTY = "ptycho_runtime"
CEILING_MESSAGE = "runtime ceiling reached: the test was stopped"
INCOMPLETE_MESSAGE = "finished faster than its floor: it probably skipped part of the workflow"


def baseline_id(item) -> str:
    """The node id a baseline is recorded under: pytest-repeat's ``-i-n`` suffix removed."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "__pytest_repeat_step_number" not in callspec.params:
        return item.nodeid
    return re.sub(r"(\[|-)\d+-\d+\]$", lambda m: "]" if m.group(1) == "-" else "", item.nodeid)


def budget_for(item, state) -> budgets.Budget:
    """The ``runtime_budget`` marker, else the recorded baseline, else the ini defaults; calibrated to this machine."""
    return budgets.calibrate(_recorded_budget(item, state), state.factor, state.workers)


def _recorded_budget(item, state) -> budgets.Budget:
    marker = item.get_closest_marker("runtime_budget")
    if marker is not None:
        try:
            return budgets.from_marker(marker.kwargs)
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
    recorded = state.baselines.get(baseline_id(item)) if state.baselines else None
    if recorded is not None:
        return budgets.from_baseline(recorded)
    return state.settings.defaults


def assign_budgets(items, state) -> None:
    """Stash each test's budget and stop it at its ceiling (unless it sets its own ``timeout``)."""
    for item in items:
        budget = budget_for(item, state)
        item.stash[budget_key] = budget
        if not item.get_closest_marker("timeout"):
            # func_only: a shared fixture's set-up is not charged to whichever test happens to run first
            item.add_marker(pytest.mark.timeout(budget.ceiling, func_only=True))


def observe(item, call, report) -> None:
    """Note the phase's duration (or that it was skipped) and, after the call, what the test printed."""
    phases = item.stash.setdefault(phase_key, {})
    if report.skipped:
        item.stash[skipped_key] = True
    else:
        phases[call.when] = call.duration
    if call.when == "call":
        item.stash[output_key] = "\n".join(f"--- {name} ---\n{text}" for name, text in report.sections)


def explain_ceiling(item, call, report) -> None:
    """A pytest-timeout failure becomes a ceiling verdict whose message shows the budget and the phases."""
    if not (report.failed and "Timeout" in str(report.longrepr) and "pytest-timeout" in str(report.longrepr)):
        return
    budget, phases = item.stash[budget_key], item.stash[phase_key]
    phases["stopped"] = 0.0  # pytest-timeout fired: the ceiling, whatever the phase sums say
    report.longrepr = (
        f"{CEILING_MESSAGE} at {budget.ceiling:.1f} s (budget from {budget.source}: baseline "
        f"{budget.baseline:.1f} s, warn {budget.warn:.1f} s, factor {budget.factor:.2f}); "
        f"time went: setup {phases.get('setup', 0):.2f} s, call {call.duration:.2f} s "
        f"until stopped\n{report.longrepr}"
    )


def record(item) -> dict:
    """After teardown: the test's verdict, its call duration, the time per phase and its budget."""
    budget, phases = item.stash[budget_key], item.stash[phase_key]
    total = phases.get("call", 0.0)  # the budget covers the test itself; set-up/teardown are reported apart
    if "stopped" in phases:
        status = budgets.CEILING
    elif "call" not in phases or item.stash.get(skipped_key, False):
        status = "skipped"  # nothing ran: no verdict on its time
    else:
        status = budgets.verdict(total, budget)
    return {
        "nodeid": item.nodeid,
        "baseline_id": baseline_id(item),
        "tier": tier_of(item),
        "duration": round(total, 4),
        "phases": {k: round(v, 4) for k, v in phases.items()},
        "status": status,
        "budget": budget.as_dict(),
    }


def publish(report, entry: dict) -> None:
    """Attach the record to the report (the xdist controller receives it there)."""
    report.user_properties.append((USER_PROPERTY, json.dumps(entry)))


def strict_failures(records: list[dict]) -> list[str]:
    """Strict mode (``--strict-runtime``), judged once the whole run is known: one line per test whose
    incomplete verdict fails CI (:func:`budgets.fails_strict`, with this run's own speed)."""
    speed = budgets.run_speed(records)
    failures = []
    for r in records:
        budget = budgets.Budget(**r["budget"])
        if budgets.fails_strict(r["status"], budget, r["duration"], speed):
            recorded_floor = budget.floor / budget.factor
            failures.append(
                f"{r['nodeid']}: {INCOMPLETE_MESSAGE}: {r['duration']:.2f} s < {recorded_floor:.2f} s "
                f"(recorded floor of its {budget.recorded_baseline:.2f} s baseline) x "
                f"{min(1.0, budget.factor, speed or 1.0):.2f} (fastest reading of this machine: benchmark factor "
                f"{budget.factor:.2f}, run speed {'n/a' if speed is None else f'{speed:.2f}'})"
            )
    return failures
