"""The iterative solver and refinement (NumPy): their update rules, convergence on simulated scans, the
phase alignment of stitched patches, and ``ptycho reconstruct`` through the real command line."""

import json

import numpy as np
import pytest

from ptycho.data_contract import from_arrays, write_npz
from ptycho.outputs import score
from ptycho.physics import PatchExtraction
from ptycho.physics.stitching import align_phases, stitch
from ptycho.product import read_product
from ptycho.raw_data import RawData
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.solver import data_fit, reconstruct_iterative, refine, scan_of
from ptycho.solver.pie import fourier_factor
from ptycho.solver.workflow import place, scan_positions
from ptycho.testing.commands import run_ptycho

pytestmark = pytest.mark.per_pr
SPEC = SimulationSpec(N=64, object_kind="grf", object_size=128, scan_step=8, seed=4)


@pytest.fixture(scope="module")
def raw():
    return RawData(simulate_dataset(SPEC)[0])


def test_fourier_factors_share_the_fixed_point_and_stay_finite():
    counts = np.array([0.0, 4.0, 4.0, 9.0])
    predicted = np.array([1.0, 4.0, 0.0, 1.0])
    for algorithm in ("epie", "poisson"):
        factor = fourier_factor(predicted, counts, algorithm)
        assert factor[1] == pytest.approx(1.0)  # a² = I: nothing to correct
        assert factor[0] == pytest.approx(0.0)  # no counts: the far field is removed
    poisson = fourier_factor(predicted, counts, "poisson")
    assert np.all(np.isfinite(poisson)) and poisson[2] == pytest.approx(2.0)  # bounded where a = 0
    assert poisson[3] == pytest.approx(2 * 9 / 10)  # one Newton step on λ − I·log λ in the amplitude


@pytest.mark.parametrize("algorithm", ["epie", "rpie"])
def test_iterative_solver_reconstructs_a_simulated_scan(raw, algorithm):
    # Measured on this scan (1e9 photons): SSIM ≥ 0.999 after 20 iterations for both algorithms, and an
    # untrained flat object scores below 0.4; 0.97 leaves room for a different BLAS or visiting order.
    estimate = reconstruct_iterative(raw, algorithm, 20)
    quality = score(estimate.obj, raw.objectGuess, estimate.positions)
    assert quality["amplitude"]["ssim"] > 0.97 and quality["phase"]["ssim"] > 0.97, quality
    nll = [row["poisson_nll"] for row in estimate.history]
    assert nll[-1] < nll[0] and estimate.history[-1]["r_factor"] < 0.05


def test_refinement_lowers_the_poisson_nll_from_a_rough_start(raw):
    rng = np.random.default_rng(0)
    truth = raw.objectGuess
    rough = truth * np.exp(1j * 0.3 * rng.standard_normal(truth.shape)) * (0.5 + rng.random(truth.shape))
    scan, _ = scan_of(raw)
    start_fit = data_fit(rough * 1.0, raw.probeGuess, scan)
    estimate = refine(rough, (0, 0), raw, 10)
    assert estimate.history[-1]["poisson_nll"] < start_fit["poisson_nll"]
    before = score(rough, truth, estimate.positions)
    after = score(estimate.obj, truth, estimate.positions)
    assert after["phase"]["ssim"] > before["phase"]["ssim"] + 0.2 and after["phase"]["ssim"] > 0.95


def test_probe_refinement_recovers_from_a_blurred_probe(raw):
    from scipy import ndimage

    blurred = ndimage.gaussian_filter(raw.probeGuess.real, 2) + 1j * ndimage.gaussian_filter(raw.probeGuess.imag, 2)
    fixed = refine(np.ones(raw.objectGuess.shape), (0, 0), raw, 15, probe=blurred)
    refined = refine(np.ones(raw.objectGuess.shape), (0, 0), raw, 15, probe=blurred, refine_probe=True)
    assert refined.history[-1]["r_factor"] < 0.7 * fixed.history[-1]["r_factor"]


def test_without_a_truth_the_frame_holds_every_window_and_objects_are_placed_in_it():
    _, arrays = simulate_dataset(SPEC)
    arrays.pop("objectGuess")
    raw = RawData(from_arrays(arrays, source="no-truth"))
    scan, origin = scan_of(raw)
    assert np.allclose(scan.positions, scan_positions(raw) - origin)
    lo = scan.positions.min(axis=0) - 32
    hi = scan.positions.max(axis=0) + 32
    assert np.all(lo >= 0) and hi[0] <= scan.canvas_shape[1] and hi[1] <= scan.canvas_shape[0]
    placed = place(np.ones((40, 50)), origin + [5, 7], scan.canvas_shape, origin)
    assert placed.shape == scan.canvas_shape and np.count_nonzero(placed) == 40 * 50
    assert placed[7, 5] == 1 and placed[6, 5] == 0 and placed[7, 4] == 0


def test_align_phases_undoes_constant_offsets_of_patches():
    _, arrays = simulate_dataset(SPEC)
    truth = arrays["objectGuess"].astype(np.complex128)
    positions = np.stack([arrays["xcoords"], arrays["ycoords"]], 1)
    patches = PatchExtraction(positions, 64, truth.shape).fwd(truth)
    offsets = np.random.default_rng(1).uniform(-0.8, 0.8, len(patches))
    shuffled = patches * np.exp(1j * offsets)[:, None, None]
    aligned = align_phases(shuffled, positions, 32, truth.shape)
    residual = np.angle(np.sum(np.conj(aligned) * patches, axis=(1, 2)))
    assert np.std(residual) < 0.1 * np.std(offsets)  # measured 0.05: eight rounds leave a slow drift
    naive = score(stitch(shuffled, positions, 20, truth.shape), truth, positions)
    fixed = score(stitch(aligned, positions, 20, truth.shape), truth, positions)
    assert fixed["phase"]["ssim"] > 0.99 > naive["phase"]["ssim"]


def test_reconstruct_cli_writes_the_infer_outputs(tmp_path):
    data = write_npz(tmp_path / "scan.npz", simulate_dataset(SPEC)[1])
    out = tmp_path / "out"
    result = run_ptycho(
        "reconstruct", "--algorithm", "epie", "--iterations", "5", "--data", str(data), "--output-dir", str(out)
    )
    assert "[epie] iteration 5/5" in result.stderr + result.stdout
    for name in ("reconstructed_amplitude.png", "reconstructed_phase.png", "comparison.png", "reconstruction.npz"):
        assert (out / name).stat().st_size > 1000
    quality = json.loads((out / "metrics.json").read_text())
    assert quality["phase"]["ssim"] > 0.8
    fit = json.loads((out / "consistency.json").read_text())
    assert fit["iterations"] == 5 and fit["r_factor"] < 0.2
    product = read_product(out / "product.h5")
    assert product["object"].shape[-2:] == (128, 128) and len(product["loss_values"]) == 5


def test_reconstruct_cli_errors_name_the_fix(tmp_path):
    _, arrays = simulate_dataset(SPEC)
    arrays.pop("probeGuess")
    data = write_npz(tmp_path / "noprobe.npz", arrays)
    result = run_ptycho("reconstruct", "--data", str(data), "--output-dir", str(tmp_path / "o"), check=False)
    assert result.returncode == 1 and "no 'probeGuess'" in result.stderr
    result = run_ptycho("reconstruct", "--data", str(data), "--iterations", "0", check=False)
    assert result.returncode == 2 and "argument --iterations: 0 is below 1" in result.stderr
    result = run_ptycho("infer", "--model", "m", "--data", str(data), "--refine-probe", check=False)
    assert result.returncode == 2 and "--refine-probe needs --refine K" in result.stderr
