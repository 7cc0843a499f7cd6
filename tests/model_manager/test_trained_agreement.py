"""Weekly: both engines trained from the same initial weights on the same batches in the same order agree
with each other (and each reaches the per-PR quality gate against the ground truth)."""

import pytest

from ptycho.parity import registry

pytestmark = [pytest.mark.weekly, pytest.mark.tf, pytest.mark.torch]


@pytest.mark.runtime_budget(baseline=18, warn=100, ceiling=180)  # measured 17-18 s (AMD EPYC, 2 cores, 2026-11-29)
def test_engines_trained_in_lock_step_agree():
    results = registry.run(registry.all_checks(groups=("trained",)))
    for result in results:
        print(result.describe())
    failed = [r.describe() for r in results if not r.passed]
    assert len(results) == 7 and not failed, "\n".join(failed)
