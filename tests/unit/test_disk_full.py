"""Findings of the outside fault campaign: on a full disk (here: a file size limit, RLIMIT_FSIZE, which fails
writes the way ENOSPC does) no temp file survives a failed save and the message names the file. Before,
PyTorch training left ``checkpoints/.last.ckpt.tmp`` behind and 9 of 10 messages said only "[Errno 28] No
space left on device"."""

import subprocess
import sys
from pathlib import Path

import pytest

from ptycho.testing.commands import CPU_ONLY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, as ENOSPC fails it
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
{body}
"""


def _limited(body: str, limit: int, *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", LIMITED.format(limit=limit, body=body), *args],
                          capture_output=True, text=True, timeout=600, env={**os.environ, **CPU_ONLY})


@pytest.mark.per_pr
def test_a_failed_atomic_write_names_the_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "scan.npz"
    target.write_bytes(b"previous")
    body = ("import numpy as np\nfrom ptycho.data_contract import write_npz\n"
            "write_npz(sys.argv[1], {'x': np.zeros(2**20)})")  # 8 MB past a 1 MB limit
    result = _limited(body, 2**20, str(target))
    assert result.returncode == 1 and f"while writing {target}" in result.stderr, result.stderr
    assert target.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["scan.npz"]


@pytest.mark.per_pr
@pytest.mark.torch
def test_pytorch_training_on_a_full_disk_names_the_checkpoint_and_leaves_no_temp_file(tmp_path):
    out = tmp_path / "run"
    body = ("from ptycho.cli.main import main\n"
            "sys.exit(main(['train', '--backend', 'pytorch', '--train-data', sys.argv[1], '--output-dir', sys.argv[2],"
            " '--epochs', '1', '--n-groups', '16', '--init', 'none', '--logger', 'none']))")
    # 256 kB: every small file fits (history, logs), a checkpoint of the network (about 1.3 MB) does not
    result = _limited(body, 256 * 1024, str(FIXTURES / "data" / "sim_n64.npz"), str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "could not write the checkpoint" in result.stderr and "last.ckpt" in result.stderr, result.stderr[-2000:]
    assert not [p for p in out.rglob("*") if ".tmp" in p.name], sorted(map(str, out.rglob("*")))
