"""Nightly: the archive and checkpoint fuzz campaigns of issue 16 (330 generated archives, 120 generated
checkpoints, as many of each kind; generators and oracle in ``archive_fuzz``): no exception but the project's errors escapes
``read_archive`` or the checkpoint reader, every message names the file, nothing invalid is accepted and
every valid rewrite is."""

import pytest
from archive_fuzz import ARCHIVE_KINDS, CHECKPOINT_KINDS
from test_archive_fuzz_smoke import run_archive_campaign, run_checkpoint_campaign

pytestmark = pytest.mark.nightly
ARCHIVES, CHECKPOINTS = 330, 120


@pytest.mark.runtime_budget(baseline=2, ceiling=60)  # measured 1.6 s on 2 shared cores; 60 s is the campaign's cap
def test_archive_fuzz_campaign(tmp_path):
    counts = run_archive_campaign(tmp_path, ARCHIVES)
    assert sum(counts.values()) >= ARCHIVES
    assert {kind for kind, _ in counts} == set(ARCHIVE_KINDS), "a generator was never drawn"


@pytest.mark.torch
@pytest.mark.runtime_budget(baseline=3, ceiling=60)  # measured 2.7 s (torch import included); cap as above
def test_checkpoint_fuzz_campaign(tmp_path):
    counts = run_checkpoint_campaign(tmp_path, CHECKPOINTS)
    assert sum(counts.values()) >= CHECKPOINTS
    assert {kind for kind, _ in counts} == set(CHECKPOINT_KINDS), "a generator was never drawn"
