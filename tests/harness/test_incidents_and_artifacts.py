"""Incident files on guardrail breaches and kept evidence (--keep-artifacts), through real pytest runs."""

import json
import re
import subprocess

import pytest

CONFTEST = 'pytest_plugins = ["ptycho.testing.plugin"]\n'
BREACHES = """
    import time, pytest
    B = pytest.mark.runtime_budget(baseline=0.4)   # floor 0.22, warn 0.67, ceiling 1.0
    @B
    def test_ok(): time.sleep(0.4)
    @B
    def test_warn(): time.sleep(0.75)
    @B
    @pytest.mark.nightly
    def test_incomplete(): pass
    @B
    def test_ceiling(): time.sleep(5)
"""


@pytest.fixture
def project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider --no-runtime-calibration\n")
    return pytester


def rerun_command(incident_text):
    return re.search(r"```bash\n(.+?)\n```", incident_text, re.S).group(1)


def test_an_incident_per_breach_with_a_rerun_command_that_selects_that_test(project):
    project.makepyfile(test_s=BREACHES)
    history = project.path / "history.jsonl"
    project.runpytest_subprocess(f"--runtime-history={history}")  # a first session for the history
    result = project.runpytest_subprocess(f"--runtime-report={project.path / 'out' / 'report.json'}",
                                          f"--runtime-history={history}")
    folder = project.path / "out" / "incidents"  # default: beside the report
    files = {p.name: p.read_text() for p in folder.glob("*.md")}
    assert sorted(files) == ["test_s.py_test_ceiling.md", "test_s.py_test_incomplete.md", "test_s.py_test_warn.md"]
    for name in files:
        result.stdout.fnmatch_lines([f"incident: {folder / name}"])
    warn = files["test_s.py_test_warn.md"]
    assert "- tier: per_pr" in warn and "**warn**" in warn
    assert re.search(r"\| measured \(test call\) \| 0\.7\d \|", warn)
    assert "| warn | 0.67 |" in warn and "| ceiling | 1.00 |" in warn and "| floor | 0.22 |" in warn
    assert re.search(r"Last durations from the history: 0\.7\d s", warn)
    assert '"cpu_count"' in warn and "## Escalation" in warn and "File an issue with this file attached" in warn
    assert "- tier: nightly" in files["test_s.py_test_incomplete.md"]
    expected = {"test_s.py_test_warn.md": "1 passed", "test_s.py_test_incomplete.md": "1 passed",
                "test_s.py_test_ceiling.md": "1 failed"}
    for name, outcome in expected.items():
        command = rerun_command(files[name])
        assert 'CUDA_VISIBLE_DEVICES=""' in command and "--no-runtime-calibration" in command
        rerun = subprocess.run(command, shell=True, capture_output=True, text=True)
        assert "selected 1" in rerun.stdout, rerun.stdout
        assert f"{outcome} in" in rerun.stdout.splitlines()[-1], rerun.stdout


def test_no_incident_when_every_test_is_within_budget(project):
    project.makepyfile(test_fine="""
        import time, pytest
        @pytest.mark.runtime_budget(baseline=0.3)
        def test_ok(): time.sleep(0.3)
    """)
    folder = project.path / "incidents"
    result = project.runpytest_subprocess(f"--runtime-incidents={folder}")
    result.assert_outcomes(passed=1)
    assert not folder.exists()
    assert "incident:" not in result.stdout.str()


def test_keep_artifacts_copies_integration_outputs_with_an_index(project):
    (project.path / "integration").mkdir()
    (project.path / "integration" / "test_flow.py").write_text(
        "import json\n"
        "def test_flow(tmp_path):\n"
        "    (tmp_path / 'model').mkdir()\n"
        "    (tmp_path / 'model' / 'wts.h5.zip').write_bytes(b'archive')\n"
        "    (tmp_path / 'comparison.png').write_bytes(b'png')\n"
        "    (tmp_path / 'metrics.json').write_text(json.dumps({'ssim': 0.5}))\n"
        "    print('training epoch 1/1')\n")
    (project.path / "unit").mkdir()
    (project.path / "unit" / "test_plain.py").write_text(
        "import pytest\n"
        "def test_plain(tmp_path):\n"
        "    (tmp_path / 'scratch.txt').write_text('not kept')\n"
        "@pytest.mark.keep_artifacts\n"
        "def test_marked(tmp_path):\n"
        "    (tmp_path / 'kept.txt').write_text('kept by marker')\n")
    keep = project.path / "evidence"
    result = project.runpytest_subprocess(f"--keep-artifacts={keep}")
    result.assert_outcomes(passed=3)
    (session,) = keep.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", session.name)
    index = json.loads((session / "index.json").read_text())
    by_test = {entry["nodeid"]: entry for entry in index["tests"]}
    assert sorted(by_test) == ["integration/test_flow.py::test_flow", "unit/test_plain.py::test_marked"]
    flow = session / "test_flow.test_flow"
    assert (flow / "model" / "wts.h5.zip").read_bytes() == b"archive"
    assert json.loads((flow / "metrics.json").read_text()) == {"ssim": 0.5}
    assert "training epoch 1/1" in (flow / "test-output.log").read_text()
    kinds = {f["path"]: f["kind"] for f in by_test["integration/test_flow.py::test_flow"]["files"]}
    assert kinds == {"comparison.png": "figure", "metrics.json": "metrics", "model/wts.h5.zip": "archive",
                     "test-output.log": "log"}
    assert (session / "test_plain.test_marked" / "kept.txt").exists()
    assert not (session / "test_plain.test_plain").exists()
    result.stdout.fnmatch_lines([f"kept artifacts of 2 test(s): {session / 'index.json'}"])
