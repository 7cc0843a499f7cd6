"""Tier selection: which tier a test belongs to, which tiers a run selects, and which nightly tests a
change promotes into a per-PR run (paths from ``--changed-paths`` or ``git diff``)."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

import pytest

TIERS = ("per_pr", "nightly", "weekly")


def tier_of(item) -> str:
    """The highest tier marker on a test; unmarked tests are ``per_pr``."""
    for tier in ("weekly", "nightly", "per_pr"):
        if item.get_closest_marker(tier):
            return tier
    return "per_pr"


def changed_paths(settings, rootpath: Path) -> tuple[str, ...]:
    """Paths given on the command line, else committed and uncommitted changes since ``--changed-since``."""
    if settings.changed_paths is not None:
        return settings.changed_paths
    if settings.changed_since is None:
        return ()
    commands = (
        ["git", "diff", "--name-only", f"{settings.changed_since}...HEAD"],
        ["git", "diff", "--name-only", "HEAD"],
    )
    paths = set()
    for cmd in commands:
        result = subprocess.run(cmd, cwd=rootpath, capture_output=True, text=True)
        if result.returncode != 0:
            raise pytest.UsageError(f"--changed-since {settings.changed_since}: git failed: {result.stderr.strip()}")
        paths.update(line for line in result.stdout.splitlines() if line)
    return tuple(sorted(paths))


def promotion(item, changed: tuple[str, ...]) -> str | None:
    """Why a changed path promotes this test (its ``promote_on`` patterns), or ``None``."""
    marker = item.get_closest_marker("promote_on")
    if marker is None:
        return None
    for path in changed:
        for pattern in marker.args:
            if fnmatch.fnmatch(path, pattern):
                return f"{path} matches {pattern}"
    return None


def selected(tier: str, settings) -> bool:
    """``--only-tier`` runs one tier; ``--tier`` runs it and the ones below; neither runs every tier."""
    if settings.only_tier:
        return tier == settings.only_tier
    if settings.tier:
        return TIERS.index(tier) <= TIERS.index(settings.tier)
    return True


def select(items, settings, rootpath: Path, counts: dict, promoted: dict) -> tuple[list, list]:
    """(kept, dropped) items; fills ``counts`` (tests per tier) and ``promoted`` (nodeid -> reason)."""
    changed = changed_paths(settings, rootpath)
    per_pr_run = settings.tier == "per_pr" or settings.only_tier == "per_pr"
    keep, drop = [], []
    for item in items:
        tier = tier_of(item)
        counts[tier] = counts.get(tier, 0) + 1
        chosen = selected(tier, settings)
        if not chosen and tier == "nightly" and changed and per_pr_run:
            reason = promotion(item, changed)
            if reason:
                promoted[item.nodeid] = reason
                chosen = True
        (keep if chosen else drop).append(item)
    return keep, drop
