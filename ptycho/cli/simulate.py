"""``ptycho simulate``: write a seeded, contract-valid NPZ with ground truth, and a picture of it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ptycho.cli.corpus import add_arguments as corpus_arguments
from ptycho.cli.options import photon_count, positive_float, positive_int, seed_int, writable_file
from ptycho.config.config import SUPPORTED_N
from ptycho.data_contract import write_npz
from ptycho.errors import ConfigError
from ptycho.grouping import group_neighbors
from ptycho.plotting import plot_dataset
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.simulation.objects import OBJECTS
from ptycho.simulation.scans import SCANS

log = logging.getLogger("ptycho.simulate")


def _object(value: str) -> tuple[str, str | None]:
    kind, _, path = value.partition(":")
    if kind not in OBJECTS or (kind == "image") != bool(path):
        raise argparse.ArgumentTypeError(f"{value!r}: use lines, grf, star, sharp or image:PATH")
    return kind, path or None


def _probe(value: str) -> tuple[str, str | None]:
    kind, _, path = value.partition(":")
    if kind not in ("disk", "file") or (kind == "file") != bool(path):
        raise argparse.ArgumentTypeError(f"{value!r}: use disk or file:PATH.npz")
    return kind, path or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulation options (shared with ``ptycho demo``)."""
    g = parser.add_argument_group("simulation")
    g.add_argument("--N", type=positive_int, default=64, choices=SUPPORTED_N, help="pattern size (default 64)")
    g.add_argument(
        "--gridsize",
        type=positive_int,
        default=1,
        help="group side the data is meant for; the picture marks one group (default 1)",
    )
    g.add_argument(
        "--object",
        type=_object,
        default=("lines", None),
        metavar="KIND",
        help="lines | grf | star | sharp (thin sharp lines and blobs) | image:PATH (default lines)",
    )
    g.add_argument("--object-size", type=positive_int, default=192, help="object side in pixels (default 192)")
    g.add_argument(
        "--probe",
        type=_probe,
        default=("disk", None),
        metavar="KIND",
        help="disk (defocused, diameter 2N/probe-scale) | file:PATH.npz (default disk)",
    )
    g.add_argument("--probe-scale", type=positive_float, default=4.0, help="disk probe: N / radius (default 4)")
    g.add_argument("--scan", choices=SCANS, default="jitter", help="scan pattern (default jitter)")
    g.add_argument("--scan-step", type=positive_float, default=None, help="scan step in pixels (default N/4)")
    g.add_argument("--n-positions", type=positive_int, default=None, help="keep at most this many positions")
    g.add_argument("--nphotons", type=photon_count, default=1e9, help="mean photons per pattern (default 1e9)")
    g.add_argument("--counts", action="store_true", help="store integer counts instead of amplitudes")
    g.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")


MAX_OBJECT_SIZE = 16384  # a 16384² complex object already takes 4 GiB: far beyond any simulated test object
MAX_SCAN_POSITIONS = 10_000_000  # the scan's coordinates are made before --n-positions keeps some of them
MAX_PATTERN_BYTES = 8 * 2**30  # float32 patterns kept: must fit in a workstation's memory with room to spare


def check_size(args) -> None:
    """Refuse, before any work, a simulation too large to hold in memory (a usage error naming the flags)."""
    if args.object_size > MAX_OBJECT_SIZE:
        raise ConfigError(f"--object-size {args.object_size}: at most {MAX_OBJECT_SIZE} px can be simulated")
    step = args.scan_step or args.N / 4
    positions = (max(args.object_size - args.N, 1) / step + 1) ** 2  # a grid over the object (spiral: about as many)
    scan = f"--scan-step {step:g} over a {args.object_size}-px object gives about {positions:.3g} scan positions"
    if positions > MAX_SCAN_POSITIONS:
        raise ConfigError(
            f"{scan}, above the {MAX_SCAN_POSITIONS:.0e} allowed: raise --scan-step or lower --object-size"
        )
    gib = min(positions, args.n_positions or positions) * args.N**2 * 4 / 2**30
    if gib > MAX_PATTERN_BYTES / 2**30:
        raise ConfigError(
            f"{scan}: {gib:.3g} GiB of {args.N}×{args.N} patterns, above the {MAX_PATTERN_BYTES // 2**30} GiB "
            "allowed: raise --scan-step, lower --object-size or keep fewer with --n-positions"
        )


def spec_from_args(args) -> SimulationSpec:
    check_size(args)
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
    if args.corpus is not None:
        from ptycho.cli import corpus

        return corpus.run(args)
    if args.output is None:
        raise ConfigError("give --output FILE.npz (one scan) or --corpus DIR --scans K (a training corpus)")
    spec = spec_from_args(args)  # usage errors first, then the folders
    output = writable_file(args.output, "--output")
    picture = None if args.no_plot else writable_file(args.plot or output.with_suffix(".png"), "--plot")
    write_simulation(spec, output, picture, args.gridsize)
    return 0


def run_import(args) -> int:
    from ptycho.velociprobe import convert

    writable_file(args.output, "--output")
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
    parser.add_argument("--output", "-o", default=None, help="NPZ file to write")
    parser.add_argument("--plot", default=None, help="picture to write (default: OUTPUT with .png)")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the picture")
    add_arguments(parser)
    corpus_arguments(parser)
    parser.set_defaults(run=run)
