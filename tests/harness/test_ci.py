"""The CI definitions: the three cadences' workflow files call existing nox sessions, the validator the lint
session runs catches broken ones, and the README's test command is the strict CPU column."""

import re
import subprocess
import sys
from pathlib import Path

from ptycho.testing import workflows

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name):
    return workflows.load(WORKFLOWS / name)


def test_workflow_files_are_valid_and_call_existing_nox_sessions():
    assert workflows.problems(ROOT) == []
    assert {p.name for p in WORKFLOWS.iterdir()} == {"per-pr.yml", "nightly.yml", "weekly.yml"}


def test_each_cadence_runs_its_sessions():
    per_pr, nightly, weekly = load("per-pr.yml"), load("nightly.yml"), load("weekly.yml")
    assert {"pull_request", "push"} <= set(per_pr["on"])
    assert workflows.sessions_called(per_pr) == {"lint": ["lint"], "per_pr": ["per_pr"]}
    assert all(job["runs-on"] == "ubuntu-latest" for job in per_pr["jobs"].values())  # the CPU column

    assert nightly["on"]["schedule"][0]["cron"] and weekly["on"]["schedule"][0]["cron"]
    assert workflows.sessions_called(nightly) == {"parity": ["parity"], "nightly": ["nightly"]}
    uploaded = "\n".join(
        step["with"]["path"]
        for job in nightly["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact")
    )
    assert "parity_report.json" in uploaded and "ci-reports/" in uploaded
    assert "--runtime-history ci-reports/runtime-history.jsonl" in str(nightly["jobs"]["nightly"]["steps"])
    assert "ptycho harness trend ci-reports/runtime-history.jsonl" in str(nightly["jobs"]["nightly"]["steps"])

    assert workflows.sessions_called(weekly) == {"weekly": ["weekly"], "gpu": ["doctor", "gpu"]}
    assert weekly["jobs"]["gpu"]["runs-on"] == ["self-hosted", "gpu"]


def test_validator_reports_what_is_broken(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "noxfile.py").write_text("import nox\n@nox.session\ndef lint(session): pass\n")
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(
        "name: bad\njobs:\n  a:\n    steps:\n      - run: nox -s per_pr\n      - name: nothing\n"
        "  b:\n    runs-on: ubuntu-latest\n    needs: c\n    steps:\n      - uses: actions/checkout@v4\n"
    )
    (tmp_path / ".github" / "workflows" / "broken.yml").write_text("jobs: [unclosed\n")
    found = workflows.problems(tmp_path)
    for problem in (
        "bad.yml: no 'on' trigger",
        "bad.yml: job a: no runs-on",
        "bad.yml: job a, step 2: needs exactly one of 'run' and 'uses'",
        "bad.yml: job b: needs unknown job 'c'",
        "bad.yml: job a calls nox -s per_pr, which noxfile.py lacks",
    ):
        assert any(problem in f for f in found), (problem, found)
    assert any(f.startswith(str(Path(".github/workflows/broken.yml"))) and "does not parse" in f for f in found)
    assert workflows.main([str(tmp_path)]) == 1


def test_readme_test_command_is_the_strict_cpu_column():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./run.sh test")
    branch = re.search(r"\n\s*test\)\n(.*?);;", (ROOT / "run.sh").read_text(), re.S).group(1)
    assert 'export CUDA_VISIBLE_DEVICES=""' in branch
    assert "--strict-runtime" in branch and "--require-backends tf,torch" in branch


def _setup_steps(job: dict) -> list[tuple[int, dict]]:
    return [(i, s) for i, s in enumerate(job["steps"]) if "./run.sh setup" in s.get("run", "")]


def test_cpu_jobs_run_on_a_clean_hosted_runner():
    """Issue 23: a clean runner had no pip cache and no CPU wheel index for torch (each job downloaded the
    multi-GB CUDA build). Every hosted job that sets up .venv caches pip on pyproject.toml + constraints.txt
    and takes torch's CPU build from an extra index the repository owner sets as a variable."""
    jobs = [job for name in ("per-pr.yml", "nightly.yml", "weekly.yml") for job in load(name)["jobs"].values()
            if job["runs-on"] == "ubuntu-latest" and _setup_steps(job)]
    assert len(jobs) == 4  # per_pr, parity, nightly, weekly
    for job in jobs:
        python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
        assert python["with"]["cache"] == "pip"
        assert set(python["with"]["cache-dependency-path"].split()) == {"pyproject.toml", "constraints.txt"}
        (_, setup), = _setup_steps(job)
        assert setup["env"]["PIP_EXTRA_INDEX_URL"].replace(" ", "") == "${{vars.TORCH_CPU_INDEX_URL}}"


def test_the_gpu_job_builds_its_own_environment_and_runs_both_engines():
    """Issue 23: the GPU job assumed a .venv that actions/checkout had just removed, and ran one PyTorch
    test and never TensorFlow."""
    gpu = load("weekly.yml")["jobs"]["gpu"]
    (index, setup), = _setup_steps(gpu)
    checkout = next(i for i, s in enumerate(gpu["steps"]) if s.get("uses", "").startswith("actions/checkout"))
    assert checkout < index and "PIP_EXTRA_INDEX_URL" not in setup.get("env", {})  # PyPI's CUDA build of torch
    assert "tensorflow[and-cuda]" in setup["run"]
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "gpu", "-p",
                                "no:cacheprovider", str(ROOT / "tests")], capture_output=True, text=True, cwd=ROOT)
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert any("[tensorflow]" in i for i in ids) and any("[pytorch]" in i for i in ids), collected.stdout[-2000:]
