"""The demo on a tiny setting: both engines, the report, and the product file read back with h5py."""

import subprocess
import sys

import pytest

from ptycho.product import read_product
from ptycho.testing.checkpoints import assert_png_artifact

pytestmark = [pytest.mark.per_pr, pytest.mark.tf, pytest.mark.torch]


def test_demo_tiny(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "demo", "--output-dir", str(out), "--epochs", "1",
                             "--n-groups", "8", "--batch-size", "8", "--object-size", "96"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "| rpie (50 it., no network) |" in report
    assert_png_artifact(out / "rpie" / "comparison.png")
    for engine in ("tensorflow", "pytorch"):
        assert f"| {engine} PINN |" in report and f"| {engine} PINN + 20 refinement it. |" in report
        for name in ("reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png",
                     "network_comparison.png"):
            assert_png_artifact(out / engine / name)
        product = read_product(out / engine / "product.h5")
        assert product["object"].ndim == 3 and product["probe"].shape[-2:] == (64, 64)
        assert len(product["probe_position_x_m"]) == len(product["probe_position_y_m"]) > 0
    assert "Agreement between the engines" in report and (out / "report.html").exists()
    assert "demo: report written to" in result.stdout
