"""``ptycho doctor``: the readiness checklist a maintainer runs before work starts.

Every check returns a :class:`Check` (ok / fail / skip, a one-line detail, and for a failure the one-line
fix); each can fail when its condition is false. Checks of the checkout read it from ``root`` (``--root``,
found by :func:`find_root`), never from where the package is installed.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ptycho.doctor.check import FAIL, OK, SKIP, Check
from ptycho.doctor.checkout import find_root
from ptycho.doctor.environment import (
    check_accelerators,
    check_lightning,
    check_python,
    check_tensorflow,
    check_torch,
    expects_gpu,
    probe_torch,
)
from ptycho.doctor.harness import check_baselines, check_fixtures, check_shared_data, check_tier_commands
from ptycho.doctor.workflow import check_config_bridge, check_simulated_data, smoke

__all__ = ["FAIL", "OK", "SKIP", "Check", "as_json", "find_root", "run_checks"]


def run_checks(
    root: Path | None, baselines_path: Path | None = None, with_smoke: bool = False, expect_gpu: bool = False
) -> list[Check]:
    """Every check, in the order printed; ``root`` is the checkout (``None``: none was found)."""
    torch_info, torch_error = probe_torch()
    checks = [
        check_python(root),
        check_tensorflow(),
        check_torch(torch_info, torch_error),
        check_lightning(torch_info, torch_error),
        check_accelerators(torch_info, expects_gpu(expect_gpu)),
        check_simulated_data(),
        check_fixtures(root),
        check_shared_data(root),
        check_config_bridge(),
        check_baselines(root, baselines_path),
        check_tier_commands(root),
    ]
    if with_smoke:
        engines = {"tensorflow": checks[1], "pytorch": checks[2]}
        for backend, imported in engines.items():
            if imported.status == OK:
                checks.append(smoke(backend))
            else:
                checks.append(
                    Check(f"Smoke run ({backend})", FAIL, "not run: the engine is not importable", imported.fix)
                )
    return checks


def as_json(root: Path | None, checks: list[Check]) -> dict:
    return {
        "root": str(root) if root else None,
        "ok": all(c.status != FAIL for c in checks),
        "checks": [asdict(c) for c in checks],
    }
