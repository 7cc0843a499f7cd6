"""Per PR: a smoke run of the archive and checkpoint fuzz campaigns, one case of every kind (22 archives,
10 checkpoints); the nightly campaign runs 15 and 12 of each kind (330 and 120), see ``archive_fuzz``."""

import math
import shutil
import tempfile
from pathlib import Path

import pytest
from archive_fuzz import (
    ARCHIVE_KINDS,
    CHECKPOINT_KINDS,
    draw_archive_case,
    draw_checkpoint_case,
    fuzz_settings,
    judge_archive,
    judge_checkpoint,
    make_bases,
    summary,
    tally,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.per_pr


def run_kind(tmp_path: Path, kind: str, examples: int, draw_case, judge, counts: dict) -> None:
    """One hypothesis run of ``examples`` cases of ``kind``, tallied into ``counts``."""

    @fuzz_settings(examples)
    @given(data=st.data())
    def one(data):
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        case = draw_case(data.draw, kind, folder)
        tally(counts, case, judge(case))
        shutil.rmtree(folder)  # also: the harness validates every *.ckpt a passing test leaves

    one()


def run_campaign(tmp_path: Path, kinds: list[str], examples: int, draw_case, judge) -> dict:
    """``examples`` cases spread evenly over ``kinds`` (one hypothesis run per kind, so each shrinks alone);
    ``{(kind, verdict): count}``."""
    counts = {}
    for kind in kinds:
        run_kind(tmp_path, kind, math.ceil(examples / len(kinds)), draw_case, judge, counts)
    return counts


def run_archive_campaign(tmp_path: Path, examples: int) -> dict:
    bases = make_bases(tmp_path / "base")
    counts = run_campaign(tmp_path, ARCHIVE_KINDS, examples,
                          lambda draw, kind, folder: draw_archive_case(draw, kind, bases, folder),
                          lambda case: judge_archive(case, bases))
    print(f"archive fuzz: {summary(counts)}")
    return counts


def run_checkpoint_campaign(tmp_path: Path, examples: int) -> dict:
    counts = run_campaign(tmp_path, CHECKPOINT_KINDS, examples, draw_checkpoint_case, judge_checkpoint)
    print(f"checkpoint fuzz: {summary(counts)}")
    return counts


def test_archive_fuzz_smoke(tmp_path):
    counts = run_archive_campaign(tmp_path, len(ARCHIVE_KINDS))
    assert {kind for kind, _ in counts} == set(ARCHIVE_KINDS)


@pytest.mark.torch
def test_checkpoint_fuzz_smoke(tmp_path):
    counts = run_checkpoint_campaign(tmp_path, len(CHECKPOINT_KINDS))
    assert {kind for kind, _ in counts} == set(CHECKPOINT_KINDS)
