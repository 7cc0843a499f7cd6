"""Regressions from statistics over the runtime history: each test's last runs against its earlier ones.

A fixed baseline with a ±14 % band misses a test that became 30 % slower over ten commits one small step
at a time; a rank test over the history does not. For every test with at least ``recent + min_earlier``
sessions, the last ``recent`` durations are compared with all earlier ones by a one-sided Mann–Whitney U
test (as airspeed velocity does: ranks, so one outlier run moves nothing), on calibrated durations
(seconds / the session's budget factor, so a slower machine is not a slower test). A test is **slower**
when p < ``alpha`` and the median grew by at least ``min_effect`` (a real but tiny change is not worth a
red build), **faster** symmetrically. The session where the change began is the split of the history
with the smallest p.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

RECENT = 5  # the runs judged against the earlier ones
MIN_EARLIER = 5  # fewer earlier runs give no p below 0.01 at five recent ones (the smallest is 1/C(10,5) = 0.004)
ALPHA = 0.01
MIN_EFFECT = 1.10  # a median change under 10 % is within what a shared CI machine does from day to day
SLOWER, FASTER = "slower", "faster"


@dataclass(frozen=True)
class Change:
    nodeid: str
    direction: str  # SLOWER or FASTER
    since: str  # utc of the first session of the changed runs
    effect: float  # median of the changed runs / median of the runs before
    p: float

    def describe(self) -> str:
        return (f"{self.direction} since {self.since}: median {self.effect - 1:+.0%} "
                f"(Mann-Whitney p={self.p:.2g}) {self.nodeid}")


def _p(later: list[float], earlier: list[float], direction: str) -> float:
    from scipy.stats import mannwhitneyu

    alternative = "greater" if direction == SLOWER else "less"
    return float(mannwhitneyu(later, earlier, alternative=alternative).pvalue)


def series(sessions: list[dict]) -> dict[str, list[tuple[str, float]]]:
    """Test id -> ``(session utc, calibrated seconds)`` in session order."""
    found: dict[str, list[tuple[str, float]]] = {}
    for session in sessions:
        factor = session.get("factor") or 1.0
        for nodeid, seconds in session.get("tests", {}).items():
            found.setdefault(nodeid, []).append((session.get("utc", "?"), seconds / factor))
    return found


def judge(points: list[tuple[str, float]], nodeid: str, recent: int = RECENT, alpha: float = ALPHA,
          min_effect: float = MIN_EFFECT) -> Change | None:
    """The change in one test's history, or ``None`` (too short, or nothing significant and large)."""
    values = [v for _, v in points]
    if len(values) < recent + MIN_EARLIER:
        return None
    later, earlier = values[-recent:], values[:-recent]
    effect = statistics.median(later) / max(statistics.median(earlier), 1e-9)
    direction = SLOWER if effect >= 1 else FASTER
    if max(effect, 1 / max(effect, 1e-9)) < min_effect or _p(later, earlier, direction) >= alpha:
        return None
    # where it began: the split (at least 3 runs each side) that separates the two sides best
    splits = range(3, len(values) - 2)
    start = min(splits, key=lambda k: (_p(values[k:], values[:k], direction), -k))
    before, after = values[:start], values[start:]
    return Change(nodeid, direction, points[start][0], statistics.median(after) / statistics.median(before),
                  _p(after, before, direction))


def trend(sessions: list[dict], recent: int = RECENT, alpha: float = ALPHA, min_effect: float = MIN_EFFECT):
    """Every test's change, slowest first; tests with too short a history are counted in ``short``."""
    changes, short = [], 0
    for nodeid, points in series(sessions).items():
        if len(points) < recent + MIN_EARLIER:
            short += 1
            continue
        change = judge(points, nodeid, recent, alpha, min_effect)
        if change is not None:
            changes.append(change)
    return sorted(changes, key=lambda c: -c.effect), short


def report(sessions: list[dict], recent: int = RECENT, alpha: float = ALPHA, min_effect: float = MIN_EFFECT):
    """Lines for the terminal, and whether any test became slower."""
    changes, short = trend(sessions, recent, alpha, min_effect)
    judged = len(series(sessions)) - short
    lines = [f"runtime trend over {len(sessions)} sessions: {judged} tests judged (last {recent} runs against "
             f"the earlier ones, Mann-Whitney p < {alpha}, median change >= {min_effect - 1:.0%}), "
             f"{short} with under {recent + MIN_EARLIER} runs"]
    lines += [f"  {c.describe()}" for c in changes]
    if not changes:
        lines.append("  no test became slower or faster")
    return lines, any(c.direction == SLOWER for c in changes)
