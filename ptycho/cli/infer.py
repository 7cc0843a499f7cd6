"""``ptycho infer``: reconstruct an NPZ with a trained model; PNGs, object NPZ, product.h5, metrics."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path
from ptycho.cli.options import add_backend, add_torch_knobs, execution_config
from ptycho.consistency import data_consistency
from ptycho.data_contract import read_npz, write_npz
from ptycho.product import write_product
from ptycho.raw_data import RawData

log = logging.getLogger("ptycho.infer")


def consistency_of(result, raw: RawData, M: int) -> dict:
    """Data consistency of the stitched object against every measured pattern of ``raw``."""
    from ptycho.physics import canvas_for

    positions = np.stack([raw.xcoords, raw.ycoords], axis=1)
    if raw.objectGuess is None:  # the stitched canvas starts at the smallest window's corner
        _, origin = canvas_for(result.data.positions.astype(np.float64), M)
        positions = positions - origin
    return data_consistency(result.obj, result.data.probe, positions, raw.diff3d)


def write_outputs(result, out: Path, backend: str, history: dict | None = None) -> dict[str, Path]:
    """Every output file of one reconstruction into ``out``."""
    from ptycho.plotting import plot_comparison
    from ptycho.workflows.common import save_outputs

    obj = result.obj
    files = save_outputs(np.abs(obj), np.angle(obj), {"backend": backend}, out)
    files["object"] = write_npz(
        out / "reconstruction.npz",
        {
            "object": obj.astype(np.complex64),
            "patches": result.patches.astype(np.complex64),
            "positions": result.data.positions.astype(np.float64),
        },
    )
    probe = result.data.probe
    losses = (history or {}).get("train_loss", [])
    files["product"] = write_product(
        out / "product.h5",
        name=f"ptychopinn-{backend}",
        probe=probe,
        obj=obj,
        positions=result.data.positions,
        losses=losses,
        photon_count=result.data.nphotons,
        comments=f"reconstructed by {backend}",
    )
    if result.metrics is not None:
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(result.metrics, indent=2))
        files["metrics"] = out / "metrics.json"
        truth = result.data.objectGuess
        aligned = obj * np.exp(-1j * np.angle(np.vdot(truth, obj)))
        files["comparison"] = plot_comparison(
            truth, aligned, out / "comparison.png", f"{backend}: ground truth | reconstruction | error"
        )
    return files


def run(args) -> int:
    from ptycho.workflows.inference import infer_with_backend

    execution = execution_config(args, args.quiet)  # rejects torch knobs for tensorflow
    device = None
    if execution is not None:
        from ptycho_torch.trainer import resolve_accelerator

        device = "cuda" if resolve_accelerator(execution.accelerator) == "gpu" else "cpu"
    raw = RawData(read_npz(args.data))
    result = infer_with_backend(Path(args.model), raw, args.backend, args.n_groups, args.M, device)
    out = Path(args.output_dir)
    history_file = Path(args.model) / "history.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else None
    files = write_outputs(result, out, args.backend, history)
    consistency = consistency_of(result, raw, args.M)
    with atomic_path(out / "consistency.json") as tmp:
        tmp.write_text(json.dumps(consistency, indent=2))
    files["consistency"] = out / "consistency.json"
    print(
        f"reconstructed {result.patches.shape[0]} groups ({result.patterns_per_second:.0f} patterns/s); "
        f"wrote {', '.join(str(p.name) for p in files.values())} to {out}"
    )
    print(
        f"data consistency: Poisson NLL {consistency['poisson_nll_per_pixel']:.6g} per pixel, "
        f"R-factor {consistency['r_factor']:.4f}"
    )
    if result.metrics:
        m = result.metrics
        print(f"vs ground truth: amplitude SSIM {m['amplitude']['ssim']:.3f}, phase SSIM {m['phase']['ssim']:.3f}")
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
        "--model", "--model_path", dest="model", required=True, help="folder holding wts.h5.zip (or the archive itself)"
    )
    p.add_argument("--data", "--test_data", "--test_data_file", dest="data", required=True, help="NPZ to reconstruct")
    p.add_argument(
        "--output-dir", "--output_dir", dest="output_dir", default="inference_outputs", help="folder for the outputs"
    )
    p.add_argument(
        "--n-groups",
        "--n_groups",
        dest="n_groups",
        type=int,
        default=None,
        help="groups to reconstruct (default: every scan position)",
    )
    p.add_argument("--M", type=int, default=20, help="central window stitched from each patch")
    add_torch_knobs(p, ("accelerator", "devices", "num_workers"))
    p.set_defaults(run=run)
