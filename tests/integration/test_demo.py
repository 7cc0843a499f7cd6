"""The demo on a tiny setting: both engines, the report, the product file read back with h5py, and the
quality of the rows that do not depend on this tiny training budget.

Quality thresholds, measured over 5 data seeds of this setting (grf, 96×96, scan step 8; NumPy, so the
spread between CPUs is far smaller than between seeds): rPIE 50 iterations amplitude/phase SSIM
0.9994 ± 0.0006 / 0.9998 ± 0.0002; 20 refinement iterations from a flat start (what a network trained for
one epoch gives) 0.9982 ± 0.0013 / 0.9983 ± 0.0013, mean − 3σ ≥ 0.994. A flat object scores below 0.4.
"""

import json
import subprocess
import sys

import pytest

from ptycho.product import read_product
from ptycho.testing.checkpoints import assert_png_artifact

pytestmark = [pytest.mark.per_pr, pytest.mark.tf, pytest.mark.torch]
SOLVED_SSIM = 0.98  # below mean − 3σ (≥ 0.994) of rPIE and of refinement from a flat start


def _ssim(path, stage=None):
    metrics = json.loads(path.read_text())
    metrics = metrics[stage] if stage else metrics
    return metrics["amplitude"]["ssim"], metrics["phase"]["ssim"]


def test_demo_tiny(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ptycho.cli.main",
            "demo",
            "--output-dir",
            str(out),
            "--epochs",
            "1",
            "--n-groups",
            "8",
            "--batch-size",
            "8",
            "--object-size",
            "96",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "| rpie (50 it., no network) |" in report
    assert_png_artifact(out / "rpie" / "comparison.png")
    for engine in ("tensorflow", "pytorch"):
        assert f"| {engine} PINN |" in report and f"| {engine} PINN + 20 refinement it. |" in report
        for name in (
            "reconstructed_amplitude.png",
            "reconstructed_phase.png",
            "comparison.png",
            "network_comparison.png",
        ):
            assert_png_artifact(out / engine / name)
        product = read_product(out / engine / "product.h5")
        assert product["object"].ndim == 3 and product["probe"].shape[-2:] == (64, 64)
        assert len(product["probe_position_x_m"]) == len(product["probe_position_y_m"]) > 0
        assert min(_ssim(out / engine / "metrics.json", "refined")) > SOLVED_SSIM
    assert min(_ssim(out / "rpie" / "metrics.json")) > SOLVED_SSIM
    assert "Agreement between the engines" in report and (out / "report.html").exists()
    assert "demo: report written to" in result.stdout
