"""``ptycho models``: the shipped pretrained networks, and the probe each was trained for."""

from __future__ import annotations

import json

import numpy as np

from ptycho import pretrained
from ptycho.cli.options import writable_file
from ptycho.data_contract import write_npz
from ptycho.errors import ConfigError

COLUMNS = ("name", "N", "gridsize", "projection_iterations", "estimate_gain", "probe", "photons", "families",
           "held_out")


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def run_list(args) -> int:
    models = pretrained.shipped()
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    if not models:
        print("no pretrained models are shipped with this installation")
        return 0
    rows = [COLUMNS] + [tuple(_cell(m.get(c, "")) for c in COLUMNS) for m in models]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def run_probe(args) -> int:
    model = pretrained.find(args.name)
    if model is None:
        raise ConfigError(f"no shipped model named {args.name!r}; shipped: {', '.join(pretrained.names()) or 'none'}")
    out = writable_file(args.output, "--output")
    probe = np.asarray(pretrained.model_probe(model), np.complex64)
    write_npz(out, {"probeGuess": probe.squeeze(0) if probe.shape[0] == 1 else probe})
    print(f"wrote {out}: the {probe.shape[-1]}×{probe.shape[-1]} probe {args.name} was trained for "
          "(simulate with --probe file:PATH)")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("models", help="list the shipped pretrained models",
                            description="List the pretrained networks shipped with ptychopinn "
                            "(use one with `ptycho infer --model NAME` or `ptycho train --init NAME`).")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    parser.set_defaults(run=run_list)
    nested = parser.add_subparsers(dest="models_command")
    probe = nested.add_parser("probe", help="write the probe a shipped model was trained for")
    probe.add_argument("name", help="shipped model name")
    probe.add_argument("--output", "-o", required=True, help="NPZ to write (key probeGuess)")
    probe.set_defaults(run=run_probe)
