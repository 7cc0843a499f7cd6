"""The harness plugin tested the way pytest plugins are: pytester runs real pytest subprocesses."""

import json

import pytest

from ptycho.testing import budgets
from ptycho.testing.verdicts import CEILING_MESSAGE, INCOMPLETE_MESSAGE

CONFTEST = 'pytest_plugins = ["ptycho.testing.plugin"]\n'


@pytest.fixture
def project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider --no-runtime-calibration\n")
    return pytester


def report(pytester, *args, name="report.json"):
    path = pytester.path / name
    result = pytester.runpytest_subprocess(f"--runtime-report={path}", *args)
    return result, json.loads(path.read_text()) if path.exists() else None


def statuses(data):
    return {r["nodeid"].split("::")[-1]: r["status"] for r in data["tests"]}


def test_each_status(project):
    project.makepyfile(test_s="""
        import time, pytest
        B = pytest.mark.runtime_budget(baseline=0.4)   # floor 0.22, warn 0.67, ceiling 1.0
        @B
        def test_ok(): time.sleep(0.4)
        @B
        def test_drift(): time.sleep(0.5)
        @B
        def test_warn(): time.sleep(0.75)
        @B
        def test_incomplete(): pass
        @B
        def test_ceiling(): time.sleep(5)
    """)
    result, data = report(project)
    assert statuses(data) == {"test_ok": "ok", "test_drift": "drift", "test_warn": "warn",
                              "test_incomplete": "incomplete", "test_ceiling": "ceiling"}
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([f"*{CEILING_MESSAGE} at 1.0 s*", "*investigate*test_warn*", "*environment at breach*"])


def test_strict_runtime_fails_incomplete_work_of_tests_recorded_at_5_s_or_more(project):
    project.makepyfile(test_s="""
        import time, pytest
        @pytest.mark.runtime_budget(baseline=2)    # floor 1.1 s: too short to fail on
        def test_short(): pass
        @pytest.mark.runtime_budget(baseline=6)    # floor 3.3 s
        def test_long(): pass
        @pytest.mark.runtime_budget(baseline=0.3)  # warn 0.5 s, ceiling 0.75 s
        def test_slow(): time.sleep(0.6)
    """)
    result, data = report(project, "--strict-runtime")
    assert statuses(data) == {"test_short": "incomplete", "test_long": "incomplete", "test_slow": "warn"}
    result.assert_outcomes(passed=3)  # judged once the run is known (its own speed): the session fails
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*strict verdicts: ceiling fails, incomplete fails tests recorded at >= 5 s*",
                                 "*investigate*test_slow*",
                                 f"FAILED (strict runtime) test_s.py::test_long: {INCOMPLETE_MESSAGE}: 0.00 s "
                                 "< 3.33 s (recorded floor of its 6.00 s baseline) x 1.00*run speed n/a*"])
    assert "test_short:" not in result.stdout.str()
    incidents = {p.name for p in (project.path / "incidents").iterdir()}
    assert incidents == {f"test_s.py_test_{name}.md" for name in ("short", "long", "slow")}
    lenient = project.runpytest_subprocess()  # without strict mode incomplete work is flagged, never failed
    lenient.assert_outcomes(passed=3)


def test_strict_rule_reads_the_recorded_baseline_on_every_machine():
    long, short = budgets.from_marker({"baseline": 6}), budgets.from_marker({"baseline": 4})
    fast = budgets.calibrate(long, 0.5)  # 3 s here, recorded 6 s: floor 1.67 s
    assert budgets.fails_strict(budgets.INCOMPLETE, fast, 1.0)
    assert not budgets.fails_strict(budgets.INCOMPLETE, budgets.calibrate(short, 2), 1.0)  # recorded 4 s
    assert not budgets.fails_strict(budgets.WARN, long, 1.0)


def test_strict_failure_ignores_a_slow_machine_reading():
    """Read as 2x slower, the floor doubles (6.67 s for a 6 s baseline): 5 s is listed as incomplete, but
    fails only below the unscaled floor (3.33 s), so a low benchmark reading cannot fail an honest run."""
    slow = budgets.calibrate(budgets.from_marker({"baseline": 6}), 2)
    assert budgets.verdict(5.0, slow) == budgets.INCOMPLETE
    assert not budgets.fails_strict(budgets.INCOMPLETE, slow, 5.0)
    assert budgets.fails_strict(budgets.INCOMPLETE, slow, 3.0)


def test_strict_judgement_uses_the_run_s_own_speed(project):
    """Twelve tests recorded at 10 s run in 0.1 s (a machine 100x faster on this workload): honest, while
    the one that did nothing (0 s) is still missed work and fails the session."""
    project.makepyfile(test_fast="""
        import time, pytest
        @pytest.mark.runtime_budget(baseline=10)
        @pytest.mark.parametrize("i", range(12))
        def test_honest(i): time.sleep(0.1)
        @pytest.mark.runtime_budget(baseline=10)
        def test_did_nothing(): pass
    """)
    result, data = report(project, "--strict-runtime")
    assert set(statuses(data).values()) == {"incomplete"}  # each alone reads as skipped work
    assert result.ret == 1
    failed = [line for line in result.stdout.lines if line.startswith("FAILED (strict runtime)")]
    assert len(failed) == 1 and "test_did_nothing" in failed[0] and "run speed 0.01" in failed[0]


def run_records(speed_of_each: list[float], recorded: float = 10.0) -> list[dict]:
    budget = budgets.from_baseline(recorded).as_dict()
    return [{"status": budgets.OK, "duration": recorded * s, "budget": budget} for s in speed_of_each]


def test_run_speed_is_the_median_ratio_of_enough_judged_tests():
    assert budgets.run_speed(run_records([0.5] * 9)) is None  # too few to trust
    assert budgets.run_speed(run_records([0.4, 0.5, 0.6] * 4)) == pytest.approx(0.5)
    tiny = budgets.from_baseline(0.5).as_dict()  # sub-second tests say nothing about the machine
    noise = [{"status": budgets.OK, "duration": 5.0, "budget": tiny}] * 20
    assert budgets.run_speed(run_records([0.5] * 10) + noise) == pytest.approx(0.5)


def test_a_run_faster_than_its_benchmark_reading_lowers_the_strict_floor():
    """The CI case: the benchmark read 1.47x slower, the suite ran at half its recorded time; a 9.4 s test
    taking 4.43 s is then honest work (floor 5.22 s x 0.5), while 2 s is still missed work."""
    read_slow = budgets.calibrate(budgets.from_baseline(9.4), 1.47)
    assert budgets.fails_strict(budgets.INCOMPLETE, read_slow, 4.43)  # the benchmark alone would fail it
    assert not budgets.fails_strict(budgets.INCOMPLETE, read_slow, 4.43, speed=0.5)
    assert budgets.fails_strict(budgets.INCOMPLETE, read_slow, 2.0, speed=0.5)
    assert budgets.fails_strict(budgets.INCOMPLETE, read_slow, 5.0, speed=3.0)  # 'slower' never raises it
    assert not budgets.fails_strict(budgets.INCOMPLETE, read_slow, 5.3, speed=3.0)


def test_precedence_marker_then_baseline_then_default(project):
    project.makepyfile(test_p="""
        import pytest
        @pytest.mark.runtime_budget(baseline=3)
        def test_marker(): pass
        def test_baseline(): pass
        def test_default(): pass
    """)
    (project.path / "tests").mkdir()
    (project.path / "tests" / "runtime_baselines.json").write_text(json.dumps({
        "format_version": 1, "machine": {}, "calibration_score": None,
        "tests": {"test_p.py::test_marker": 7.2, "test_p.py::test_baseline": 7.2}}))
    _, data = report(project)
    by = {r["nodeid"].split("::")[-1]: r["budget"] for r in data["tests"]}
    assert by["test_marker"]["source"] == "marker" and by["test_marker"]["baseline"] == 3
    assert by["test_baseline"]["source"] == "baseline" and by["test_baseline"]["ceiling"] == pytest.approx(18)
    assert by["test_default"] == {"baseline": 36.0, "warn": 60.0, "ceiling": 90.0, "floor": 20.0, "source": "default",
                                  "factor": 1.0}


def test_recorded_baseline_ratios_are_capped():
    b = budgets.from_baseline(50)
    assert (b.warn, b.ceiling, b.floor) == (60, 90, pytest.approx(50 * 20 / 36))
    medium = budgets.from_baseline(7.2)
    assert (medium.warn, medium.ceiling, medium.floor) == (pytest.approx(12), pytest.approx(18), pytest.approx(4))
    tiny = budgets.from_baseline(0.01)  # never a sub-second ceiling: scheduler noise is not a regression
    assert (tiny.warn, tiny.ceiling) == (budgets.MIN_WARN, budgets.MIN_CEILING)


def test_recording_writes_medians_atomically_and_only_when_asked(project):
    project.makepyfile(test_r="""
        import time
        def test_a(): time.sleep(0.05)
    """)
    baselines = project.path / "tests" / "runtime_baselines.json"
    project.runpytest_subprocess()
    assert not baselines.exists()
    result = project.runpytest_subprocess("--record-runtime-baselines", "--count", "3", "-p", "repeat")
    result.stdout.fnmatch_lines(["*recorded 1 runtime baselines*"])
    data = json.loads(baselines.read_text())
    assert data["format_version"] == 1 and set(data["tests"]) == {"test_r.py::test_a"}
    assert 0.04 < data["tests"]["test_r.py::test_a"] < 1.0 and data["machine"]["cpu_count"]
    assert [p.name for p in baselines.parent.iterdir()] == ["runtime_baselines.json"]


def test_re_recording_drops_stale_entries_and_keeps_files_it_did_not_run(project):
    project.makepyfile(test_r="""
        import pytest
        def test_a(): pass
        @pytest.mark.skip(reason="off today")
        def test_skipped(): pass
    """, test_other="def test_b(): pass")
    (project.path / "tests").mkdir()
    baselines = project.path / "tests" / "runtime_baselines.json"
    baselines.write_text(json.dumps({"format_version": 1, "machine": {}, "calibration_score": None, "tests": {
        "test_r.py::test_a": 9.0, "test_r.py::test_renamed": 2.0, "test_r.py::test_skipped": 3.0,
        "test_gone.py::test_x": 4.0, "test_other.py::test_b": 5.0}}))
    project.runpytest_subprocess("--record-runtime-baselines", "test_r.py")
    tests = json.loads(baselines.read_text())["tests"]
    assert set(tests) == {"test_r.py::test_a", "test_other.py::test_b"}  # renamed, skipped and gone dropped
    assert tests["test_r.py::test_a"] < 1.0 and tests["test_other.py::test_b"] == 5.0  # not run: kept


def test_corrupt_baselines_file_is_a_hard_error(project):
    project.makepyfile(test_c="def test_a(): pass")
    (project.path / "tests").mkdir()
    (project.path / "tests" / "runtime_baselines.json").write_text("{not json")
    result = project.runpytest_subprocess()
    result.stderr.fnmatch_lines(["*runtime baselines file*is corrupt*re-record*"])
    assert result.ret != 0


def test_calibration_scales_recorded_budgets(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_k="def test_a(): pass")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "runtime_baselines.json").write_text(json.dumps({
        "format_version": 1, "machine": {}, "calibration_score": 1e9, "tests": {"test_k.py::test_a": 1.0}}))
    result, data = report(pytester)
    result.stdout.fnmatch_lines(["*budget factor 2.00*"])  # a recorded machine far faster: clamped at 2
    assert data["tests"][0]["budget"]["baseline"] == pytest.approx(2.0)
    result, data = report(pytester, "--no-runtime-calibration", name="r2.json")
    assert data["tests"][0]["budget"]["baseline"] == pytest.approx(1.0)


def test_xdist_two_workers_every_record_once(project):
    project.makepyfile(test_x="""
        import pytest
        @pytest.mark.parametrize("i", range(200))
        def test_many(i): pass
    """)
    result, data = report(project, "-n", "2")
    result.assert_outcomes(passed=200)
    ids = [r["nodeid"] for r in data["tests"]]
    assert len(ids) == 200 and len(set(ids)) == 200


def test_bad_checkpoint_left_in_tmp_path_fails_the_test(project):
    project.makepyfile(test_ck="""
        def test_leaves_bad(tmp_path):
            (tmp_path / "model.ckpt").write_bytes(b"not a checkpoint")
        def test_clean(tmp_path):
            (tmp_path / "notes.txt").write_text("fine")
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*checkpoint validation failed:", "*model.ckpt: does not load with torch.load(weights_only=True)*"])
    assert project.runpytest_subprocess("--no-checkpoint-validation").ret == 0


def test_hung_test_is_stopped_and_report_still_written(project):
    project.makepyfile(test_h="""
        import time, pytest
        @pytest.mark.runtime_budget(ceiling=1.0)
        def test_hangs(): time.sleep(60)
        def test_after(): pass
    """)
    result, data = report(project)
    result.assert_outcomes(passed=1, failed=1)
    assert statuses(data)["test_hangs"] == "ceiling"


def test_tiers_selection_and_promotion(project):
    project.makepyfile(test_t="""
        import pytest
        def test_pr(): pass
        @pytest.mark.nightly
        @pytest.mark.promote_on("ptycho_torch/**")
        def test_night(): pass
        @pytest.mark.weekly
        def test_week(): pass
    """)
    def ran(*args):
        result = project.runpytest_subprocess("-v", *args)
        return {name for name in ("test_pr", "test_night", "test_week") if f"::{name} PASSED" in result.stdout.str()}, result
    assert ran()[0] == {"test_pr", "test_night", "test_week"}
    assert ran("--tier", "per_pr")[0] == {"test_pr"}
    assert ran("--tier", "nightly")[0] == {"test_pr", "test_night"}
    assert ran("--only-tier", "weekly")[0] == {"test_week"}
    selected, result = ran("--tier", "per_pr", "--changed-paths", "ptycho_torch/model.py", "README.md")
    assert selected == {"test_pr", "test_night"}
    result.stdout.fnmatch_lines(["*collected per_pr=1, nightly=1, weekly=1*",
                                 "*promoted test_t.py::test_night to this run because ptycho_torch/model.py matches "
                                 "ptycho_torch/[*][*]"])
    assert ran("--tier", "per_pr", "--changed-paths", "docs/x.md")[0] == {"test_pr"}


def test_missing_required_backend_is_an_error_not_a_skip(project):
    project.makeini("[pytest]\naddopts = -p no:cacheprovider --no-runtime-calibration\n"
                    "ptycho_backend_modules = torch:no_such_torch_module\n")
    project.makepyfile(test_b="""
        import pytest
        @pytest.mark.torch
        def test_needs_torch(): pass
    """)
    skipped = project.runpytest_subprocess("-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*no_such_torch_module is not installed*"])
    required = project.runpytest_subprocess("--require-backends", "tf,torch")
    assert required.ret != 0
    required.stderr.fnmatch_lines(["*--require-backends tf,torch: no_such_torch_module cannot be imported*"])


def test_help_and_markers_are_documented(project):
    help_text = project.runpytest_subprocess("--help").stdout.str()
    for option in ("--tier=TIER", "--only-tier=TIER", "--changed-since=REF", "--require-backends=tf,torch",
                   "--record-runtime-baselines", "--no-runtime-calibration", "--strict-runtime",
                   "--runtime-report=PATH", "--runtime-history=PATH", "--no-checkpoint-validation"):
        assert option in help_text
    markers = project.runpytest_subprocess("--markers").stdout.str()
    for marker in ("@pytest.mark.per_pr", "@pytest.mark.nightly", "@pytest.mark.weekly", "@pytest.mark.tf",
                   "@pytest.mark.torch", "@pytest.mark.gpu", "@pytest.mark.runtime_budget(baseline=None"):
        assert marker in markers


def test_bad_tier_names_the_source(project, monkeypatch):
    project.makepyfile(test_z="def test_a(): pass")
    result = project.runpytest_subprocess("--tier", "hourly")
    result.stderr.fnmatch_lines(["*option --tier: 'hourly' is not one of per_pr, nightly, weekly*"])
    monkeypatch.setenv("PTYCHO_TIER", "daily")
    result = project.runpytest_subprocess()
    result.stderr.fnmatch_lines(["*environment PTYCHO_TIER: 'daily' is not one of*"])


def test_history_appends_and_plots(project):
    import subprocess
    import sys

    project.makepyfile(test_h2="def test_a(): pass\ndef test_b(): pass")
    history = project.path / "hist.jsonl"
    for _ in range(2):
        project.runpytest_subprocess(f"--runtime-history={history}")
    lines = history.read_text().splitlines()
    assert len(lines) == 2 and set(json.loads(lines[0])["tests"]) == {"test_h2.py::test_a", "test_h2.py::test_b"}
    png = project.path / "h.png"
    result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "harness", "plot", str(history), "-o", str(png)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from ptycho.testing.checkpoints import assert_png_artifact

    assert_png_artifact(png)


def test_sub_second_recorded_tests_are_not_judged_on_noise():
    tiny = budgets.from_baseline(0.2)
    assert tiny.floor == 0.0
    assert budgets.verdict(0.01, tiny) == budgets.OK and budgets.verdict(0.6, tiny) == budgets.OK
    assert budgets.verdict(0.8, tiny) == budgets.DRIFT


def test_skipped_tests_get_no_verdict_and_no_baseline(project):
    project.makepyfile(test_sk="""
        import pytest
        @pytest.mark.runtime_budget(baseline=3)
        def test_skip(): pytest.skip("not here")
        def test_run(): pass
    """)
    result = project.runpytest_subprocess("--record-runtime-baselines")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*0 breach(es)*"])
    recorded = json.loads((project.path / "tests" / "runtime_baselines.json").read_text())["tests"]
    assert set(recorded) == {"test_sk.py::test_run"}


def test_bad_checkpoint_left_by_a_session_fixture_errors_its_tests(project):
    """Issue 23 item 4: a checkpoint in a folder a fixture made with tmp_path_factory is validated when the
    fixture's set-up ends (before, only a test's own tmp_path was scanned and this run passed)."""
    project.makepyfile(test_fx="""
        import pytest
        @pytest.fixture(scope="session")
        def trained(tmp_path_factory):
            run = tmp_path_factory.mktemp("run") / "checkpoints"
            run.mkdir()
            (run / "last.ckpt").write_bytes(b"not a checkpoint")
            return run
        @pytest.fixture(scope="session")
        def clean(tmp_path_factory):
            return tmp_path_factory.mktemp("clean")
        def test_uses_it(trained): pass
        def test_clean_fixture(clean): pass
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'trained' left an invalid checkpoint:*", "*last.ckpt: does not load*"])
    assert project.runpytest_subprocess("--no-checkpoint-validation").ret == 0


def test_bad_checkpoint_inside_a_model_archive_fails_the_test(project):
    """The Lightning checkpoint inside a model archive the test wrote (an archive that itself verifies)."""
    project.makepyfile(test_ar="""
        import numpy as np
        from ptycho.archive import write_archive
        def test_writes_archive(tmp_path):
            weights = {"intensity_scaler/log_scale": np.zeros((), np.float32)}
            params = {"N": 64, "gridsize": 1, "intensity_scale": 1.0}
            write_archive(tmp_path, "pytorch", params, weights, {"model.ckpt": b"garbage"})
    """)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*checkpoint validation failed:*", "*wts.h5.zip: member model.ckpt:*"])
