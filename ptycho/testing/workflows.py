"""The CI workflow files (``.github/workflows/*.yml``) checked without GitHub: each parses, has what
GitHub requires (``on`` and ``jobs``; per job ``runs-on`` and ``steps``, each step one of ``run``/``uses``;
``needs`` naming jobs of the file), and calls only nox sessions that ``noxfile.py`` defines.

``python -m ptycho.testing.workflows [ROOT]`` (run by ``nox -s lint``) prints each problem and exits 1. It
stands in for actionlint where that cannot be installed, and adds the check actionlint cannot make: that the
sessions exist.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml  # PyYAML: a dependency of lightning, so present wherever the torch engine is installed

from ptycho.testing.nox_sessions import nox_sessions

WORKFLOWS = Path(".github/workflows")
NOX_SESSION = re.compile(r"\bnox\s+(?:[^\n]*?\s)?-s\s+([\w-]+)")


def load(path: Path) -> dict:
    """The workflow as a mapping; YAML 1.1 reads a bare ``on:`` key as ``True``, so it is renamed back."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a mapping of workflow keys")
    if True in data:
        data["on"] = data.pop(True)
    return data


def sessions_called(workflow: dict) -> dict[str, list[str]]:
    """Job name -> the nox sessions its ``run`` steps call, in order."""
    return {
        name: [s for step in job.get("steps") or [] for s in NOX_SESSION.findall(str(step.get("run", "")))]
        for name, job in (workflow.get("jobs") or {}).items()
        if isinstance(job, dict)
    }


def _structure_problems(workflow: dict) -> list[str]:
    problems = [] if workflow.get("on") else ["no 'on' trigger"]
    jobs = workflow.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return [*problems, "no jobs"]
    for name, job in jobs.items():
        if not isinstance(job, dict):
            problems.append(f"job {name}: not a mapping")
            continue
        if not job.get("runs-on"):
            problems.append(f"job {name}: no runs-on")
        needs = job.get("needs", [])
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed not in jobs:
                problems.append(f"job {name}: needs unknown job {needed!r}")
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            problems.append(f"job {name}: no steps")
            continue
        for number, step in enumerate(steps, 1):
            if not isinstance(step, dict) or ("run" in step) == ("uses" in step):
                problems.append(f"job {name}, step {number}: needs exactly one of 'run' and 'uses'")
    return problems


def problems(root: Path) -> list[str]:
    """Every problem of every workflow file under ``root``, each prefixed with its file."""
    files = sorted((root / WORKFLOWS).glob("*.y*ml"))
    if not files:
        return [f"no workflow files in {root / WORKFLOWS}"]
    defined = set(nox_sessions(root / "noxfile.py"))
    found = []
    for path in files:
        where = path.relative_to(root)
        try:
            workflow = load(path)
        except (yaml.YAMLError, ValueError) as exc:
            found.append(f"{where}: does not parse: {exc}")
            continue
        found += [f"{where}: {p}" for p in _structure_problems(workflow)]
        for job, called in sessions_called(workflow).items():
            missing = [s for s in called if s not in defined]
            found += [f"{where}: job {job} calls nox -s {s}, which noxfile.py lacks" for s in missing]
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else ".").resolve()
    found = problems(root)
    for problem in found:
        print(problem)
    print(f"{len(found)} problem(s) in {root / WORKFLOWS}" if found else f"workflows in {root / WORKFLOWS}: valid")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
