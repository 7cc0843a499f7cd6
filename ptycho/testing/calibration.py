"""A fixed CPU micro-benchmark that scores the machine (well under a second).

Score = work units per second of a fixed NumPy + pure-Python workload. The factor ``recorded score / today's
score`` (clamped) says how many times slower this machine is than the one that recorded the baselines;
``budgets.calibrate`` turns it into effective thresholds.
"""

from __future__ import annotations

import time

import numpy as np

FACTOR_LIMITS = (0.25, 4.0)  # beyond 4x either way the micro-benchmark says little about real workloads


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


def machine_score(repeats: int = 5) -> float:
    """Best-of-``repeats`` runs of the workload per second, after one untimed warm-up run."""
    _workload()  # first calls into NumPy/BLAS pay one-off set-up costs
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
