"""Per PR: a small archive that inflates to 1.5 GB is refused before it is inflated, in a fresh process
whose peak RSS (VmHWM, ptycho.testing.memory) stays near an interpreter's (issue 16, finding 5: it was accepted at
3.2 GB RSS by ``inspect``, 5.3 GB by ``infer``, and an unlisted member was inflated before being refused)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from archive_cases import huge_zero_member, make_valid_archive, manifest_of, read_members, with_manifest, write_zip

from ptycho.archive import MAX_ARCHIVE_BYTES_ENV, NEUTRAL_WEIGHTS

pytestmark = pytest.mark.per_pr
HUGE = 1536 << 20  # the 1.5 GB member; it travels as 1.5 MB of deflate
# Refusing from the zip directory costs what reading a valid few-kB archive costs; 64 MiB of slack covers
# allocator noise and is 24 times below the member's size.
SLACK_KB = 64 << 10
READER = """
import json, sys
from ptycho.archive import read_archive
from ptycho.testing.memory import peak_rss_kb
from ptycho.errors import ArchiveError
try:
    read_archive(sys.argv[1]).neutral_weights()
    outcome = "accepted"
except ArchiveError as exc:
    outcome = str(exc)
print(json.dumps({"outcome": outcome, "peak_kb": peak_rss_kb()}))
"""
INSPECT = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "inspect", sys.argv[1]], capture_output=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def read_in_fresh_process(path: Path, env: dict | None = None) -> dict:
    import os

    out = subprocess.run([sys.executable, "-c", READER, str(path)], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("huge")
    valid = make_valid_archive(folder / "valid")
    members = read_members(valid)
    huge, digest = huge_zero_member(NEUTRAL_WEIGHTS, HUGE)
    manifest = manifest_of(members)
    manifest["sha256"][NEUTRAL_WEIGHTS] = digest  # listed, with its true checksum and CRC
    listed = with_manifest([huge if m.name == NEUTRAL_WEIGHTS else m for m in members], manifest)
    unlisted_member, _ = huge_zero_member("extra.npz", HUGE)
    return {
        "valid": valid,
        "listed": write_zip(folder / "listed.zip", listed),
        "unlisted": write_zip(folder / "unlisted.zip", [*members, unlisted_member]),
    }


def test_huge_members_are_refused_before_inflation_within_bounded_memory(archives):
    assert archives["listed"].stat().st_size < 4 << 20
    baseline = read_in_fresh_process(archives["valid"])
    assert baseline["outcome"] == "accepted"
    listed = read_in_fresh_process(archives["listed"])
    assert "over the ceiling of 1073741824 bytes; nothing was inflated" in listed["outcome"]
    assert f"set {MAX_ARCHIVE_BYTES_ENV} to a larger number of bytes" in listed["outcome"]
    raised = read_in_fresh_process(archives["listed"], {MAX_ARCHIVE_BYTES_ENV: str(4 << 30)})
    assert "a decompression bomb" in raised["outcome"]  # a raised ceiling still refuses a 1000:1 member
    unlisted = read_in_fresh_process(archives["unlisted"])
    assert "['extra.npz'] are not listed in the manifest" in unlisted["outcome"]
    for case in (listed, raised, unlisted):
        assert case["peak_kb"] < baseline["peak_kb"] + SLACK_KB, (case, baseline)


def test_inspect_refuses_the_huge_archive_within_bounded_memory(archives, tmp_path):
    peaks, codes = {}, {}
    for name in ("valid", "listed"):
        target = tmp_path / name / "wts.h5.zip"
        target.parent.mkdir()
        target.write_bytes(archives[name].read_bytes())
        out = subprocess.run([sys.executable, "-c", INSPECT, str(target)], capture_output=True, text=True, check=True)
        codes[name], peaks[name] = map(int, out.stdout.split())
    assert codes == {"valid": 0, "listed": 1}
    assert peaks["listed"] < peaks["valid"] + SLACK_KB, peaks
