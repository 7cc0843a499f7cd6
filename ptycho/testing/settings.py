"""The plugin's settings for one session, resolved once at start so every later step reads one value.

Precedence of every setting: ini, then ``PTYCHO_*`` environment variable, then command-line option (and,
per test, the ``runtime_budget`` marker). A bad value is a usage error that names where it came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ptycho.testing import budgets
from ptycho.testing.backends import BACKEND_MARKER_MODULES
from ptycho.testing.tiers import TIERS


@dataclass(frozen=True)
class Settings:
    tier: str | None
    only_tier: str | None
    changed_since: str | None
    changed_paths: tuple[str, ...] | None
    require_backends: tuple[str, ...]
    baselines_path: Path
    record: bool
    calibrate: bool
    machine_score: float | None
    strict: bool
    report_path: Path | None
    history_path: Path | None
    validate_checkpoints: bool
    defaults: budgets.Budget
    incidents_dir: Path | None
    keep_artifacts: Path | None


def _choice(value, allowed, where):
    if value is not None and value not in allowed:
        raise pytest.UsageError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _number(value, where):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: {value!r} is not a number of seconds") from None
    if number <= 0:
        raise pytest.UsageError(f"{where}: {value!r} must be > 0")
    return number


def resolve_setting(config, name: str, env: str, option: str, flag: str):
    """(value, where it came from): the ini key ``name``, overridden by ``$env``, overridden by ``flag``."""
    value, where = config.getini(name), f"ini {name}"
    if os.environ.get(env):
        value, where = os.environ[env], f"environment {env}"
    cli = config.getoption(option)
    if cli not in (None, False):
        value, where = cli, f"option {flag}"
    return value, where


def _tiers(config) -> tuple[str | None, str | None]:
    tier, where = resolve_setting(config, "ptycho_tier", "PTYCHO_TIER", "ptycho_tier", "--tier")
    tier = _choice(tier or None, TIERS, where)
    only = _choice(config.getoption("ptycho_only_tier"), TIERS, "option --only-tier")
    if only and config.getoption("ptycho_tier"):
        raise pytest.UsageError("--tier and --only-tier exclude each other; choose one")
    if only:
        tier = None  # --only-tier on the command line overrides a tier from ini or PTYCHO_TIER
    return tier, only


def _required_backends(config) -> tuple[str, ...]:
    required, where = resolve_setting(
        config, "ptycho_require_backends", "PTYCHO_REQUIRE_BACKENDS", "ptycho_require_backends", "--require-backends"
    )
    required = tuple(b.strip() for b in (required or "").split(",") if b.strip())
    for backend in required:
        _choice(backend, tuple(BACKEND_MARKER_MODULES), where)
    return required


def _default_budget(config) -> budgets.Budget:
    return budgets.default_budget(
        *(
            _number(config.getini(f"ptycho_runtime_default_{k}"), f"ini ptycho_runtime_default_{k}")
            for k in ("baseline", "warn", "ceiling", "floor")
        )
    )


def _machine_score(config) -> float | None:
    """A given calibration score (simulates another machine); ``None``: measure this one."""
    score, where = resolve_setting(
        config, "ptycho_machine_score", "PTYCHO_MACHINE_SCORE", "ptycho_machine_score", "--machine-score"
    )
    return _number(score, where) if score else None


def _path(value, resolve: bool = False) -> Path | None:
    if not value:
        return None
    return Path(value).resolve() if resolve else Path(value)


def resolve_settings(config) -> Settings:
    tier, only = _tiers(config)
    required = _required_backends(config)
    baselines, _ = resolve_setting(
        config,
        "ptycho_runtime_baselines",
        "PTYCHO_RUNTIME_BASELINES",
        "ptycho_runtime_baselines",
        "--runtime-baselines",
    )
    defaults = _default_budget(config)
    changed = config.getoption("ptycho_changed_paths")
    calibrate = not config.getoption("ptycho_no_calibration") and not os.environ.get("PTYCHO_NO_RUNTIME_CALIBRATION")
    return Settings(
        tier=tier,
        only_tier=only,
        changed_since=config.getoption("ptycho_changed_since"),
        changed_paths=tuple(changed) if changed else None,
        require_backends=required,
        baselines_path=Path(config.rootpath, baselines),
        record=bool(config.getoption("ptycho_record")),
        calibrate=calibrate,
        machine_score=_machine_score(config),
        strict=bool(config.getoption("ptycho_strict_runtime")),
        report_path=_path(config.getoption("ptycho_runtime_report")),
        history_path=_path(config.getoption("ptycho_runtime_history")),
        validate_checkpoints=not config.getoption("ptycho_no_checkpoint_validation"),
        defaults=defaults,
        incidents_dir=_path(config.getoption("ptycho_runtime_incidents")),
        keep_artifacts=_path(config.getoption("ptycho_keep_artifacts"), resolve=True),
    )
