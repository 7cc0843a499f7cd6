"""``ptycho doctor`` in real subprocesses: healthy, and with each fault a maintainer meets in practice."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def doctor(*args, env=None, cwd=ROOT):
    result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "doctor", *args], capture_output=True,
                            text=True, cwd=cwd, env={**os.environ, **(env or {})})
    return result


def checks_by_name(result):
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_healthy_environment_is_all_ticks():
    result = doctor("--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = checks_by_name(result)
    failed = {name: c["detail"] for name, c in checks.items() if c["status"] == "fail"}
    assert not failed
    for name in ("Python and numpy", "TensorFlow", "PyTorch (POLICY-001)", "Lightning", "Accelerators",
                 "Committed test data", "Config bridge (CONFIG-001)", "Runtime baselines", "Tier commands"):
        assert checks[name]["status"] == "ok", (name, checks[name])
    assert checks["TensorFlow"]["data"]["seconds"] > 0 and checks["PyTorch (POLICY-001)"]["data"]["version"]
    assert "CUDA_VISIBLE_DEVICES" in checks["Accelerators"]["detail"]
    assert checks["Tier commands"]["data"]["per_pr"] == ".venv/bin/nox -s per_pr"


# Each failure case runs a whole `ptycho doctor` (both engines imported: 4-8 s): nightly, and per PR when the
# doctor changes; the healthy run stays per PR.
def failure_case(test):
    promote = pytest.mark.promote_on("ptycho/doctor/**", "ptycho/cli/doctor.py", "tests/harness/test_doctor.py")
    return pytest.mark.nightly(promote(test))


@failure_case
def test_torch_unimportable_is_a_cross_with_the_fix(tmp_path):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('torch is broken in this environment (simulated)')\n")
    result = doctor(env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    out = result.stdout
    assert "✗ PyTorch (POLICY-001)" in out and "torch is broken in this environment (simulated)" in out
    assert "fix: run ./run.sh test once" in out
    assert "✓ TensorFlow" in out


@pytest.fixture
def project_copy(tmp_path):
    """A checkout skeleton the doctor recognises: noxfile, baselines and the committed fixtures."""
    project = tmp_path / "checkout"
    (project / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "noxfile.py", project / "noxfile.py")
    shutil.copy(ROOT / "tests" / "runtime_baselines.json", project / "tests" / "runtime_baselines.json")
    shutil.copytree(ROOT / "tests" / "fixtures", project / "tests" / "fixtures")
    return project


@failure_case
def test_missing_dataset_is_a_cross_with_the_fix(project_copy):
    (project_copy / "tests" / "fixtures" / "data" / "sim_n64.npz").unlink()
    result = doctor("--json", "--project", str(project_copy))
    assert result.returncode == 1
    check = checks_by_name(result)["Committed test data"]
    assert check["status"] == "fail" and "data/sim_n64.npz is missing" in check["detail"]
    assert "git checkout -- tests/fixtures" in check["fix"] and "make_fixtures.py" in check["fix"]


@failure_case
def test_corrupt_baselines_file_is_a_cross_with_the_fix(project_copy):
    (project_copy / "tests" / "runtime_baselines.json").write_text('{"format_version": 1, "tests": ')
    result = doctor("--project", str(project_copy))
    assert result.returncode == 1
    assert "✗ Runtime baselines" in result.stdout and "is corrupt" in result.stdout
    assert "fix: git checkout -- tests/runtime_baselines.json" in result.stdout
    assert "1 problem(s): Runtime baselines" in result.stdout


@pytest.mark.nightly
@pytest.mark.runtime_budget(baseline=30, warn=90, ceiling=150)  # measured 27-31 s: two engines, imports to inference
def test_smoke_trains_saves_loads_and_infers_per_backend():
    result = doctor("--json", "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = checks_by_name(result)
    for backend in ("tensorflow", "pytorch"):
        smoke = checks[f"Smoke run ({backend})"]
        assert smoke["status"] == "ok" and set(smoke["data"]) == {"train+save", "load+infer"}
