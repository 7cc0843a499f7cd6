"""``ptycho infer``: reconstruct an NPZ with a trained model; PNGs, object NPZ, product.h5, metrics."""

from __future__ import annotations

import argparse
import logging

import numpy as np

from ptycho import pretrained
from ptycho.cli.options import (
    add_backend,
    add_torch_knobs,
    execution_config,
    non_negative_int,
    positive_int,
    writable_folder,
)
from ptycho.data_contract import read_npz
from ptycho.errors import ConfigError
from ptycho.outputs import (
    Outcome,
    consistency,
    read_training_losses,
    score,
    write_comparison,
    write_json,
    write_reconstruction,
)
from ptycho.raw_data import RawData
from ptycho.solver.workflow import scan_positions

log = logging.getLogger("ptycho.infer")


def network_outcome(result, raw: RawData, backend: str, M: int, history: dict | None) -> tuple[Outcome, np.ndarray]:
    """The network's stitched reconstruction as an :class:`~ptycho.outputs.Outcome`, and its frame's origin."""
    from ptycho.workflows.inference import stitch_origin

    origin = stitch_origin(result, M)
    return Outcome(
        name=backend,
        obj=result.obj,
        probe=result.data.probe,
        positions=scan_positions(raw) - origin,
        photon_count=result.data.nphotons,
        losses=tuple((history or {}).get("train_loss", [])),
        patches=result.patches,
    ), origin


def refined_outcome(network: Outcome, origin, raw: RawData, iterations: int, refine_probe: bool):
    """``iterations`` of Poisson-likelihood refinement from the network's object (:func:`ptycho.solver.refine`)."""
    from ptycho.solver import refine

    estimate = refine(network.obj, origin, raw, iterations, probe=network.probe, refine_probe=refine_probe)
    return Outcome(
        name=f"{network.name}+refine",
        obj=estimate.obj,
        probe=estimate.probe,
        positions=estimate.positions,
        photon_count=network.photon_count,
        losses=network.losses,
    ), estimate


def _quality_line(stage: str, fit: dict, quality: dict | None) -> str:
    line = f"{stage}: Poisson NLL {fit['poisson_nll_per_pixel']:.6g} per pixel, R-factor {fit['r_factor']:.4f}"
    if quality:
        line += f"; amplitude SSIM {quality['amplitude']['ssim']:.3f}, phase SSIM {quality['phase']['ssim']:.3f}"
    return line


def run(args) -> int:
    from ptycho.workflows.inference import infer_with_backend

    if args.refine_probe and not args.refine:
        raise ConfigError("--refine-probe needs --refine K (the probe is refined during those K iterations)")
    execution = execution_config(args, args.quiet)  # rejects torch knobs for tensorflow
    accelerator = None if execution is None else execution.accelerator
    raw = RawData(read_npz(args.data))
    if args.M > raw.N:  # known from the data alone: refused before the model is loaded
        raise ConfigError(
            f"--M {args.M}: the stitched window is larger than the {raw.N}×{raw.N} patterns of {args.data}"
        )
    model = pretrained.resolve(args.model, "--model")
    out = writable_folder(args.output_dir, "--output-dir")
    result = infer_with_backend(model, raw, args.backend, args.n_groups, args.M, accelerator)
    history = {"train_loss": read_training_losses(model if model.is_dir() else model.parent)}
    truth = raw.objectGuess
    network, origin = network_outcome(result, raw, args.backend, args.M, history)
    qualities = {"network": result.metrics}
    fits = {"network": consistency(network, raw.diff3d)}
    final = network
    if args.refine:
        final, estimate = refined_outcome(network, origin, raw, args.refine, args.refine_probe)
        qualities["refined"] = None if truth is None else score(final.obj, truth, final.positions)
        fits["refined"] = consistency(final, raw.diff3d) | {"seconds": estimate.seconds}
    extra = {"network_object": network.obj.astype(np.complex64)} if args.refine else None
    files = write_reconstruction(final, out, truth, extra)
    if args.refine and truth is not None:
        files["network_comparison"] = write_comparison(
            network.obj,
            truth,
            network.positions,
            out / "network_comparison.png",
            f"{network.name} (network only): ground truth | reconstruction | error",
        )
    if truth is not None:
        files["metrics"] = write_json(out / "metrics.json", qualities if args.refine else qualities["network"])
    files["consistency"] = write_json(out / "consistency.json", fits if args.refine else fits["network"])
    print(
        f"reconstructed {result.patches.shape[0]} groups ({result.patterns_per_second:.0f} patterns/s); "
        f"wrote {', '.join(str(p.name) for p in files.values())} to {out}"
    )
    for stage, fit in fits.items():
        print(_quality_line(stage, fit, qualities[stage]))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "infer",
        help="reconstruct an NPZ with a trained model",
        description="Reconstruct an NPZ with a trained model: reconstructed_amplitude.png, "
        "reconstructed_phase.png, reconstruction.npz, product.h5 and, when the NPZ has "
        "a ground truth, metrics.json and comparison.png.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_backend(p)
    p.add_argument(
        "--model",
        "--model_path",
        dest="model",
        required=True,
        help="folder holding wts.h5.zip, the archive itself, or a shipped model's name (ptycho models)",
    )
    p.add_argument("--data", "--test_data", "--test_data_file", dest="data", required=True, help="NPZ to reconstruct")
    p.add_argument(
        "--output-dir", "--output_dir", dest="output_dir", default="inference_outputs", help="folder for the outputs"
    )
    p.add_argument(
        "--n-groups",
        "--n_groups",
        dest="n_groups",
        type=positive_int,
        default=None,
        help="groups to reconstruct (default: every scan position)",
    )
    p.add_argument("--M", type=positive_int, default=20, help="central window stitched from each patch")
    refine = p.add_argument_group("physics refinement")
    refine.add_argument(
        "--refine",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="after the network, K iterations of Poisson-likelihood refinement of the object (0: none)",
    )
    refine.add_argument("--refine-probe", action="store_true", help="refine the probe too during those iterations")
    add_torch_knobs(p, ("accelerator", "devices", "num_workers"))
    p.set_defaults(run=run)
