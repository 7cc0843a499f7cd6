"""Train once, reconstruct many: a shipped network on scans it never saw, against rPIE, side by side.

For each test scan (500 patterns of 64×64, the shipped model's probe unless perturbed, Poisson counts):
the network alone, the network + K iterations of Poisson refinement (``ptycho infer --refine K``), and
rPIE from a flat object (``ptycho reconstruct``), each with its in-process wall time, amplitude/phase
SSIM, PSNR and FRC resolution against the truth, and the R-factor against the measured patterns. Cases:
families held out of the model's training corpus, photon levels inside and outside its training range,
a slightly perturbed probe, and the demo's object. One whole-command time (``ptycho infer``, process
start and model load included) is printed too. Also writes quality-against-seconds curves.

Run: .venv/bin/python benchmarks/bench_generalise.py [--model disk64-g1] [--output-dir bench_generalise]
     (or: .venv/bin/nox -s bench_generalise)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

PATTERNS = 500
STEP = 8.0
REFINE = 10
RPIE = (10, 50)
CURVE_REFINE = (0, 2, 5, 10, 20)
CURVE_RPIE = (5, 10, 20, 50)


def scan(family: str, photons: float, seed: int, probe=None):
    """A test scan: ``family`` is a corpus family, or an object kind of ``ptycho simulate`` (prefix ``kind:``)."""
    from ptycho.data_contract import from_arrays
    from ptycho.raw_data import RawData
    from ptycho.simulation import make_object, make_probe
    from ptycho.simulation.families import compose_object
    from ptycho.simulation.scans import jittered_grid
    from ptycho.simulation.simulate import simulate

    rng = np.random.default_rng(seed)
    size = int(np.ceil(np.sqrt(PATTERNS))) * int(STEP) + 66
    if family.startswith("kind:"):
        obj = make_object(family[5:], size, seed=seed)
    else:
        obj = compose_object(family, "mixed", size, rng)
    probe = make_probe("disk", 64) if probe is None else probe
    positions = jittered_grid(size, 64, STEP, rng)[:PATTERNS]
    counts = simulate(obj, probe, positions, photons, rng, counts=True)
    arrays = {"diffraction": counts, "xcoords": positions[:, 0], "ycoords": positions[:, 1],
              "objectGuess": obj.astype(np.complex64), "probeGuess": probe.astype(np.complex64)}
    return RawData(from_arrays(arrays, source=f"{family}@{photons:g}"))


def quality(obj, truth, positions, fit) -> dict:
    from ptycho.outputs import score

    m = score(obj, truth, positions)
    return {"amp_ssim": m["amplitude"]["ssim"], "phase_ssim": m["phase"]["ssim"], "amp_psnr": m["amplitude"]["psnr"],
            "phase_psnr": m["phase"]["psnr"], "phase_frc": m["phase"]["frc_resolution"], "r_factor": fit["r_factor"]}


def network_and_refined(model, raw, backend: str, iterations) -> list[dict]:
    from ptycho.cli.infer import network_outcome, refined_outcome
    from ptycho.outputs import consistency
    from ptycho.workflows.inference import infer_with_backend

    result = infer_with_backend(model, raw, backend)
    network, origin = network_outcome(result, raw, backend, 20, None)
    rows = []
    for k in iterations:
        if k == 0:
            outcome, seconds = network, result.seconds
        else:
            outcome, estimate = refined_outcome(network, origin, raw, k, False)
            seconds = result.seconds + estimate.seconds
        fit = consistency(outcome, raw.diff3d)
        rows.append({"method": "PINN" if k == 0 else f"PINN + {k} it", "iterations": k, "seconds": seconds,
                     **quality(outcome.obj, raw.objectGuess, outcome.positions, fit)})
    return rows


def rpie(raw, iterations) -> list[dict]:
    from ptycho.outputs import Outcome, consistency
    from ptycho.physics import mean_photons
    from ptycho.solver import reconstruct_iterative

    rows = []
    for k in iterations:
        estimate = reconstruct_iterative(raw, "rpie", k)
        outcome = Outcome("rpie", estimate.obj, estimate.probe, estimate.positions, mean_photons(raw.diff3d))
        fit = consistency(outcome, raw.diff3d)
        rows.append({"method": f"rPIE {k} it", "iterations": k, "seconds": estimate.seconds,
                     **quality(estimate.obj, raw.objectGuess, estimate.positions, fit)})
    return rows


def whole_command(model, raw, work: Path, backend: str) -> float:
    path = work / "one_scan.npz"
    raw.to_file(path)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ptycho.cli.main", "--quiet", "infer", "--backend", backend, "--model",
                    str(model), "--data", str(path), "--output-dir", str(work / "infer"), "--refine", str(REFINE)],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def cases(perturbed_probe):
    yield "spokes (held out)", "spokes", 1e6, None
    yield "natural (held out)", "natural", 1e6, None
    yield "natural (held out)", "natural", 1e9, None
    yield "sharp lines + blobs (hard case)", "kind:sharp", 1e6, None
    yield "Siemens star", "kind:star", 1e6, None
    yield "demo grf", "kind:grf", 1e9, None
    yield "spokes, below the photon range", "spokes", 1e3, None
    yield "spokes, perturbed probe", "spokes", 1e6, perturbed_probe


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for ax, key in zip(axes, ("amp_ssim", "phase_ssim"), strict=True):
        for label, rows in curves.items():
            ax.plot([r["seconds"] for r in rows], [r[key] for r in rows], "o-", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("wall time per scan of 500 patterns (s)")
        ax.set_ylabel(key.replace("_", " ").replace("amp", "amplitude"))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from ptycho import pretrained
    from ptycho.simulation.probes import defocused_disk

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="disk64-g1", help="shipped model name or model folder")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "pytorch"))
    parser.add_argument("--output-dir", default="bench_generalise")
    parser.add_argument("--quick", action="store_true", help="two cases, short curves (a smoke run)")
    args = parser.parse_args()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = pretrained.resolve(args.model, "--model")
    print(f"machine: {machine.describe()}; model {args.model}; engine {args.backend}")
    perturbed = defocused_disk(64, 32 * 1.1, defocus=2.0)  # 10% wider, 0.5 rad more defocus
    rows, curves = [], {}
    for index, (label, family, photons, probe) in enumerate(list(cases(perturbed))[: 2 if args.quick else None]):
        raw = scan(family, photons, seed=100 + index, probe=probe)
        first = index == 0
        net = network_and_refined(model, raw, args.backend, CURVE_REFINE if first else (0, REFINE))
        solver = rpie(raw, CURVE_RPIE if first else RPIE)
        if first:
            curves = {f"PINN + K it ({label})": net, f"rPIE ({label})": solver}
            net = [r for r in net if r["iterations"] in (0, REFINE)]
            solver = [r for r in solver if r["iterations"] in RPIE]
        for r in net + solver:
            rows.append({"case": label, "photons": photons, **r})
        print(f"{label} @ {photons:g}: " + "; ".join(f"{r['method']} {r['amp_ssim']:.3f}/{r['phase_ssim']:.3f} "
                                                    f"in {r['seconds']:.2f} s" for r in net + solver), flush=True)
    command_seconds = whole_command(model, scan("spokes", 1e6, seed=99), out, args.backend)
    (out / "generalise.json").write_text(json.dumps({"rows": rows, "curves": curves,
                                                     "infer_command_seconds": command_seconds}, indent=1))
    plot(curves, out / "generalise_curves.png")
    print(f"\nmachine: {machine.describe()}\n")
    print("| case | photons | method | seconds | amp SSIM | phase SSIM | amp PSNR | phase FRC | R-factor |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['photons']:.0e} | {r['method']} | {r['seconds']:.2f} | {r['amp_ssim']:.3f} | "
              f"{r['phase_ssim']:.3f} | {r['amp_psnr']:.1f} | {r['phase_frc']:.3f} | {r['r_factor']:.4f} |")
    print(f"\nwhole command `ptycho infer --model {args.model} --refine {REFINE}` on one scan: {command_seconds:.1f} s")
    print(f"wrote {out / 'generalise.json'} and {out / 'generalise_curves.png'}")


if __name__ == "__main__":
    main()
