"""``ptycho demo``: the main job. Simulates the default dataset and writes a picture of it."""

from __future__ import annotations

import logging
from pathlib import Path

from ptycho.cli.simulate import add_arguments, spec_from_args, write_simulation

log = logging.getLogger("ptycho.demo")


def run(args) -> int:
    out = Path(args.output_dir)
    dataset = write_simulation(spec_from_args(args), out / "demo_data.npz", out / "demo_data.png",
                               args.gridsize)
    print(f"demo: simulated {len(dataset)} patterns; see {out / 'demo_data.png'}")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("demo", help="run the demonstration", description=__doc__)
    parser.add_argument("--output-dir", default="demo_output", help="report folder (default demo_output)")
    add_arguments(parser)
    parser.set_defaults(run=run)
