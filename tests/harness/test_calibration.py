"""Budgets calibrate both ways, within the bounded range: the same recorded numbers give the right verdicts
on machines scored 0.5x, 1x, 2x and 4x as slow as the recorded one (the score is injected with
``--machine-score``); the 4x machine is judged at the 2x clamp, so its ceilings stay at 2x the recorded."""

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
    # clamped to 2: the 4x machine's honest run reads "warn", not "ok" (its budgets never stretch past 2x)
    4: {"honest[0.5]": "incomplete", "honest[1]": "incomplete", "honest[2]": "ok", "honest[4]": "warn"},
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


@pytest.mark.parametrize("factor", [0.5, 1, 2])
def test_calibrate_maps_recorded_thresholds_both_ways(factor):
    recorded = budgets.from_baseline(50)  # warn and ceiling at the absolute 60/90 s caps
    b = budgets.calibrate(recorded, factor)
    assert (b.floor, b.baseline) == (pytest.approx(recorded.floor * factor), pytest.approx(50 * factor))
    slack = max(factor, 1)  # slower: the caps scale too; faster: warn and ceiling never drop
    assert (b.warn, b.ceiling) == (pytest.approx(60 * slack), pytest.approx(90 * slack))
    assert b.floor <= b.baseline <= b.warn <= b.ceiling and b.recorded_baseline == pytest.approx(50)


@pytest.mark.parametrize(("today", "factor"), [(1000.0, 0.5), (400.0, 0.5), (200.0, 1.0), (50.0, 2.0), (1.0, 2.0)])
def test_a_90_s_ceiling_is_90_s_at_factor_one_or_faster_and_at_most_180_s(today, factor):
    """The rule of docs/harness.md: the calibration stretches at most 2x and shrinks at most 2x, so the seed
    profile's 60/90 s are absolute at factor <= 1 and at most 120/180 s on any machine, and a floor never
    drops below half its recorded value."""
    from ptycho.testing.calibration import scale_factor

    assert scale_factor(200.0, today) == pytest.approx(factor)
    b = budgets.calibrate(budgets.default_budget(), scale_factor(200.0, today))
    assert (b.warn, b.ceiling) == (pytest.approx(60 * max(factor, 1)), pytest.approx(90 * max(factor, 1)))
    assert b.ceiling <= 180 and b.warn <= 120 and b.floor >= 20 * 0.5


# Real sleeps up to the 2x ceiling (about 20 s in all): nightly, and per PR whenever the harness changes.
@pytest.mark.nightly
@pytest.mark.promote_on("ptycho/testing/**", "tests/harness/**", "conftest.py")
@pytest.mark.parametrize("factor", [0.5, 1, 2, 4])
def test_verdicts_on_machines_scored_half_to_four_times_as_slow(calibrated_project, factor):
    calibrated_project.makepyfile(test_v=VERDICT_TESTS)
    path = calibrated_project.path / "report.json"
    result = calibrated_project.runpytest_subprocess(
        f"--machine-score={RECORDED_SCORE / factor}", f"--runtime-report={path}"
    )
    applied = min(factor, 2)  # the clamp
    result.stdout.fnmatch_lines([f"*machine score * (given, not measured) (recorded 100.0), budget factor {applied:.2f}*"])
    data = json.loads(path.read_text())
    verdicts = {r["nodeid"].split("::test_")[-1]: r["status"] for r in data["tests"]}
    assert verdicts == {**EXPECTED[factor], "skips_work": "incomplete", "hangs": "ceiling"}
    slack = max(applied, 1)
    want = {"floor": RECORDED * 20 / 36 * applied, "baseline": RECORDED * applied, "warn": RECORDED * 60 / 36 * slack,
            "ceiling": RECORDED * 90 / 36 * slack, "source": "marker", "factor": applied}
    assert all(r["budget"] == pytest.approx(want) for r in data["tests"])
    ceilings = 2 if factor <= 1 else 1  # the hang, and at 1x or faster the 4x-slow run
    result.assert_outcomes(passed=len(verdicts) - ceilings, failed=ceilings)


def test_machine_score_from_the_environment(calibrated_project, monkeypatch):
    calibrated_project.makepyfile(test_e="def test_a(): pass")
    monkeypatch.setenv("PTYCHO_MACHINE_SCORE", "400")
    result = calibrated_project.runpytest_subprocess("--collect-only")
    result.stdout.fnmatch_lines(["*machine score 400.0 (given, not measured)*budget factor 0.50*"])
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


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_xdist_workers_stretch_warn_and_ceiling_not_floor(workers):
    """W workers on one machine: each test gets about 1/W of what its budget was recorded on (measured: the
    PyTorch integration workflow, 89 s alone, passed 180 s beside another engine test under -n 2)."""
    recorded = budgets.from_baseline(36)
    b = budgets.calibrate(recorded, 1.5, workers)
    assert (b.warn, b.ceiling) == (pytest.approx(60 * 1.5 * workers), pytest.approx(90 * 1.5 * workers))
    assert (b.floor, b.baseline) == (pytest.approx(recorded.floor * 1.5), pytest.approx(36 * 1.5))


def test_an_xdist_session_says_so_and_workers_judge_with_the_stretch(calibrated_project):
    calibrated_project.makepyfile(test_x="""
        import pytest
        @pytest.mark.runtime_budget(baseline=0.5)
        def test_a(): pass
    """)
    path = calibrated_project.path / "report.json"
    result = calibrated_project.runpytest_subprocess(
        f"--machine-score={RECORDED_SCORE}", f"--runtime-report={path}", "-n", "2"
    )
    result.stdout.fnmatch_lines(["*2 xdist workers share the machine: warn and ceiling x2*"])
    budget = json.loads(path.read_text())["tests"][0]["budget"]
    assert (budget["warn"], budget["ceiling"]) == (pytest.approx(0.5 * 60 / 36 * 2), pytest.approx(0.5 * 90 / 36 * 2))
