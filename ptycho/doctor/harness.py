"""What the test harness needs from the checkout: the committed test data, the optional shared scan,
the runtime baselines, and tier commands that exist. Every path is taken from ``root``, never from where
the package is installed."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from ptycho.doctor.check import FAIL, NO_ROOT_FIX, OK, SKIP, Check
from ptycho.doctor.checkout import NOT_FOUND
from ptycho.testing.nox_sessions import nox_sessions

FIXTURE_MANIFEST = Path("tests/fixtures/manifest.json")
BASELINES = Path("tests/runtime_baselines.json")
RESTORE_BASELINES = f"git checkout -- {BASELINES} (or re-record: .venv/bin/nox -s record_baselines)"
VELOCIPROBE = "velociprobe_siemens_star.npz.bz2"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _validate_fixture(path: Path, kind: str) -> str:
    """'' when valid, else what is wrong."""
    from ptycho.errors import PtychoError

    try:
        if kind == "dataset":
            from ptycho.data_contract import read_npz

            read_npz(path)
        elif kind == "archive":
            from ptycho.archive import read_archive

            read_archive(path)
    except (PtychoError, OSError, ValueError) as exc:
        return str(exc)
    return ""


def check_fixtures(root: Path | None) -> Check:
    name = "Committed test data"
    if root is None:
        return Check(name, FAIL, NOT_FOUND, NO_ROOT_FIX)
    manifest_path = root / FIXTURE_MANIFEST
    if not manifest_path.is_file():
        return Check(name, FAIL, f"{manifest_path} is missing", f"git checkout -- {FIXTURE_MANIFEST}")
    manifest = json.loads(manifest_path.read_text())
    problems = []
    for relative, entry in manifest["files"].items():
        path = manifest_path.parent / relative
        if not path.is_file():
            problems.append(f"{relative} is missing")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"{relative} differs from the recorded sha256")
        elif error := _validate_fixture(path, entry["kind"]):
            problems.append(f"{relative} is invalid: {error}")
    if problems:
        fix = f"restore with git checkout -- tests/fixtures (or regenerate: {manifest['made_by']})"
        return Check(name, FAIL, "; ".join(problems), fix)
    return Check(name, OK, f"{len(manifest['files'])} files in tests/fixtures present and valid under the contract")


def check_shared_data(root: Path | None) -> Check:
    name = "Velociprobe Siemens star (optional)"
    folder = Path(os.environ.get("PTYCHO_SHARED_DATA") or (root.parent / "shared" / "data" if root else "."))
    path = folder / VELOCIPROBE
    if not path.is_file():
        return Check(name, SKIP, f"not at {path}: its test skips (set PTYCHO_SHARED_DATA to the folder holding it)")
    from ptycho.data_contract import from_arrays
    from ptycho.velociprobe import load_arrays

    contract_log = logging.getLogger("ptycho.data_contract")
    level = contract_log.level
    contract_log.setLevel(logging.WARNING)  # its counts note is not news here
    try:
        data = from_arrays(load_arrays(path), str(path))
    except (ValueError, OSError) as exc:
        return Check(name, FAIL, f"{path} is unreadable: {exc}", "restore the file from the shared data bundle")
    finally:
        contract_log.setLevel(level)  # the doctor runs in other processes' tests too: leave logging as found
    return Check(name, OK, f"{path}: {len(data.xcoords)} patterns of {data.diffraction.shape[-1]}² px, contract-valid")


def check_baselines(root: Path | None, path: Path | None) -> Check:
    from ptycho.testing import baselines
    from ptycho.testing.calibration import machine_score, scale_factor

    name = "Runtime baselines"
    if path is None:
        if root is None:
            return Check(name, FAIL, NOT_FOUND, f"{NO_ROOT_FIX}, or --baselines PATH")
        path = root / BASELINES
    try:
        recorded = baselines.load(path)
    except baselines.BaselinesError as exc:
        return Check(name, FAIL, str(exc), RESTORE_BASELINES)
    if recorded is None:
        return Check(name, FAIL, f"{path} is missing", RESTORE_BASELINES)
    today = machine_score()
    factor = scale_factor(recorded.calibration_score, today)
    machine = recorded.machine
    detail = (
        f"{len(recorded.tests)} tests recorded {recorded.recorded_utc} on {machine.get('cpu_model', '?')} "
        f"({machine.get('cpu_count', '?')} CPUs), score {recorded.calibration_score or 0:.1f}; "
        f"today {today:.1f} -> budgets x{factor:.2f}"
    )
    data = {"recorded_score": recorded.calibration_score, "today_score": today, "factor": factor}
    return Check(name, OK, detail, data=data)


def check_tier_commands(root: Path | None) -> Check:
    """The commands the docs and incident files give for each tier exist in the checkout: a nox session
    that runs that tier, and ``./run.sh test``."""
    from ptycho.testing.suites import TIER_COMMANDS

    name = "Tier commands"
    listed = "; ".join(f"{tier}: {command}" for tier, command in TIER_COMMANDS.items())
    if root is None:
        return Check(name, FAIL, NOT_FOUND, NO_ROOT_FIX, data=dict(TIER_COMMANDS))
    noxfile = root / "noxfile.py"
    if not noxfile.is_file():
        return Check(name, FAIL, f"{noxfile} is missing: the tier sessions live there", "git checkout -- noxfile.py")
    problems, unchecked = [], []
    for tier, command in TIER_COMMANDS.items():
        script = command.split()[0]
        if not _is_nox(command) and not (root / script).is_file():
            unchecked.append(f"{script} is not in {root}: `{command}` not checked")
        elif problem := _tier_command_problem(root, tier, command):
            problems.append(problem)
    if problems:
        fix = "make noxfile.py / run.sh and TIER_COMMANDS in ptycho/testing/suites.py agree"
        return Check(name, FAIL, "; ".join(problems), fix, data=dict(TIER_COMMANDS))
    return Check(name, OK, "; ".join([listed, *unchecked]), data=dict(TIER_COMMANDS))


def _is_nox(command: str) -> bool:
    words = command.split()
    return Path(words[0]).name == "nox" and "-s" in words[:-1]


def _tier_command_problem(root: Path, tier: str, command: str) -> str | None:
    """What is wrong with one tier's command: a nox session that is missing or runs another tier, or a
    script without that sub-command; ``None`` when it checks out."""
    words = command.split()
    if _is_nox(command):
        session = words[words.index("-s") + 1]
        sessions = nox_sessions(root / "noxfile.py")
        if session not in sessions:
            return f"`{command}`: noxfile.py has no session {session!r}"
        if tier not in sessions[session]:
            return f"`{command}`: session {session!r} does not run tier {tier!r}"
        return None
    script, *rest = words
    if rest and f"{rest[0]})" not in (root / script).read_text():
        return f"`{command}`: {script} has no {rest[0]!r} command"
    return None
