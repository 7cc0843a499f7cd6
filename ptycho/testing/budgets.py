"""Runtime budgets and their verdicts (pure functions, no pytest).

The recorded integration profile: baseline 36 s (±5 s band), warning above 60 s, ceiling 90 s, incomplete
below 20 s. A recorded baseline ``b`` keeps those ratios: warn ``b·60/36``, ceiling ``b·90/36``, floor
``b·20/36``, never above the absolute 60/90 s. Those are the *recorded* thresholds: they hold on the machine
class that recorded them; :func:`calibrate` maps them to this machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

PROFILE_BASELINE = 36.0
PROFILE_WARN = 60.0
PROFILE_CEILING = 90.0
PROFILE_FLOOR = 20.0
BAND_RELATIVE = 5.0 / 36.0  # ±5 s of 36 s, about ±14%
# A sub-second test's ratio-derived ceiling would be a fraction of a second: scheduler noise, not a
# regression, would stop it. Recorded budgets therefore never go below these absolute minimums.
MIN_CEILING = 10.0
MIN_WARN = 5.0
# Below a second, "too fast" and "drifted" are noise: no floor, and drift needs half a second.
MIN_JUDGED_BASELINE = 1.0
MIN_DRIFT = 0.5
# Strict mode (CI): "incomplete" fails a test whose recorded baseline is at least this long. Shorter tests
# are too noisy to call skipped work a failure; they stay flagged (summary + incident file).
STRICT_MIN_BASELINE = 5.0
# The run's own speed (:func:`run_speed`) needs this many judged tests to be a median worth trusting.
MIN_SPEED_SAMPLES = 10

OK, DRIFT, WARN, INCOMPLETE, CEILING, UNRECORDED = "ok", "drift", "warn", "incomplete", "ceiling", "unrecorded"
BREACHES = (CEILING, WARN, INCOMPLETE)


@dataclass(frozen=True)
class Budget:
    """Seconds for one test. ``source``: marker|baseline|default; ``factor``: the calibration applied (1: recorded)."""

    baseline: float
    warn: float
    ceiling: float
    floor: float
    source: str
    factor: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def recorded_baseline(self) -> float:
        """The baseline as recorded, before calibration (the same on every machine)."""
        return self.baseline / self.factor


def _ratios(b: float) -> tuple[float, float, float]:
    """Recorded (warn, ceiling, floor) of baseline ``b`` by the profile ratios, capped at the absolute 60/90 s."""
    return (
        min(b * PROFILE_WARN / PROFILE_BASELINE, PROFILE_WARN),
        min(b * PROFILE_CEILING / PROFILE_BASELINE, PROFILE_CEILING),
        b * PROFILE_FLOOR / PROFILE_BASELINE,
    )


def from_baseline(seconds: float) -> Budget:
    """The recorded thresholds of a recorded baseline: profile ratios, absolute caps and minimums."""
    warn, ceiling, floor = _ratios(seconds)
    floor = floor if seconds >= MIN_JUDGED_BASELINE else 0.0
    return Budget(seconds, max(warn, MIN_WARN), max(ceiling, MIN_CEILING), floor, "baseline")


def from_marker(kwargs: dict) -> Budget:
    """``runtime_budget(baseline=…, warn=…, ceiling=…, floor=…)``; missing values follow the profile ratios."""
    unknown = set(kwargs) - {"baseline", "warn", "ceiling", "floor"}
    if unknown:
        raise ValueError(f"runtime_budget got unknown arguments {sorted(unknown)}; use baseline, warn, ceiling, floor")
    if "baseline" not in kwargs and "ceiling" not in kwargs:
        raise ValueError("runtime_budget needs at least baseline= or ceiling=")
    baseline = float(kwargs.get("baseline", float(kwargs.get("ceiling", 0)) * PROFILE_BASELINE / PROFILE_CEILING))
    derived = dict(zip(("warn", "ceiling", "floor"), _ratios(baseline), strict=True))
    values = {k: float(kwargs.get(k, derived[k])) for k in ("warn", "ceiling", "floor")}
    if not values["floor"] <= baseline <= values["warn"] <= values["ceiling"]:
        raise ValueError(
            f"runtime_budget must satisfy floor <= baseline <= warn <= ceiling, got floor={values['floor']}, "
            f"baseline={baseline}, warn={values['warn']}, ceiling={values['ceiling']}"
        )
    return Budget(baseline, values["warn"], values["ceiling"], values["floor"], "marker")


def default_budget(
    baseline=PROFILE_BASELINE, warn=PROFILE_WARN, ceiling=PROFILE_CEILING, floor=PROFILE_FLOOR
) -> Budget:
    return Budget(baseline, warn, ceiling, floor, "default")


def calibrate(recorded: Budget, factor: float, workers: int = 1) -> Budget:
    """The effective thresholds on a machine ``factor`` times slower than the recorded one (the only place
    a budget is scaled).

    ``factor`` comes clamped to ``calibration.FACTOR_LIMITS`` (0.5-2): a recorded 60 s warning and 90 s
    ceiling are absolute bounds at factor <= 1 and at most 120 / 180 s on any machine.
    Slower (factor > 1): the whole workload takes ``factor`` times longer, so every threshold scales,
    the absolute 60/90 s caps included; otherwise floors would overtake warnings and no run could be "ok".
    Faster (factor < 1): honest work finishes sooner, so floor and baseline shrink (else an honest run
    reads "incomplete"), but warn and ceiling never drop below the recorded ones: the micro-benchmark
    predicts TensorFlow and torch workloads only roughly, and a wrong guess must not stop a healthy test.
    Shared (``workers`` pytest-xdist workers): a budget is recorded with the machine to one test, and ``W``
    tests at once each get about ``1/W`` of it (the engines use every core), so warn and ceiling stretch by
    a further ``W``; floor and baseline do not (a test that did not slow down is not "incomplete").
    """
    slack = max(factor, 1.0) * max(workers, 1)
    return replace(
        recorded,
        floor=recorded.floor * factor,
        baseline=recorded.baseline * factor,
        warn=recorded.warn * slack,
        ceiling=recorded.ceiling * slack,
        factor=factor,
    )


def verdict(duration: float, budget: Budget) -> str:
    """ceiling > warn > incomplete > drift > ok. Tests without their own baseline are only held to warn/ceiling."""
    if duration >= budget.ceiling:
        return CEILING
    if duration > budget.warn:
        return WARN
    if budget.source == "default":
        return UNRECORDED
    if duration < budget.floor:
        return INCOMPLETE
    band = BAND_RELATIVE * budget.baseline
    if budget.source == "baseline":
        band = max(band, MIN_DRIFT)
    if abs(duration - budget.baseline) > band:
        return DRIFT
    return OK


def run_speed(records) -> float | None:
    """This run's own speed against the recorded one: the median of duration / recorded baseline over the
    timed tests recorded at >= ``MIN_JUDGED_BASELINE`` (None below ``MIN_SPEED_SAMPLES`` of them).

    The micro-benchmark predicts the suite's speed only roughly (start-up heavy tests ran 2x faster on a
    machine it read as 1.5x slower); the suite's own workload is the better witness of how fast honest work
    runs here.
    """
    ratios = sorted(
        r["duration"] / recorded
        for r in records
        if r["status"] not in ("skipped", UNRECORDED)
        and (recorded := r["budget"]["baseline"] / r["budget"]["factor"]) >= MIN_JUDGED_BASELINE
    )
    if len(ratios) < MIN_SPEED_SAMPLES:
        return None
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def fails_strict(status: str, budget: Budget, seconds: float, speed: float | None = None) -> bool:
    """Strict mode (CI): incomplete work fails a test whose recorded baseline is >= STRICT_MIN_BASELINE and
    that ran faster than its recorded floor scaled by the *fastest* reading of this machine: the
    micro-benchmark factor or the run's own ``speed`` (:func:`run_speed`), never above 1. A reading that says
    "slower" never raises the floor CI fails on (the benchmark's score swings with load: 200 vs 294 on one
    quiet machine), and a machine faster on the real workload than its benchmark says lowers it: only work
    missed on every reading fails CI. Without strict mode the per-test verdict is listed, never failed."""
    recorded_floor = budget.floor / budget.factor
    scale = min(1.0, budget.factor, speed if speed is not None else 1.0)
    return status == INCOMPLETE and budget.recorded_baseline >= STRICT_MIN_BASELINE and seconds < recorded_floor * scale
