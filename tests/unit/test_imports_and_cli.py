"""`import ptycho` stays light; the `ptycho` command line runs as a real subprocess."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ptycho.data_contract import read_npz

HEAVY = ("tensorflow", "torch", "keras", "lightning")


@pytest.mark.parametrize("module", ["ptycho", "ptycho.config.config", "ptycho.params", "ptycho.raw_data",
                                    "ptycho.loader", "ptycho.physics", "ptycho.metrics", "ptycho.cli.main",
                                    "ptycho.tf_helper"])
def test_core_modules_import_no_engine(module):
    code = f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def ptycho(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ptycho.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd)


def test_simulate_writes_npz_and_picture(tmp_path):
    out = tmp_path / "sim.npz"
    result = ptycho("simulate", "-o", str(out), "--object-size", "128", "--scan", "grid", "--seed", "4",
                    "--gridsize", "2")
    assert result.returncode == 0, result.stderr
    ds = read_npz(out)
    assert ds.objectGuess.shape == (128, 128) and ds.probeGuess.shape == (64, 64)
    picture = out.with_suffix(".png")
    assert picture.stat().st_size > 10_000
    import matplotlib.image as mpimg

    image = mpimg.imread(picture)
    assert image.std() > 0.01  # not a blank picture
    again = tmp_path / "again.npz"
    assert ptycho("simulate", "-o", str(again), "--object-size", "128", "--scan", "grid", "--seed", "4",
                  "--no-plot").returncode == 0
    np.testing.assert_array_equal(read_npz(again).diffraction, ds.diffraction)
    assert not again.with_suffix(".png").exists()


def test_usage_errors_exit_2_and_failures_exit_1(tmp_path):
    assert ptycho().returncode == 2
    bad = ptycho("simulate", "-o", str(tmp_path / "x.npz"), "--object", "cat")
    assert bad.returncode == 2 and "use lines, grf, star, sharp or image:PATH" in bad.stderr
    failed = ptycho("simulate", "-o", str(tmp_path / "x.npz"), "--object-size", "40")
    assert failed.returncode == 1
    assert "ptycho simulate: error: object of 40 px is too small" in failed.stderr
    assert "Traceback" not in failed.stderr
    debug = ptycho("--debug", "simulate", "-o", str(tmp_path / "x.npz"), "--object-size", "40")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert not (tmp_path / "x.npz").exists()


def test_help_lists_commands():
    result = ptycho("--help")
    assert result.returncode == 0 and "simulate" in result.stdout and "demo" in result.stdout


def test_inspect_and_evaluate(tmp_path):
    data = tmp_path / "d.npz"
    assert ptycho("simulate", "-o", str(data), "--object-size", "128", "--no-plot").returncode == 0
    shown = ptycho("inspect", str(data))
    assert shown.returncode == 0 and "valid under the data contract" in shown.stdout
    truth = read_npz(data)
    recon = tmp_path / "reconstruction.npz"
    np.savez(recon, object=truth.objectGuess * 2 * np.exp(0.5j),
             positions=np.stack([truth.xcoords, truth.ycoords], axis=1))
    evaluated = ptycho("evaluate", "--reconstruction", str(recon), "--truth", str(data), "--output",
                       str(tmp_path / "m.json"), "--plot", str(tmp_path / "c.png"))
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["amplitude"]["ssim"] > 0.99 and metrics["phase"]["ssim"] > 0.99
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_inspect_refuses_invalid_files(tmp_path):
    junk = tmp_path / "wts.h5.zip"
    junk.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    bad = ptycho("inspect", str(junk))
    assert bad.returncode == 1 and "no manifest.json" in bad.stderr
    missing = ptycho("inspect", str(tmp_path / "nothing.npz"))
    assert missing.returncode == 1 and "nothing to inspect at" in missing.stderr


def _damaged_files(folder):
    """Damaged or foreign files of every kind inspect reads, and what its one-paragraph error must say."""
    from pathlib import Path

    archive = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v1" / "pytorch" / "wts.h5.zip"
    np.savez(folder / "dataset.npz", diffraction=np.ones((4, 64, 64), np.float32), xcoords=np.arange(4.0),
             ycoords=np.arange(4.0))
    np.save(folder / "bare.npy", np.ones(3))
    (folder / "model").mkdir()
    (folder / "model" / "wts.h5.zip").write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder / "relabelled")
    manifest = json.loads((folder / "relabelled" / "manifest.json").read_text())
    (folder / "relabelled" / "manifest.json").write_text(json.dumps({**manifest, "backend": "jax"}))
    (folder / "last.ckpt").write_bytes(b"not a checkpoint")
    (folder / "product.h5").write_bytes(b"\x89HDF\r\n\x1a\nbroken")
    (folder / "notes.txt").write_text("hello")
    (folder / "empty.npz").write_bytes(b"")
    dataset = (folder / "dataset.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(dataset[: len(dataset) // 3])
    return {
        "truncated.npz": "is a damaged zip archive",
        "empty.npz": "is empty (0 bytes)",
        "bare.npy": "a single .npy array, not an NPZ dataset",
        "model/wts.h5.zip": "not a readable zip archive",
        "relabelled": "field 'backend' is 'jax', not one of 'tensorflow', 'pytorch'",
        "last.ckpt": "does not load with torch.load(weights_only=True)",
        "product.h5": "not a readable product file",
        "notes.txt": "not a kind of file ptycho inspect reads",
    }


def test_inspect_reports_damaged_files_in_one_paragraph(tmp_path_factory):
    """Issue 16, finding 4: each of these was a traceback (BadZipFile, EOFError, TypeError, ...)."""
    folder = tmp_path_factory.mktemp("damaged")  # not tmp_path: the harness would validate the damaged .ckpt
    expected = _damaged_files(folder)
    runs = {name: subprocess.Popen([sys.executable, "-m", "ptycho.cli.main", "inspect", str(folder / name)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in expected}
    for name, run in runs.items():
        stdout, stderr = run.communicate()
        assert run.returncode == 1, (name, stdout, stderr)
        assert "Traceback" not in stderr and "please report this" not in stderr, stderr
        assert stderr.startswith(f"ptycho inspect: error: {folder / name}"), stderr
        assert expected[name] in stderr and stderr.count("\n") == 1 and "pickled" not in stderr, (name, stderr)
