"""Every parity check, by group; declaring them imports no engine."""

from __future__ import annotations

from ptycho.parity import agreement, config_checks, model_checks, physics_checks
from ptycho.parity.result import Check, Result

GROUPS = ("physics", "config", "same_weights", "gradients", "lightning", "stitching", "trained")


def all_checks(groups: tuple[str, ...] | None = None, tier: str | None = None) -> list[Check]:
    """Every check (of ``groups``, of ``tier``): nightly ones, then the weekly trained agreement."""
    checks = physics_checks.checks() + config_checks.checks() + model_checks.checks() + agreement.checks()
    if tier:
        checks = [c for c in checks if c.tier == tier]
    if groups:
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown parity group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
        checks = [c for c in checks if c.group in groups]
    return checks


def run(checks: list[Check], progress=None) -> list[Result]:
    """Run ``checks`` in order; ``progress(i, n, result)`` after each. An exception is a failed check with
    the error as its detail, so one broken piece does not hide the rest of the table."""
    results = []
    for i, check in enumerate(checks, 1):
        try:
            result = check.run()
        except Exception as exc:  # noqa: BLE001 - reported as a failure in the table, never swallowed
            detail = f"raised {type(exc).__name__}: {exc}"
            result = Result(check.name, check.group, float("inf"), check.tolerance, detail)
        results.append(result)
        if progress:
            progress(i, len(checks), result)
    return results
