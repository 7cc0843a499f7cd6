"""``ptycho reconstruct``: a classic iterative solver (ePIE or rPIE, NumPy) on an NPZ, with the same outputs
as ``ptycho infer``. It is the yardstick every PINN quality number is shown beside."""

from __future__ import annotations

import argparse

from ptycho.cli.options import positive_int, seed_int, writable_folder
from ptycho.data_contract import read_npz
from ptycho.outputs import Outcome, consistency, score, write_json, write_reconstruction
from ptycho.physics import mean_photons
from ptycho.raw_data import RawData
from ptycho.solver import reconstruct_iterative


def run(args) -> int:
    out = writable_folder(args.output_dir, "--output-dir")
    raw = RawData(read_npz(args.data))
    estimate = reconstruct_iterative(
        raw, args.algorithm, args.iterations, refine_probe=args.refine_probe, batch_size=args.batch_size, seed=args.seed
    )
    outcome = Outcome(
        name=args.algorithm,
        obj=estimate.obj,
        probe=estimate.probe,
        positions=estimate.positions,
        photon_count=mean_photons(raw.diff3d),
        losses=tuple(row["poisson_nll"] for row in estimate.history),
    )
    files = write_reconstruction(outcome, out, raw.objectGuess)
    fit = consistency(outcome, raw.diff3d) | {"seconds": estimate.seconds, "iterations": args.iterations}
    files["consistency"] = write_json(out / "consistency.json", fit)
    line = f"{args.algorithm}: {args.iterations} iterations in {estimate.seconds:.1f} s; R-factor {fit['r_factor']:.4f}"
    if raw.objectGuess is not None:
        quality = score(outcome.obj, raw.objectGuess, outcome.positions)
        files["metrics"] = write_json(out / "metrics.json", quality)
        line += f"; amplitude SSIM {quality['amplitude']['ssim']:.3f}, phase SSIM {quality['phase']['ssim']:.3f}"
    print(f"wrote {', '.join(p.name for p in files.values())} to {out}")
    print(line)
    return 0


def add_parser(sub) -> None:
    from ptycho.solver.pie import ALGORITHMS

    p = sub.add_parser(
        "reconstruct",
        help="reconstruct an NPZ with a classic iterative solver (ePIE, rPIE)",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", required=True, help="NPZ to reconstruct (needs probeGuess)")
    p.add_argument("--output-dir", default="reconstruct_outputs", help="folder for the outputs")
    p.add_argument(
        "--algorithm",
        choices=[a for a in ALGORITHMS if a != "poisson"],
        default="rpie",
        help="ePIE or regularised PIE (Maiden et al. 2017)",
    )
    p.add_argument("--iterations", type=positive_int, default=50, help="passes over every scan position")
    p.add_argument("--refine-probe", action="store_true", help="update the probe too (from the third iteration)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="positions updated together")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the visiting order")
    p.set_defaults(run=run)
