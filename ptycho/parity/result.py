"""One parity check: a name, what it runs, and the measured error against its tolerance."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


def seeded(*key) -> np.random.Generator:
    """A generator seeded by a check's own key (strings hashed stably): the same inputs in every run."""
    return np.random.default_rng([zlib.crc32(str(k).encode()) for k in key])


def relative_error(actual, expected) -> float:
    """``max|actual − expected| / max|expected|`` (0 when both are all zero)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise ValueError(f"shapes differ: {actual.shape} vs {expected.shape}")
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    diff = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return diff / scale if scale > 0 else diff


@dataclass(frozen=True)
class Result:
    name: str
    group: str
    error: float
    tolerance: float
    detail: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.tolerance)  # NaN never passes

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def describe(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        text = f"{self.name}: error {self.error:.3g} vs tolerance {self.tolerance:.2g} ({verdict}) {self.detail}"
        return text.strip()


@dataclass(frozen=True)
class Check:
    """``measure()`` returns ``error`` or ``(error, detail)``; nothing runs until :meth:`run`."""

    name: str
    group: str
    tolerance: float
    measure: Callable[[], float | tuple[float, str]]
    tier: str = "nightly"

    def run(self) -> Result:
        start = time.perf_counter()
        measured = self.measure()
        error, detail = measured if isinstance(measured, tuple) else (measured, "")
        return Result(self.name, self.group, float(error), self.tolerance, detail, time.perf_counter() - start)
