"""Fault tolerance and distributed training of the PyTorch engine, through the real command line."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ptycho.archive import read_archive
from ptycho.testing.checkpoints import assert_lightning_checkpoint, assert_model_archive

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.nightly


def train_cmd(data, out, *extra, epochs=4, batch_size=4):
    return [sys.executable, "-m", "ptycho.cli.main", "--quiet", "train", "--backend", "pytorch", "--train-data",
            str(data), "--output-dir", str(out), "--epochs", str(epochs), "--n-groups", "32", "--gridsize", "1",
            "--batch-size", str(batch_size), "--n-filters-scale", "1", "--accelerator", "cpu", "--logger", "none",
            "--deterministic", *extra]


RESUME_EPOCHS = 8  # long enough (about 0.5 s an epoch here) to be killed in its middle


def _checkpoint_epoch(path) -> int:
    """Epochs ``last.ckpt`` holds (0 while there is none, or while it is being replaced)."""
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"]) + 1
    except (FileNotFoundError, RuntimeError, EOFError):
        return 0


def _csv_rows(path) -> list[tuple[int, float]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss"
    return [(int(epoch), float(loss)) for epoch, loss, _ in (line.split(",") for line in lines[1:])]


def test_sigkill_then_resume_equals_uninterrupted_with_whole_history(torch_tiny_npz, tmp_path):
    """Killed after at least 3 of 8 epochs and resumed: the same weights as an uninterrupted run, and a history
    that lists every epoch once, numbered as trained, with the uninterrupted run's losses (finding 7 of issue 16:
    it listed epochs 1-4 holding the losses of epochs 5-8)."""
    reference = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "a", epochs=RESUME_EPOCHS), capture_output=True,
                               text=True)
    assert reference.returncode == 0, reference.stderr
    victim = subprocess.Popen(train_cmd(torch_tiny_npz, tmp_path / "b", epochs=RESUME_EPOCHS),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "b" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while _checkpoint_epoch(last) < 3 and victim.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL, "training finished before it could be killed"
    killed_after = _checkpoint_epoch(last)
    assert 3 <= killed_after < RESUME_EPOCHS
    assert not (tmp_path / "b" / "wts.h5.zip").exists()
    assert_lightning_checkpoint(last)
    resumed = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "b", "--resume", epochs=RESUME_EPOCHS),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    wa = read_archive(tmp_path / "a").neutral_weights()
    wb = read_archive(tmp_path / "b").neutral_weights()
    worst = max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa)
    assert worst <= 1e-6

    expected = json.loads((tmp_path / "a" / "history.json").read_text())["train_loss"]
    history = json.loads((tmp_path / "b" / "history.json").read_text())
    epochs = list(range(1, RESUME_EPOCHS + 1))
    assert history["epoch"] == epochs
    # the weights agree to 1e-6, so the losses agree to float32 rounding (the losses are about 4e6)
    np.testing.assert_allclose(history["train_loss"], expected, rtol=1e-6)
    rows = _csv_rows(tmp_path / "b" / "history.csv")
    assert [epoch for epoch, _ in rows] == epochs
    np.testing.assert_allclose([loss for _, loss in rows], expected, rtol=1e-6)
    assert f"trained (pytorch) {RESUME_EPOCHS} epochs" in resumed.stdout, resumed.stdout


def test_resume_without_checkpoint_is_a_clear_error(torch_tiny_npz, tmp_path):
    result = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "c", "--resume"), capture_output=True, text=True)
    assert result.returncode == 1 and "cannot resume: no checkpoint at" in result.stderr


class _RunsCode:
    """What a hostile ``last.ckpt`` holds: unpickling it would run ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _pickle_payload(path, marker):
    torch.save({"epoch": 3, "state_dict": {"w": torch.zeros(2)}, "payload": _RunsCode(marker)}, path)


def _truncated(path, marker):
    torch.save({"epoch": 3, "state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("make", "says"),
    [(_pickle_payload, "refused: it holds pickled objects"), (_truncated, "it is damaged, truncated or not a checkpoint")],
    ids=["pickle-payload", "truncated"],
)
def test_unloadable_resume_checkpoint_is_one_paragraph(torch_tiny_npz, tmp_path, make, says):
    """Finding 7 of issue 16: a refused ``last.ckpt`` gave an UnpicklingError traceback."""
    last = tmp_path / "d" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    make(last, marker)
    result = subprocess.run(train_cmd(torch_tiny_npz, tmp_path / "d", "--resume"), capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("ptycho train: error: cannot resume from ") and str(last) in message, result.stderr
    assert says in message and "without --resume" in message and "delete the file" in message
    assert "Traceback" not in result.stderr
    assert not marker.exists() and not (tmp_path / "d" / "wts.h5.zip").exists()
    last.unlink()  # made invalid on purpose: the plugin would fail the test for leaving it behind


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


def test_ddp_spawn_two_processes_on_cpu(torch_tiny_npz, tmp_path):
    """ptychodus's strategy: the model is pickled into each spawned process (a lambda in it used to fail
    with "Can't pickle local object 'PtychoPINN.__init__.<locals>.<lambda>'")."""
    out = tmp_path / "spawn"
    spawn = subprocess.run(train_cmd(torch_tiny_npz, out, "--devices", "2", "--strategy", "ddp_spawn", epochs=1),
                           capture_output=True, text=True)
    assert spawn.returncode == 0, spawn.stderr
    assert_model_archive(out / "wts.h5.zip", backend="pytorch")
    assert len(json.loads((out / "history.json").read_text())["train_loss"]) == 1  # read back from last.ckpt
    # the archive holds the trained weights the children sent back, not the seeded start
    from ptycho.architecture import Architecture, initial_conv_weights
    from ptycho.config.config import model_config_from_params

    archive = read_archive(out)
    start = initial_conv_weights(Architecture.from_model_config(model_config_from_params(archive.params)), 0)
    trained = archive.neutral_weights()
    assert max(float(np.abs(trained[k] - v).max()) for k, v in start.items()) > 1e-4
