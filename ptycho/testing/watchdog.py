"""The session watchdog: every phase of a run has a deadline, not only the test body.

pytest-timeout (``func_only``) stops a test's call, by a signal that Python code must return to take; a
hang in collection, in a fixture's set-up or teardown at any scope, or inside C code ran until the CI job's
own limit and lost the runtime report. Here each phase (collection; each fixture's set-up, named; each
test's teardown, where fixtures are finalised; each call) enters a deadline:

- collection: ``--watchdog-collection`` seconds (default 600) × the calibration factor;
- a fixture's set-up, a teardown: ``--watchdog-fixture`` seconds (default 900) × the factor;
- a call: the test's ceiling + :data:`CALL_GRACE` (pytest-timeout normally stops it first).

A daemon thread checks the deadline every half second; past it, it writes an incident naming the phase
and every thread's stack (``faulthandler``), writes the runtime report of the tests recorded so far with
the hang, and ends the process with :data:`EXIT_STATUS`. A hang in C code that releases the GIL (a
blocking read, a sleep, a lock) is caught that way. Code that holds the GIL starves that thread, so
``faulthandler.dump_traceback_later`` (a C thread) is armed :data:`GRACE` seconds later as the backstop:
it prints every stack and exits with status 1. Under xdist every worker watches itself (the controller
reports the lost worker). ``--watchdog-fixture 0`` turns the watchdog off.
"""

from __future__ import annotations

import faulthandler
import io
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

EXIT_STATUS = 8  # beyond pytest's own exit codes (0-5): "the watchdog ended the run"
GRACE = 30.0  # after the watchdog's deadline, faulthandler's C-level backstop
CALL_GRACE = 30.0  # after a test's ceiling, in case pytest-timeout's signal cannot get through
POLL = 0.5


class Watchdog:
    """A stack of phases with deadlines, watched by a daemon thread."""

    def __init__(self, on_hang, stderr):
        self._stderr = stderr  # the terminal's stderr, not pytest's capture of it
        self._phases: list[tuple[str, float, float]] = []  # (phase, started, deadline)
        self._lock = threading.Lock()
        self._on_hang = on_hang
        self._stopped = threading.Event()
        threading.Thread(target=self._watch, name="ptycho-watchdog", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        faulthandler.cancel_dump_traceback_later()

    def enter(self, phase: str, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._phases.append((phase, now, now + seconds))
        self._arm_backstop()

    def leave(self) -> None:
        with self._lock:
            if self._phases:
                self._phases.pop()
        self._arm_backstop()

    def _arm_backstop(self) -> None:
        faulthandler.cancel_dump_traceback_later()
        with self._lock:
            deadline = min((d for _, _, d in self._phases), default=None)
        if deadline is not None:
            faulthandler.dump_traceback_later(max(deadline - time.monotonic(), 0) + GRACE, exit=True,
                                              file=self._stderr)

    def _watch(self) -> None:
        while not self._stopped.wait(POLL):
            with self._lock:
                overdue = [(p, s, d) for p, s, d in self._phases if time.monotonic() > d]
            if overdue:
                phase, started, deadline = overdue[0]
                self._on_hang(phase, time.monotonic() - started, deadline - started)
                os._exit(EXIT_STATUS)


def _terminal_stderr(config):
    """A file on the terminal's stderr: pytest's capture holds fd 2 while tests run, and what the backstop
    writes there is lost when it ends the process (``targetfd_save``: pytest's duplicate of the real fd)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    fd = getattr(getattr(getattr(capture, "_global_capturing", None), "err", None), "targetfd_save", 2)
    return os.fdopen(os.dup(fd), "w")


def _stacks() -> str:
    with tempfile.TemporaryFile("w+") as handle:  # faulthandler writes to a real file descriptor
        faulthandler.dump_traceback(handle, all_threads=True)
        handle.seek(0)
        return handle.read()


class WatchdogPlugin:
    """The hooks that enter and leave the phases, and what happens at a hang."""

    def __init__(self, config, state, fixture_seconds: float, collection_seconds: float):
        self.config, self.state = config, state
        self.fixture_seconds = fixture_seconds * max(state.factor, 1.0)
        self.collection_seconds = collection_seconds * max(state.factor, 1.0)
        self.dog = Watchdog(self.hang, _terminal_stderr(config))

    def _phase(self, phase: str, seconds: float):
        self.dog.enter(phase, seconds)
        try:
            yield
        finally:
            self.dog.leave()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection(self, session):
        yield from self._phase("collection", self.collection_seconds)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        phase = f"set-up of fixture '{fixturedef.argname}' ({fixturedef.scope} scope, for {request.node.nodeid})"
        yield from self._phase(phase, self.fixture_seconds)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item, nextitem):
        last = " and the session's fixtures" if nextitem is None else ""
        yield from self._phase(f"teardown of {item.nodeid}{last}", self.fixture_seconds)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        from ptycho.testing.session import budget_key

        budget = item.stash.get(budget_key, None)
        ceiling = budget.ceiling if budget is not None else self.fixture_seconds
        yield from self._phase(f"call of {item.nodeid}", ceiling + CALL_GRACE)

    def pytest_unconfigure(self, config):
        self.dog.stop()

    def hang(self, phase: str, elapsed: float, limit: float) -> None:
        """Incident, report, a line on stderr: everything the run would otherwise lose."""
        settings = self.state.settings
        head = (f"ptycho watchdog: {phase} has run {elapsed:.0f} s, past its {limit:.0f} s deadline; ending the "
                f"run (exit {EXIT_STATUS}). Stacks of every thread follow.")
        text = f"{head}\n\n{_stacks()}"
        capture = self.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:  # the run ends here: give the terminal back to say why
            capture.suspend_global_capture(in_=False)
        print(f"\n{head}", file=sys.stderr, flush=True)
        if settings.incidents_dir:
            path = Path(settings.incidents_dir) / f"watchdog-{os.getpid()}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"incident: {path}", file=sys.stderr, flush=True)
        if settings.report_path:
            payload = {"factor": self.state.factor, "score": self.state.score,
                       "tests": list(self.state.records.values()),
                       "hang": {"phase": phase, "seconds": elapsed, "deadline": limit, "pid": os.getpid()}}
            buffer = io.StringIO()
            json.dump(payload, buffer, indent=1, default=str)
            Path(settings.report_path).parent.mkdir(parents=True, exist_ok=True)
            Path(settings.report_path).write_text(buffer.getvalue())


def start(config, state) -> None:
    """Register the watchdog unless ``--watchdog-fixture 0``."""
    fixture_seconds = float(config.getoption("ptycho_watchdog_fixture"))
    if fixture_seconds <= 0:
        return
    plugin = WatchdogPlugin(config, state, fixture_seconds, float(config.getoption("ptycho_watchdog_collection")))
    config.pluginmanager.register(plugin, "ptycho-watchdog")
