"""The PyTorch engine's command lines as real subprocesses: flags, deprecated flags, errors, POLICY-001."""

import subprocess
import sys
import textwrap

import pytest

from ptycho.testing.checkpoints import assert_lightning_checkpoint, assert_model_archive, assert_png_artifact

pytest.importorskip("torch")


def run(*args, env=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


def test_train_and_infer_with_deprecated_flags(torch_tiny_npz, tmp_path):
    out = tmp_path / "model"
    train = run("-m", "ptycho_torch.train", "--train_data_file", str(torch_tiny_npz), "--test_data_file",
                str(torch_tiny_npz), "--output_dir", str(out), "--max_epochs", "1", "--n_images", "8", "--gridsize", "1",
                "--batch_size", "4", "--device", "cpu", "--disable_mlflow", "--n-filters-scale", "1", "--quiet")
    assert train.returncode == 0, train.stderr
    for old, new in (("--device", "--accelerator"), ("--disable_mlflow", "--logger none"), ("--n_images", "--n-groups")):
        assert f"{old} is deprecated; use {new}" in train.stderr
    assert_model_archive(out / "wts.h5.zip", backend="pytorch")
    assert_lightning_checkpoint(out / "checkpoints" / "last.ckpt")
    assert not (out / "logs").exists()  # --disable_mlflow -> --logger none
    inf = run("-m", "ptycho_torch.inference", "--model_path", str(out), "--test_data", str(torch_tiny_npz),
              "--output_dir", str(tmp_path / "inf"), "--n_groups", "12", "--accelerator", "cpu")
    assert inf.returncode == 0, inf.stderr
    for name in ("reconstructed_amplitude.png", "reconstructed_phase.png"):
        assert_png_artifact(tmp_path / "inf" / name)
    assert (tmp_path / "inf" / "metrics.json").is_file() and (tmp_path / "inf" / "reconstruction.npz").is_file()


def test_missing_file_names_the_path(tmp_path):
    result = run("-m", "ptycho_torch.train", "--train_data_file", str(tmp_path / "nope.npz"), "--output_dir",
                 str(tmp_path / "o"))
    assert result.returncode == 1 and f"dataset not found: {tmp_path / 'nope.npz'}" in result.stderr


def test_policy_001_message_when_torch_cannot_be_imported(tmp_path):
    """A real interpreter where ``import torch`` fails: the package says what is needed and how to get it."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('No module named torch (blocked for this test)')\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(blocker)!r})
        try:
            import ptycho_torch
        except RuntimeError as exc:
            print(exc)
    """)
    result = run("-c", code)
    assert "PyTorch >= 2.2 is required" in result.stdout and "pip install torch>=2.2" in result.stdout


def test_policy_001_old_torch_version(tmp_path):
    fake = tmp_path / "old"
    fake.mkdir()
    (fake / "torch.py").write_text("__version__ = '2.1.0+cpu'\n")
    code = f"import sys; sys.path.insert(0, {str(fake)!r})\ntry:\n    import ptycho_torch\nexcept RuntimeError as e:\n    print(e)"
    assert "found torch 2.1.0+cpu" in run("-c", code).stdout
