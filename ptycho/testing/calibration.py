"""A fixed CPU micro-benchmark that scores the machine (well under a second).

Score = work units per second of a fixed NumPy + pure-Python workload. The factor ``recorded score / today's
score`` (clamped) says how many times slower this machine is than the one that recorded the baselines;
``budgets.calibrate`` turns it into effective thresholds.
"""

from __future__ import annotations

import time

import numpy as np

# The rule (docs/harness.md, "Calibration, both ways"): calibration stretches a recorded budget at most 2x
# and shrinks it at most 2x. A recorded 90 s ceiling is therefore at most 180 s anywhere and exactly 90 s
# on a machine as fast or faster; a floor is never below half its recorded value. Beyond 2x either way the
# micro-benchmark says little about TensorFlow and torch workloads, and a noisy reading must not
# quadruple every ceiling (it once read 143 against a recorded 203 on a machine merely busy for a moment).
FACTOR_LIMITS = (0.5, 2.0)


def _workload() -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((160, 160))
    acc = 0.0
    for _ in range(6):
        a = np.tanh(a @ a.T / 160.0)
        acc += float(np.fft.fft2(a).real[0, 0])
    total = 0
    for i in range(60_000):  # interpreter speed matters for test overhead too
        total += i % 7
    return acc + total


# The first tens of milliseconds of NumPy work after pytest's import phase run at about 60% speed on these
# VMs (a reading taken then: 110-130, against 205-225 just after), so timing starts after this much work.
WARM_UP_SECONDS = 0.25


def machine_score(repeats: int = 5) -> float:
    """Best-of-``repeats`` runs of the workload per second, after :data:`WARM_UP_SECONDS` of untimed runs
    (one-off set-up costs of NumPy/BLAS, and the machine's slow start from idle)."""
    warm_up_until = time.perf_counter() + WARM_UP_SECONDS
    _workload()
    while time.perf_counter() < warm_up_until:
        _workload()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - start)
    return 1.0 / best


def scale_factor(recorded_score: float | None, today_score: float | None) -> float:
    if not recorded_score or not today_score:
        return 1.0
    low, high = FACTOR_LIMITS
    return min(max(recorded_score / today_score, low), high)
