"""The shipped pretrained network: listed, its probe handed out, and it reconstructs scans of a family
it never saw, in one pass, in both engines."""

import json

import numpy as np
import pytest

from ptycho import pretrained
from ptycho.archive import read_archive
from ptycho.data_contract import read_npz, write_npz
from ptycho.simulation.corpus import family_scan
from ptycho.simulation.probes import make_probe
from ptycho.testing.commands import CPU_ONLY, run_ptycho

pytestmark = pytest.mark.per_pr
BACKENDS = [pytest.param("tensorflow", marks=pytest.mark.tf), pytest.param("pytorch", marks=pytest.mark.torch)]
NAME = "disk64-g1"
# One fixed fresh scan per held-out family (seed 1000, 256 patterns at 1e6 photons), network alone. Its
# score moves only with the engines' floating-point differences (measured: TensorFlow and PyTorch agree to
# 3 decimals); the spread over scan seeds (benchmarks/pretrained_spread.py, 5 seeds: phase SSIM spokes
# 0.27 ± 0.17, natural 0.52 ± 0.22) is the content's, not this test's. Measured on seed 1000, phase SSIM:
# spokes 0.39, natural 0.74; seeded (untrained) weights: 0.00 and 0.08. Each threshold sits halfway
# between. Amplitude is not asserted: on held-out families the network's amplitude is no better than a
# flat one (natural 0.64 against 0.66 untrained), as the README's generalisation table says.
PHASE_SSIM = {"spokes": 0.2, "natural": 0.4}
# The network that corrects each pattern's 20-projection estimate (estimate_gain), measured the same way on
# seed 1000, amplitude / phase SSIM: spokes 0.411 / 0.558, natural 0.799 / 0.869 (both engines); what a
# load that lost the gain would give (seeded weights, direct output, README table): 0.263 / 0.000 and
# 0.652 / 0.084. The thresholds sit halfway between. Its own estimate, untrained (README), scores natural
# phase 0.826, so natural's phase is held above 0.847, halfway to the trained 0.869: the training, not only
# the projections, must show (the engines agree to 3 decimals on this fixed scan). 5 seeds: spokes 0.40 ± 0.05 / 0.45 ± 0.18, natural 0.57 ± 0.27 / 0.71 ± 0.18.
# One family per engine: each engine loads it, both families are covered.
CORRECTING = "disk64-g1-p20g"
CORRECTING_SSIM = {"spokes": (0.337, 0.279), "natural": (0.725, 0.847)}


def held_out_scan(path, family: str, seed: int):
    """A scan of ``family`` drawn as the corpus draws one, from a seed no corpus of the model used."""
    return write_npz(path, family_scan(family, seed))


def test_models_lists_the_shipped_model_as_json_and_a_table():
    listed = json.loads(run_ptycho("models", "--json").stdout)
    model = next(m for m in listed if m["name"] == NAME)
    assert (model["N"], model["gridsize"]) == (64, 1) and set(model["held_out"]) == {"spokes", "natural"}
    assert not set(model["held_out"]) & set(model["families"])
    assert NAME in run_ptycho("models").stdout


def test_models_probe_writes_the_probe_it_was_trained_for(tmp_path):
    run_ptycho("models", "probe", NAME, "-o", str(tmp_path / "probe.npz"))
    probe = read_npz_probe(tmp_path / "probe.npz")
    weights = read_archive(pretrained.find(NAME)["path"]).neutral_weights()
    assert np.allclose(probe, weights["probe/real"][0] + 1j * weights["probe/imag"][0])
    assert pretrained.probe_overlap(probe, make_probe("disk", 64)) > 0.999  # the default simulated probe
    sim = run_ptycho("--quiet", "simulate", "-o", str(tmp_path / "s.npz"), "--probe", f"file:{tmp_path / 'probe.npz'}",
                     "--object-size", "96", "--no-plot")
    assert sim.returncode == 0 and read_npz(tmp_path / "s.npz").probeGuess.shape == (64, 64)


def read_npz_probe(path):
    with np.load(path, allow_pickle=False) as npz:
        return npz["probeGuess"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["spokes", "natural"])
def test_reconstructs_a_held_out_family_in_one_pass(backend, family, tmp_path):
    data = held_out_scan(tmp_path / "scan.npz", family, seed=1000)
    run_ptycho("--quiet", "infer", "--backend", backend, "--model", NAME, "--data", str(data), "--output-dir",
               str(tmp_path / "out"), env=CPU_ONLY)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["phase"]["ssim"] > PHASE_SSIM[family], metrics


@pytest.mark.parametrize(("backend", "family"), [
    pytest.param("pytorch", "spokes", marks=pytest.mark.torch),
    pytest.param("tensorflow", "natural", marks=pytest.mark.tf),
])
def test_the_correcting_model_reconstructs_a_held_out_family_in_one_pass(backend, family, tmp_path):
    model = pretrained.find(CORRECTING)
    assert (model["projection_iterations"], model["estimate_gain"]) == (20, True)
    data = held_out_scan(tmp_path / "scan.npz", family, seed=1000)
    run_ptycho("--quiet", "infer", "--backend", backend, "--model", CORRECTING, "--data", str(data), "--output-dir",
               str(tmp_path / "out"), env=CPU_ONLY)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    amplitude, phase = CORRECTING_SSIM[family]
    assert metrics["amplitude"]["ssim"] > amplitude and metrics["phase"]["ssim"] > phase, metrics


def test_init_auto_says_which_model_it_starts_from(tmp_path):
    data = held_out_scan(tmp_path / "scan.npz", "spokes", seed=7)
    common = ("train", "--backend", "tensorflow", "--train-data", str(data), "--epochs", "1", "--n-groups", "8")
    fits = run_ptycho(*common, "--output-dir", str(tmp_path / "a"), "--init", "auto", env=CPU_ONLY)
    assert f"--init auto: starting from the shipped model {NAME} (" in fits.stderr  # the first fitting one by name
    assert read_archive(tmp_path / "a").params["n_filters_scale"] == pretrained.find(NAME)["n_filters_scale"]
    other = run_ptycho(*common, "--gridsize", "2", "--output-dir", str(tmp_path / "b"), "--init", "auto",
                       env=CPU_ONLY)
    assert "--init auto: no shipped model fits this data" in other.stderr and "gridsize=1" in other.stderr
    wide = run_ptycho(*common, "--n-filters-scale", "2", "--output-dir", str(tmp_path / "c"), env=CPU_ONLY)
    assert "n_filters_scale=1" in wide.stderr  # an explicit width the model lacks: seeded, not an error
