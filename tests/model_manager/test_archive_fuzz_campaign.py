"""Nightly: the archive and checkpoint fuzz campaigns of issue 16 (330 generated archives, 120 generated
checkpoints, as many of each kind; generators and oracle in ``archive_fuzz``): no exception but the project's errors escapes
``read_archive`` or the checkpoint reader, every message names the file, nothing invalid is accepted and
every valid rewrite is."""

import pytest
from archive_fuzz import ARCHIVE_KINDS, CHECKPOINT_KINDS
from test_archive_fuzz_smoke import run_archive_campaign, run_checkpoint_campaign

pytestmark = pytest.mark.nightly
ARCHIVES, CHECKPOINTS = 330, 120


def test_archive_fuzz_campaign(tmp_path):
    counts = run_archive_campaign(tmp_path, ARCHIVES)
    assert sum(counts.values()) >= ARCHIVES
    assert {kind for kind, _ in counts} == set(ARCHIVE_KINDS), "a generator was never drawn"


@pytest.mark.torch
def test_checkpoint_fuzz_campaign(tmp_path):
    counts = run_checkpoint_campaign(tmp_path, CHECKPOINTS)
    assert sum(counts.values()) >= CHECKPOINTS
    assert {kind for kind, _ in counts} == set(CHECKPOINT_KINDS), "a generator was never drawn"
