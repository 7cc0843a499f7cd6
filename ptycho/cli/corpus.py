"""``ptycho simulate --corpus DIR --scans K``: write a seeded training corpus (shards and a manifest)."""

from __future__ import annotations

import argparse
import logging
import time

from ptycho.cli.options import photon_count, positive_int, writable_folder
from ptycho.errors import ConfigError
from ptycho.simulation.corpus import CorpusSpec, write_corpus
from ptycho.simulation.families import CONTRASTS, FAMILIES

log = logging.getLogger("ptycho.simulate")


def _names(allowed) -> callable:
    def parse(value: str) -> tuple[str, ...]:
        names = tuple(v.strip() for v in value.split(",") if v.strip())
        unknown = [n for n in names if n not in allowed]
        if not names or unknown:
            raise argparse.ArgumentTypeError(f"{value!r}: choose a comma-separated list of {', '.join(allowed)}")
        return names

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("corpus (with --corpus DIR)")
    g.add_argument("--corpus", metavar="DIR", default=None, help="write a corpus of --scans scans into DIR")
    g.add_argument("--scans", type=positive_int, default=None, help="number of scans in the corpus")
    g.add_argument("--families", type=_names(tuple(FAMILIES)), default=tuple(FAMILIES),
                   help=f"object families, taken in turn (default all: {','.join(FAMILIES)})")
    g.add_argument("--contrasts", type=_names(CONTRASTS), default=CONTRASTS,
                   help=f"contrasts, drawn per scan (default all: {','.join(CONTRASTS)})")
    g.add_argument("--photons-range", type=photon_count, nargs=2, default=(1e4, 1e9), metavar=("LO", "HI"),
                   help="photons per pattern, log-uniform per scan (default 1e4 1e9)")


def spec_from_args(args) -> CorpusSpec:
    if args.scans is None:
        raise ConfigError("--corpus needs --scans K (the number of scans to simulate)")
    low, high = args.photons_range
    if low > high:
        raise ConfigError(f"--photons-range {low:g} {high:g}: the first value must not exceed the second")
    return CorpusSpec(
        scans=args.scans, N=args.N, families=args.families, contrasts=args.contrasts, photons=(low, high),
        object_size=args.object_size, scan_step=args.scan_step, probe_kind=args.probe[0],
        probe_file=args.probe[1], probe_scale=args.probe_scale, counts=True, seed=args.seed,
    )


def run(args) -> int:
    spec = spec_from_args(args)
    folder = writable_folder(args.corpus, "--corpus")
    start = time.perf_counter()

    def progress(done: int, total: int, entry: dict) -> None:
        left = (time.perf_counter() - start) / done * (total - done)
        log.info("scan %d/%d: %s, %s, %.3g photons, %d patterns (%.0f s left)", done, total, entry["family"],
                 entry["contrast"], entry["photons"], entry["patterns"], left)

    manifest = write_corpus(folder, spec, progress)
    print(f"wrote {spec.scans} scans and {manifest}")
    return 0
