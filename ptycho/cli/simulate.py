"""``ptycho simulate``: write a seeded, contract-valid NPZ with ground truth, and a picture of it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ptycho.config.config import SUPPORTED_N
from ptycho.data_contract import write_npz
from ptycho.grouping import group_neighbors
from ptycho.plotting import plot_dataset
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.simulation.objects import OBJECTS
from ptycho.simulation.scans import SCANS

log = logging.getLogger("ptycho.simulate")


def _object(value: str) -> tuple[str, str | None]:
    kind, _, path = value.partition(":")
    if kind not in OBJECTS or (kind == "image") != bool(path):
        raise argparse.ArgumentTypeError(f"{value!r}: use lines, grf, star or image:PATH")
    return kind, path or None


def _probe(value: str) -> tuple[str, str | None]:
    kind, _, path = value.partition(":")
    if kind not in ("disk", "file") or (kind == "file") != bool(path):
        raise argparse.ArgumentTypeError(f"{value!r}: use disk or file:PATH.npz")
    return kind, path or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulation options (shared with ``ptycho demo``)."""
    g = parser.add_argument_group("simulation")
    g.add_argument("--N", type=int, default=64, choices=SUPPORTED_N, help="pattern size (default 64)")
    g.add_argument(
        "--gridsize",
        type=int,
        default=1,
        help="group side the data is meant for; the picture marks one group (default 1)",
    )
    g.add_argument(
        "--object",
        type=_object,
        default=("lines", None),
        metavar="KIND",
        help="lines | grf | star | image:PATH (default lines)",
    )
    g.add_argument("--object-size", type=int, default=192, help="object side in pixels (default 192)")
    g.add_argument(
        "--probe",
        type=_probe,
        default=("disk", None),
        metavar="KIND",
        help="disk (defocused, diameter 2N/probe-scale) | file:PATH.npz (default disk)",
    )
    g.add_argument("--probe-scale", type=float, default=4.0, help="disk probe: N / radius (default 4)")
    g.add_argument("--scan", choices=SCANS, default="jitter", help="scan pattern (default jitter)")
    g.add_argument("--scan-step", type=float, default=None, help="scan step in pixels (default N/4)")
    g.add_argument("--n-positions", type=int, default=None, help="keep at most this many positions")
    g.add_argument("--nphotons", type=float, default=1e9, help="mean photons per pattern (default 1e9)")
    g.add_argument("--counts", action="store_true", help="store integer counts instead of amplitudes")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def spec_from_args(args) -> SimulationSpec:
    return SimulationSpec(
        N=args.N,
        object_kind=args.object[0],
        object_image=args.object[1],
        object_size=args.object_size,
        probe_kind=args.probe[0],
        probe_file=args.probe[1],
        probe_scale=args.probe_scale,
        scan_kind=args.scan,
        scan_step=args.scan_step,
        n_positions=args.n_positions,
        nphotons=args.nphotons,
        counts=args.counts,
        seed=args.seed,
    )


def write_simulation(spec: SimulationSpec, output: Path, picture: Path | None, gridsize: int = 1):
    dataset, arrays = simulate_dataset(spec)
    write_npz(output, arrays)
    dataset.source = str(output)
    log.info(
        "wrote %s: %d patterns of %d×%d, object %d×%d, %.3g photons/pattern",
        output,
        len(dataset),
        dataset.N,
        dataset.N,
        *dataset.objectGuess.shape,
        spec.nphotons,
    )
    if picture is not None:
        xy = np.stack([dataset.xcoords, dataset.ycoords], axis=1)
        group = group_neighbors(xy, np.array([len(xy) // 2]), gridsize, max(4, gridsize**2), 0, True)[0]
        plot_dataset(dataset, picture, group=group)
        log.info("wrote %s", picture)
    return dataset


def run(args) -> int:
    output = Path(args.output)
    picture = None if args.no_plot else Path(args.plot or output.with_suffix(".png"))
    write_simulation(spec_from_args(args), output, picture, args.gridsize)
    return 0


def run_import(args) -> int:
    from ptycho.velociprobe import convert

    path = convert(args.source, args.output)
    print(f"wrote {path}")
    return 0


def add_import_parser(sub) -> None:
    parser = sub.add_parser(
        "import-velociprobe",
        help="convert the Velociprobe Siemens-star scan to an NPZ",
        description="Convert tike's Velociprobe Siemens-star test scan (.npz or .npz.bz2) "
        "into a contract-valid NPZ (centred counts, window centres, 2-D probe).",
    )
    parser.add_argument("source", help="velociprobe_siemens_star.npz.bz2")
    parser.add_argument("--output", "-o", required=True, help="NPZ to write")
    parser.set_defaults(run=run_import)


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "simulate",
        help="simulate a dataset with ground truth",
        description="Simulate a seeded ptychography dataset (NPZ, data contract) and a picture of it.",
    )
    parser.add_argument("--output", "-o", required=True, help="NPZ file to write")
    parser.add_argument("--plot", default=None, help="picture to write (default: OUTPUT with .png)")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the picture")
    add_arguments(parser)
    parser.set_defaults(run=run)
