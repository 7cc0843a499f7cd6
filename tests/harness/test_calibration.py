"""Budgets calibrate both ways: the same recorded numbers give the right verdicts on machines scored 0.5x,
1x, 2x and 4x as slow as the recorded one (the score is injected with ``--machine-score``)."""

import json

import pytest

from ptycho.testing import budgets

CONFTEST = 'pytest_plugins = ["ptycho.testing.plugin"]\n'
RECORDED_SCORE = 100.0
RECORDED = 0.5  # s; recorded thresholds: floor 0.28, baseline 0.5, warn 0.83, ceiling 1.25

# Each test does the work of an honest run on a machine k times as slow (sleeping 5% under the mark, so
# scheduler overshoot lands nearer the middle of the band), skips its work, or hangs.
VERDICT_TESTS = f"""
    import time, pytest
    B = pytest.mark.runtime_budget(baseline={RECORDED})
    @B
    @pytest.mark.parametrize("k", [0.5, 1, 2, 4])
    def test_honest(k): time.sleep({RECORDED} * k * 0.95)
    @B
    def test_skips_work(): pass
    @B
    def test_hangs(): time.sleep(30)
"""

# machine factor -> verdict of each test: the same durations, judged by the calibrated thresholds
EXPECTED = {
    0.5: {"honest[0.5]": "ok", "honest[1]": "drift", "honest[2]": "warn", "honest[4]": "ceiling"},
    1: {"honest[0.5]": "incomplete", "honest[1]": "ok", "honest[2]": "warn", "honest[4]": "ceiling"},
    2: {"honest[0.5]": "incomplete", "honest[1]": "incomplete", "honest[2]": "ok", "honest[4]": "warn"},
    4: {"honest[0.5]": "incomplete", "honest[1]": "incomplete", "honest[2]": "incomplete", "honest[4]": "ok"},
}


@pytest.fixture
def calibrated_project(pytester):
    """Calibration on, recorded on a machine scored RECORDED_SCORE."""
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "runtime_baselines.json").write_text(
        json.dumps({"format_version": 1, "machine": {}, "calibration_score": RECORDED_SCORE, "tests": {}})
    )
    return pytester


@pytest.mark.parametrize("factor", [0.5, 1, 2, 4])
def test_calibrate_maps_recorded_thresholds_both_ways(factor):
    recorded = budgets.from_baseline(50)  # warn and ceiling at the absolute 60/90 s caps
    b = budgets.calibrate(recorded, factor)
    assert (b.floor, b.baseline) == (pytest.approx(recorded.floor * factor), pytest.approx(50 * factor))
    slack = max(factor, 1)  # slower: the caps scale too; faster: warn and ceiling never drop
    assert (b.warn, b.ceiling) == (pytest.approx(60 * slack), pytest.approx(90 * slack))
    assert b.floor <= b.baseline <= b.warn <= b.ceiling and b.recorded_baseline == pytest.approx(50)


# Real sleeps up to the 4x ceiling (24 s in all): nightly, and per PR whenever the harness changes.
@pytest.mark.nightly
@pytest.mark.promote_on("ptycho/testing/**", "tests/harness/**", "conftest.py")
@pytest.mark.parametrize("factor", [0.5, 1, 2, 4])
def test_verdicts_on_machines_scored_half_to_four_times_as_slow(calibrated_project, factor):
    calibrated_project.makepyfile(test_v=VERDICT_TESTS)
    path = calibrated_project.path / "report.json"
    result = calibrated_project.runpytest_subprocess(
        f"--machine-score={RECORDED_SCORE / factor}", f"--runtime-report={path}"
    )
    result.stdout.fnmatch_lines([f"*machine score * (given, not measured) (recorded 100.0), budget factor {factor:.2f}*"])
    data = json.loads(path.read_text())
    verdicts = {r["nodeid"].split("::test_")[-1]: r["status"] for r in data["tests"]}
    assert verdicts == {**EXPECTED[factor], "skips_work": "incomplete", "hangs": "ceiling"}
    slack = max(factor, 1)
    want = {"floor": RECORDED * 20 / 36 * factor, "baseline": RECORDED * factor, "warn": RECORDED * 60 / 36 * slack,
            "ceiling": RECORDED * 90 / 36 * slack, "source": "marker", "factor": factor}
    assert all(r["budget"] == pytest.approx(want) for r in data["tests"])
    ceilings = 2 if factor <= 1 else 1  # the hang, and at 1x or faster the 4x-slow run
    result.assert_outcomes(passed=len(verdicts) - ceilings, failed=ceilings)


def test_machine_score_from_the_environment(calibrated_project, monkeypatch):
    calibrated_project.makepyfile(test_e="def test_a(): pass")
    monkeypatch.setenv("PTYCHO_MACHINE_SCORE", "400")
    result = calibrated_project.runpytest_subprocess("--collect-only")
    result.stdout.fnmatch_lines(["*machine score 400.0 (given, not measured)*budget factor 0.25*"])
    monkeypatch.setenv("PTYCHO_MACHINE_SCORE", "fast")
    result = calibrated_project.runpytest_subprocess("--collect-only")
    result.stderr.fnmatch_lines(["*environment PTYCHO_MACHINE_SCORE: 'fast' is not a number*"])


def test_machine_score_times_only_after_the_warm_up(monkeypatch):
    """A start at 60% speed (measured at pytest's configure: 110-130 against 205-225 right after) must not
    become the score: timing starts after WARM_UP_SECONDS of untimed runs."""
    from ptycho.testing import calibration

    clock = {"now": 0.0}

    def workload():  # 20 ms per run during the first 0.2 s (a single warm-up run would time only these), then 5 ms
        clock["now"] += 0.02 if clock["now"] < 0.2 else 0.005
        return 0.0

    monkeypatch.setattr(calibration, "_workload", workload)
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: clock["now"])
    assert calibration.machine_score() == pytest.approx(200.0)  # a single warm-up run scored 50
