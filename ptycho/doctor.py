"""``ptycho doctor``: the readiness checklist a maintainer runs before work starts.

Every check returns a :class:`Check` (ok / fail / skip, a one-line detail, and for a failure the one-line
fix). Engines are probed in fresh subprocesses, so their import times are real and this process stays
light; ``smoke`` trains, saves, loads and infers a tiny simulated set per engine through the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

OK, FAIL, SKIP = "ok", "fail", "skip"
INSTALL_FIX = "run ./run.sh test once (it sets up .venv with both engines), or pip install -c constraints.txt -e .[all]"
FIXTURE_MANIFEST = Path("tests/fixtures/manifest.json")
BASELINES = Path("tests/runtime_baselines.json")
RESTORE_BASELINES = f"git checkout -- {BASELINES} (or re-record: .venv/bin/nox -s record_baselines)"
VELOCIPROBE = "velociprobe_siemens_star.npz.bz2"
PROBE_TIMEOUT_S = 300

TF_PROBE = """
import json, time
start = time.perf_counter()
import tensorflow as tf
print(json.dumps({"version": tf.__version__, "seconds": time.perf_counter() - start}))
"""
TORCH_PROBE = """
import json, time
start = time.perf_counter()
import torch
seconds = time.perf_counter() - start
try:
    import lightning
    lightning_version, lightning_error = lightning.__version__, None
except Exception as exc:
    lightning_version, lightning_error = None, f"{type(exc).__name__}: {exc}"
cuda = torch.cuda.is_available()
print(json.dumps({
    "version": torch.__version__, "seconds": seconds, "threads": torch.get_num_threads(),
    "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
    "lightning": lightning_version, "lightning_error": lightning_error,
}))
"""


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)


def find_project(start: Path | None = None) -> Path | None:
    """The checkout holding ``tests/`` and ``noxfile.py``: from the cwd upwards, else beside the package."""
    here = Path(start or Path.cwd()).resolve()
    package_parent = Path(__file__).resolve().parents[1]
    for folder in (here, *here.parents, package_parent):
        if (folder / "noxfile.py").is_file() and (folder / "tests").is_dir():
            return folder
    return None


def _probe(code: str) -> tuple[dict | None, str]:
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None, f"import did not finish within {PROBE_TIMEOUT_S} s"
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        return None, lines[-1] if lines else f"exit code {result.returncode}"
    return json.loads(result.stdout.strip().splitlines()[-1]), ""


def check_python() -> Check:
    import numpy

    detail = f"Python {sys.version.split()[0]} ({sys.executable}), numpy {numpy.__version__}"
    return Check("Python and numpy", OK, detail)


def check_tensorflow() -> Check:
    info, error = _probe(TF_PROBE)
    if info is None:
        return Check("TensorFlow", FAIL, f"not importable: {error}", INSTALL_FIX)
    return Check("TensorFlow", OK, f"{info['version']}, import {info['seconds']:.1f} s", data=info)


def check_torch(info: dict | None, error: str) -> Check:
    from ptycho.policy import MIN_TORCH, torch_version_tuple

    if info is None:
        return Check("PyTorch (POLICY-001)", FAIL, f"not importable: {error}", INSTALL_FIX)
    version = torch_version_tuple(info["version"])
    wanted = ".".join(map(str, MIN_TORCH))
    if version is None or version < MIN_TORCH:
        return Check(
            "PyTorch (POLICY-001)",
            FAIL,
            f"torch {info['version']} is older than {wanted}",
            f"pip install -c constraints.txt torch (the project pins torch==2.13.0; POLICY-001 needs >= {wanted})",
            data=info,
        )
    detail = f"{info['version']} (>= {wanted}), import {info['seconds']:.1f} s"
    return Check("PyTorch (POLICY-001)", OK, detail, data=info)


def check_lightning(info: dict | None, error: str) -> Check:
    if info is None:
        return Check("Lightning", FAIL, f"not checked: torch is not importable ({error})", INSTALL_FIX)
    if info["lightning"] is None:
        return Check("Lightning", FAIL, f"not importable: {info['lightning_error']}", INSTALL_FIX)
    return Check("Lightning", OK, info["lightning"])


def check_accelerators(info: dict | None) -> Check:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    shown = "unset" if visible is None else f'"{visible}"'
    parts = [f"{os.cpu_count()} CPU threads"]
    if info is not None:
        parts.append(f"torch uses {info['threads']}")
        devices = info["cuda_devices"]
        parts.append(f"CUDA devices: {', '.join(devices) if devices else 'none'}")
    else:
        parts.append("CUDA devices: unknown (torch not importable)")
    parts.append(f"CUDA_VISIBLE_DEVICES={shown}")
    return Check("Accelerators", OK, "; ".join(parts), data={"cuda_visible_devices": visible})


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


def check_fixtures(project: Path | None) -> Check:
    name = "Committed test data"
    if project is None:
        return Check(name, FAIL, "no ptychopinn checkout found", "run from the checkout or pass --project DIR")
    manifest_path = project / FIXTURE_MANIFEST
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


def check_simulated_data() -> Check:
    from ptycho.data_contract import from_arrays
    from ptycho.simulation import SimulationSpec, simulate_dataset

    start = time.perf_counter()
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=96, scan_step=16, seed=0))
    from_arrays(arrays, "simulated")
    detail = f"the suites' simulated data is contract-valid ({time.perf_counter() - start:.2f} s to make)"
    return Check("Simulated test data", OK, detail)


def check_shared_data(project: Path | None) -> Check:
    name = "Velociprobe Siemens star (optional)"
    folder = Path(os.environ.get("PTYCHO_SHARED_DATA") or (project.parent / "shared" / "data" if project else "."))
    path = folder / VELOCIPROBE
    if not path.is_file():
        return Check(name, SKIP, f"not at {path}: its test skips (set PTYCHO_SHARED_DATA to the folder holding it)")
    from ptycho.data_contract import from_arrays
    from ptycho.velociprobe import load_arrays

    try:
        logging.getLogger("ptycho.data_contract").setLevel(logging.WARNING)  # its counts note is not news here
        data = from_arrays(load_arrays(path), str(path))
    except (ValueError, OSError) as exc:
        return Check(name, FAIL, f"{path} is unreadable: {exc}", "restore the file from the shared data bundle")
    return Check(name, OK, f"{path}: {len(data.xcoords)} patterns of {data.diffraction.shape[-1]}² px, contract-valid")


def check_config_bridge() -> Check:
    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.model_manager import model_config_from_params
    from ptycho.params import LegacyParams, dataclass_to_legacy_dict, update_legacy_dict

    config = TrainingConfig(model=ModelConfig(N=64))
    legacy = update_legacy_dict(LegacyParams(), config)
    expected = {k: v for k, v in dataclass_to_legacy_dict(config).items() if v is not None}
    mismatched = sorted(k for k in expected if legacy.get(k) != expected[k])
    if mismatched or model_config_from_params(legacy) != config.model:
        return Check(
            "Config bridge (CONFIG-001)",
            FAIL,
            f"the default TrainingConfig does not round-trip through the legacy dict: {mismatched or 'model fields'}",
            "run pytest tests/unit/test_config.py and fix ptycho/params.py",
        )
    return Check("Config bridge (CONFIG-001)", OK, f"default TrainingConfig round-trips ({len(legacy)} legacy keys)")


def check_baselines(project: Path | None, path: Path | None) -> Check:
    from ptycho.testing import baselines
    from ptycho.testing.calibration import machine_score, scale_factor

    name = "Runtime baselines"
    if path is None:
        if project is None:
            return Check(name, FAIL, "no ptychopinn checkout found", "run from the checkout or pass --baselines PATH")
        path = project / BASELINES
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


def check_tier_commands() -> Check:
    from ptycho.testing.suites import TIER_COMMANDS

    detail = "; ".join(f"{tier}: {command}" for tier, command in TIER_COMMANDS.items())
    return Check("Tier commands", OK, detail, data=dict(TIER_COMMANDS))


def smoke(backend: str) -> Check:
    """Train -> save -> load -> infer a tiny simulated set through the real CLI, timed per step."""
    from ptycho.data_contract import write_npz
    from ptycho.simulation import SimulationSpec, simulate_dataset
    from ptycho.testing.commands import CPU_ONLY, run_ptycho

    name = f"Smoke run ({backend})"
    with tempfile.TemporaryDirectory(prefix="ptycho-doctor-") as tmp:
        folder = Path(tmp)
        _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=96, scan_step=12, seed=0))
        data = write_npz(folder / "tiny.npz", arrays)
        steps = {
            "train+save": ("train", "--backend", backend, "--train-data", str(data), "--output-dir",
                           str(folder / "model"), "--epochs", "1", "--n-groups", "8", "--gridsize", "1",
                           "--batch-size", "4", "--n-filters-scale", "1"),
            "load+infer": ("infer", "--backend", backend, "--model", str(folder / "model"), "--data", str(data),
                           "--output-dir", str(folder / "out"), "--n-groups", "8"),
        }
        times = {}
        for step, args in steps.items():
            start = time.perf_counter()
            result = run_ptycho("--quiet", *args, env=CPU_ONLY, check=False, echo=False)
            times[step] = time.perf_counter() - start
            if result.returncode != 0:
                tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
                fix = f"rerun: ptycho --debug {' '.join(args[:3])} ... to see the traceback"
                return Check(name, FAIL, f"{step} failed after {times[step]:.1f} s: {tail}", fix, data=times)
        if not (folder / "out" / "reconstruction.npz").is_file():
            return Check(name, FAIL, "infer wrote no reconstruction.npz", "run ptycho infer by hand", data=times)
    detail = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in times.items())
    return Check(name, OK, detail, data=times)


def run_checks(project: Path | None, baselines_path: Path | None = None, with_smoke: bool = False) -> list[Check]:
    torch_info, torch_error = _probe(TORCH_PROBE)
    checks = [
        check_python(),
        check_tensorflow(),
        check_torch(torch_info, torch_error),
        check_lightning(torch_info, torch_error),
        check_accelerators(torch_info),
        check_simulated_data(),
        check_fixtures(project),
        check_shared_data(project),
        check_config_bridge(),
        check_baselines(project, baselines_path),
        check_tier_commands(),
    ]
    if with_smoke:
        engines = {"tensorflow": checks[1], "pytorch": checks[2]}
        for backend, imported in engines.items():
            if imported.status == OK:
                checks.append(smoke(backend))
            else:
                checks.append(Check(f"Smoke run ({backend})", FAIL, "not run: the engine is not importable",
                                    imported.fix))
    return checks


def as_json(project: Path | None, checks: list[Check]) -> dict:
    return {
        "project": str(project) if project else None,
        "ok": all(c.status != FAIL for c in checks),
        "checks": [asdict(c) for c in checks],
    }
