"""The package works end to end: the suites' simulated data is contract-valid, the CONFIG-001 bridge
round-trips, and (``--smoke``) each engine trains, saves, loads and infers a tiny set through the real CLI."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ptycho.doctor.check import FAIL, OK, Check


def check_simulated_data() -> Check:
    from ptycho.data_contract import from_arrays
    from ptycho.errors import PtychoError
    from ptycho.simulation import SimulationSpec, simulate_dataset

    start = time.perf_counter()
    try:
        _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=96, scan_step=16, seed=0))
        from_arrays(arrays, "simulated")
    except (PtychoError, ValueError) as exc:
        fix = "run pytest tests/unit/test_simulation_and_metrics.py tests/unit/test_data_contract.py; fix what breaks"
        return Check("Simulated test data", FAIL, f"the suites' simulated data breaks the data contract: {exc}", fix)
    detail = f"the suites' simulated data is contract-valid ({time.perf_counter() - start:.2f} s to make)"
    return Check("Simulated test data", OK, detail)


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
            "train+save": (
                "train",
                "--backend",
                backend,
                "--train-data",
                str(data),
                "--output-dir",
                str(folder / "model"),
                "--epochs",
                "1",
                "--n-groups",
                "8",
                "--gridsize",
                "1",
                "--batch-size",
                "4",
                "--n-filters-scale",
                "1",
            ),
            "load+infer": (
                "infer",
                "--backend",
                backend,
                "--model",
                str(folder / "model"),
                "--data",
                str(data),
                "--output-dir",
                str(folder / "out"),
                "--n-groups",
                "8",
            ),
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
