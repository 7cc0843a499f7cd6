"""Fault tolerance and distributed training of the PyTorch engine, through the real command line."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ptycho.archive import read_archive
from ptycho.testing.checkpoints import assert_lightning_checkpoint

pytest.importorskip("torch")
pytestmark = pytest.mark.nightly


def train_cmd(data, out, *extra, epochs=4, batch_size=4):
    return [sys.executable, "-m", "ptycho.cli.main", "--quiet", "train", "--backend", "pytorch", "--train-data",
            str(data), "--output-dir", str(out), "--epochs", str(epochs), "--n-groups", "32", "--gridsize", "1",
            "--batch-size", str(batch_size), "--n-filters-scale", "1", "--accelerator", "cpu", "--logger", "none",
            "--deterministic", *extra]


def test_sigkill_then_resume_equals_uninterrupted(torch_tiny_npz, tmp_path):
    reference = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "a"), capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    victim = subprocess.Popen(train_cmd(torch_tiny_npz, tmp_path / "b"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    last = tmp_path / "b" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (tmp_path / "b" / "wts.h5.zip").exists()
    assert_lightning_checkpoint(last)
    resumed = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "b", "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    wa = read_archive(tmp_path / "a").neutral_weights()
    wb = read_archive(tmp_path / "b").neutral_weights()
    worst = max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa)
    assert worst <= 1e-6


def test_resume_without_checkpoint_is_a_clear_error(torch_tiny_npz, tmp_path):
    result = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "c", "--resume"), capture_output=True, text=True)
    assert result.returncode == 1 and "cannot resume: no checkpoint at" in result.stderr


def _ssim(out_dir, data):
    infer = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "--quiet", "infer", "--backend", "pytorch",
                            "--model", str(out_dir), "--data", str(data), "--output-dir", str(out_dir / "inf")],
                           capture_output=True, text=True)
    assert infer.returncode == 0, infer.stderr
    import json

    metrics = json.loads((out_dir / "inf" / "metrics.json").read_text())
    return metrics["amplitude"]["ssim"], metrics["phase"]["ssim"]


def test_ddp_two_processes_on_cpu(torch_tiny_npz, tmp_path):
    ddp = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "ddp", "--devices", "2", "--strategy", "ddp", epochs=3),
                         capture_output=True, text=True)
    assert ddp.returncode == 0, ddp.stderr
    checkpoints = sorted((tmp_path / "ddp" / "checkpoints").glob("*.ckpt"))
    assert [p.name for p in checkpoints if p.name == "last.ckpt"] == ["last.ckpt"]
    for path in checkpoints:
        assert_lightning_checkpoint(path)
    # the same total batch: 2 processes × 4 groups == 1 process × 8 groups
    single = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "one", epochs=3, batch_size=8),
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    ddp_amp, ddp_phase = _ssim(tmp_path / "ddp", torch_tiny_npz)
    one_amp, one_phase = _ssim(tmp_path / "one", torch_tiny_npz)
    assert ddp_amp >= one_amp - 0.05 and ddp_phase >= one_phase - 0.05
