"""Regressions from statistics (issue 23): synthetic runtime histories prove both directions: a 30 % step
is found (with the session it began at), a noisy but flat history and a small drift are not, and a
faster machine (calibration factor) is not a faster test."""

import json

import numpy as np
import pytest

from ptycho.testing.commands import run_ptycho
from ptycho.testing.trend import FASTER, SLOWER, report, trend

pytestmark = pytest.mark.per_pr
TEST = "tests/unit/test_x.py::test_y"


def history(durations, factors=None) -> list[dict]:
    factors = factors or [1.0] * len(durations)
    return [{"utc": f"2026-12-{i + 1:02d}T02:17:00Z", "factor": f, "tests": {TEST: d}}
            for i, (d, f) in enumerate(zip(durations, factors, strict=True))]


def noisy(rng, n, level=10.0, spread=0.08):
    return list(level * (1 + spread * rng.standard_normal(n)))


@pytest.mark.parametrize("seed", range(5))
def test_a_30_percent_step_is_found_with_the_run_it_began_at(seed):
    rng = np.random.default_rng(seed)
    sessions = history(noisy(rng, 12) + noisy(rng, 6, level=13.0))
    (change,), short = trend(sessions)
    # the step began at session 13; with 8 % noise one run on either side can overlap the other level
    assert change.direction == SLOWER and short == 0
    assert change.since in ("2026-12-12T02:17:00Z", "2026-12-13T02:17:00Z", "2026-12-14T02:17:00Z")
    assert 1.2 < change.effect < 1.4 and change.p < 0.01


@pytest.mark.parametrize("seed", range(20))
def test_noisy_but_flat_histories_are_not_flagged(seed):
    # 8 % noise, one 2x outlier in the recent runs: ranks ignore its size
    durations = noisy(np.random.default_rng(seed), 20)
    durations[-2] *= 2
    assert trend(history(durations)) == ([], 0)


def test_a_faster_step_is_reported_and_does_not_fail():
    rng = np.random.default_rng(1)
    lines, slower = report(history(noisy(rng, 10) + noisy(rng, 5, level=7.0)))
    assert not slower and any(f"{FASTER} since 2026-12-11" in line for line in lines), lines


def test_a_slower_machine_is_not_a_slower_test():
    rng = np.random.default_rng(2)
    durations = noisy(rng, 10) + [2 * d for d in noisy(rng, 5)]  # the last five ran on a 2x slower machine
    assert trend(history(durations, [1.0] * 10 + [2.0] * 5)) == ([], 0)


def test_short_histories_are_counted_not_judged():
    assert trend(history([10.0] * 9)) == ([], 1)


def test_the_command_exits_1_on_a_slower_test(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in history(noisy(rng, 10) + noisy(rng, 5, level=13.0))))
    result = run_ptycho("harness", "trend", str(path), check=False)
    assert result.returncode == 1 and "slower since 2026-12-1" in result.stdout, result.stdout
    path.write_text("".join(json.dumps(s) + "\n" for s in history(noisy(rng, 15))))
    assert run_ptycho("harness", "trend", str(path), check=False).returncode == 0
