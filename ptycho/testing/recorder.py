"""Gathers each test's runtime record as its teardown report arrives (in the xdist controller too) and
files an incident for every breach. Registered per session, so its state lives in the stash."""

from __future__ import annotations

import json

from ptycho.testing import budgets, incidents
from ptycho.testing.verdicts import USER_PROPERTY


class Recorder:
    def __init__(self, state, config):
        self.state = state
        self.config = config

    def pytest_runtest_logreport(self, report):  # runs in the controller under xdist too
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                self._take(json.loads(value), report)

    def _take(self, record: dict, report) -> None:
        state = self.state
        if record["status"] != "skipped":  # a skipped test has no duration worth recording
            state.durations.setdefault(record["baseline_id"], []).append(record["duration"])
        state.records[record["nodeid"]] = record
        if record["status"] in budgets.BREACHES:
            gpu = "gpu" in report.keywords
            state.incidents.append(incidents.file_incident(record, gpu, state, self.config))
