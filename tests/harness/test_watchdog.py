"""The session watchdog (issue 23): a hang outside a test body (a session fixture's set-up, a teardown) or
in C code is caught within its deadline plus a few seconds, named by phase and fixture, with the runtime
report and an incident written, and the run ends with exit 8. Before, only the test body had a ceiling
(pytest-timeout, func_only) and such hangs ran until the CI job's own limit."""

import json
import time

import pytest

from ptycho.testing.watchdog import EXIT_STATUS

pytestmark = pytest.mark.per_pr
CONFTEST = 'pytest_plugins = ["ptycho.testing.plugin"]\n'
DEADLINE = 3  # seconds given to each fixture and teardown in these sessions


@pytest.fixture
def project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider --no-runtime-calibration\n")
    return pytester


HANGS = {
    "session fixture": ("""
import time, pytest
@pytest.fixture(scope="session")
def trained():
    time.sleep(600)
def test_fast(): pass
def test_uses(trained): pass
""", "set-up of fixture 'trained' (session scope"),
    "teardown": ("""
import time, pytest
@pytest.fixture(scope="module")
def server():
    yield 1
    time.sleep(600)
def test_uses(server): pass
""", "teardown of test_hang.py::test_uses and the session's fixtures"),
    "blocking C call without the GIL": ("""
import os, pytest
@pytest.fixture
def message():
    read_end, _ = os.pipe()
    return os.read(read_end, 1)  # nobody writes: blocks in C, the GIL released
def test_reads(message): pass
""", "set-up of fixture 'message' (function scope, for test_hang.py::test_reads)"),
}


@pytest.mark.parametrize("case", HANGS)
def test_a_hang_anywhere_ends_the_run_with_an_incident_and_the_report(project, case):
    source, phase = HANGS[case]
    project.makepyfile(test_hang=source)
    incidents, report = project.path / "incidents", project.path / "report.json"
    start = time.monotonic()
    result = project.runpytest_subprocess(f"--watchdog-fixture={DEADLINE}", f"--runtime-incidents={incidents}",
                                          f"--runtime-report={report}", timeout=120)
    took = time.monotonic() - start
    assert result.ret == EXIT_STATUS, result.stderr.str()[-2000:]
    assert took < DEADLINE + 15, f"caught after {took:.0f} s (deadline {DEADLINE} s)"
    assert phase in result.stderr.str(), result.stderr.str()[-2000:]
    (incident,) = incidents.glob("watchdog-*.txt")
    assert phase in incident.read_text() and 'File "' in incident.read_text()  # every thread's stack
    hang = json.loads(report.read_text())["hang"]
    assert phase in hang["phase"] and hang["seconds"] >= hang["deadline"]


def test_off_with_zero(project):
    project.makepyfile(test_ok="def test_a(): pass")
    assert project.runpytest_subprocess("--watchdog-fixture=0").ret == 0


@pytest.mark.nightly
def test_a_hang_holding_the_gil_is_ended_by_the_c_level_backstop(project):
    """Code that never releases the GIL starves the watchdog thread; faulthandler's C thread prints every
    stack and exits (status 1) GRACE seconds after the deadline."""
    from ptycho.testing.watchdog import GRACE

    project.makepyfile(test_hang="""
import re, pytest
@pytest.fixture
def parsed():
    return re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking inside the C regex engine
def test_parses(parsed): pass
""")
    start = time.monotonic()
    result = project.runpytest_subprocess(f"--watchdog-fixture={DEADLINE}", timeout=180)
    took = time.monotonic() - start
    assert result.ret == 1 and "Timeout" in result.stderr.str(), result.stderr.str()[-2000:]
    assert took < DEADLINE + GRACE + 15, f"ended after {took:.0f} s"
