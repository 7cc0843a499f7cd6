"""``ptycho evaluate``: metrics of a reconstruction against a ground truth (registration and phase alignment
of :mod:`ptycho.metrics`), as JSON and a comparison figure."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ptycho import metrics
from ptycho.cli.options import positive_int, writable_file
from ptycho.data_contract import read_npz
from ptycho.errors import DataContractError


def _reconstruction(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """``object`` (2-D, finite) and ``positions`` (``(n, 2)``, when present) of a reconstruction NPZ, read by
    the bounded NPZ reader (no pickle; shapes checked before anything is inflated)."""
    from ptycho.npz_reader import read_npz_arrays

    def check(headers) -> None:
        if "object" not in headers:
            raise DataContractError(f"{path}: no 'object' array (found {sorted(headers)}); give the "
                                    "reconstruction.npz that ptycho infer writes")
        if headers["object"].ndim != 2 or headers["object"].dtype.kind not in "fc":
            raise DataContractError(f"{path}: 'object' is {headers['object'].shape} {headers['object'].dtype}, "
                                    "not a 2-D complex image; give the reconstruction.npz that ptycho infer writes")
        positions = headers.get("positions")
        if positions is not None and (positions.ndim != 2 or positions.shape[1:] != (2,)
                                      or positions.dtype.kind not in "fiu"):
            raise DataContractError(f"{path}: 'positions' is {positions.shape} {positions.dtype}, not (n, 2) "
                                    "numbers; give the reconstruction.npz that ptycho infer writes")

    if not path.is_file():
        raise FileNotFoundError(f"reconstruction not found: {path}")
    arrays = read_npz_arrays(str(path), path, check=check)
    obj, positions = arrays["object"], arrays.get("positions")
    if not np.isfinite(obj).all() or (positions is not None and not np.isfinite(positions).all()):
        raise DataContractError(f"{path}: holds NaN or Inf; reconstruct again")
    return obj, positions


def run(args) -> int:
    from ptycho.outputs import inner_region, write_json
    from ptycho.plotting import plot_comparison

    for path, flag in ((args.output, "--output"), (args.plot, "--plot")):
        if path:
            writable_file(path, flag)
    obj, positions = _reconstruction(Path(args.reconstruction))
    truth = read_npz(args.truth).objectGuess
    if truth is None:
        raise DataContractError(f"{args.truth}: no 'objectGuess' ground truth to evaluate against")
    if obj.shape != truth.shape:
        raise DataContractError(
            f"reconstruction {obj.shape} and ground truth {truth.shape} differ in shape; "
            "reconstruct with the ground truth's NPZ so both share one frame"
        )
    mask = inner_region(positions, truth.shape, args.M) if positions is not None else np.abs(obj) > 0
    result = metrics.compare(obj, truth, mask=mask)
    if args.output:
        write_json(Path(args.output), result)
    if args.plot:
        aligned = obj * np.exp(-1j * np.angle(np.vdot(truth, obj)))
        plot_comparison(truth, aligned, args.plot, "ground truth | reconstruction | error")
    print(json.dumps(result, indent=2))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="metrics of a reconstruction against a ground truth",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--reconstruction", required=True, help="reconstruction.npz written by ptycho infer")
    p.add_argument("--truth", required=True, help="NPZ holding the ground-truth objectGuess")
    p.add_argument("--M", type=positive_int, default=20, help="stitching window used for the reconstruction")
    p.add_argument("--output", help="write the metrics as JSON here")
    p.add_argument("--plot", help="write a comparison figure (PNG) here")
    p.set_defaults(run=run)
