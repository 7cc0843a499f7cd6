"""Learning curve of per-scan training on the hard case (issue 27): the network alone's SSIM every few
epochs, in one process, TensorFlow engine, from the shipped model or seeded weights.

The scan is bench_quality's HARD case (400 patterns, 1e6 photons, thin sharp lines and blobs). Training
runs ``--every`` epochs at a time on one optimiser (as one ``ptycho train`` would), and the network alone
reconstructs the scan between the chunks.

Run: .venv/bin/python benchmarks/hard_curve.py [--start shipped|seeded] [--model disk64-g1] [--lr 1e-3]
     [--batch-size 16] [--epochs 40] [--every 5] [--gridsize 1] [--width 1] [--projection-iterations 0]
     [--estimate-gain]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402
from bench_quality import HARD  # noqa: E402


def main() -> None:
    from ptycho import pretrained
    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.data_contract import from_arrays
    from ptycho.probe import normalize_probe
    from ptycho.raw_data import RawData
    from ptycho.simulation import SimulationSpec, simulate_dataset
    from ptycho.tf.model import DiffractionToObject, create_model
    from ptycho.tf.train import Trainer
    from ptycho.workflows.common import create_ptycho_data_container, initial_intensity_scale, start_workflow
    from ptycho.workflows.inference import reconstruct
    from ptycho.workflows.models import archive_params, starting_weights

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", choices=("shipped", "seeded"), default="shipped")
    parser.add_argument("--model", default="disk64-g1", help="with --start shipped: the shipped model")
    parser.add_argument("--projection-iterations", type=int, default=0,
                        help="with --start seeded: projections the network sees (shipped: the model's own)")
    parser.add_argument("--estimate-gain", action="store_true",
                        help="with --start seeded: the output multiplies the projections' estimate")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--gridsize", type=int, default=1, help="patterns per group side (2: overlap in the loss)")
    parser.add_argument("--width", type=int, default=1, help="n_filters_scale: the network's width multiplier")
    parser.add_argument("--loss", choices=("nll", "mae"), default="nll",
                        help="Poisson NLL on intensities (the default) or MAE on amplitudes")
    args = parser.parse_args()
    print(f"machine: {machine.describe()}")
    projections, gain = args.projection_iterations, args.estimate_gain
    if args.start == "shipped":
        if (args.gridsize, args.width) != (1, 1):
            parser.error("the shipped model is gridsize 1, width 1: use --start seeded for other shapes")
        shipped = pretrained.find(args.model)
        if shipped is None:
            parser.error(f"no shipped model {args.model!r}; shipped: {', '.join(pretrained.names())}")
        projections, gain = shipped.get("projection_iterations", 0), shipped.get("estimate_gain", False)
    raw = RawData(from_arrays(simulate_dataset(SimulationSpec(**HARD))[1]))
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=args.gridsize, n_filters_scale=args.width,
                                              amp_activation="sigmoid", projection_iterations=projections,
                                              estimate_gain=gain),
                            nepochs=args.every, batch_size=args.batch_size, nphotons=1e6,
                            nll_weight=float(args.loss == "nll"), mae_weight=float(args.loss == "mae"))
    start_workflow(config)
    train = create_ptycho_data_container(raw, config)
    probe = normalize_probe(train.probe, 64)
    scale = initial_intensity_scale(config, train)
    model = create_model(config.model, probe, scale, seed=0)
    if args.start == "shipped":
        model.import_weights(starting_weights(pretrained.resolve(args.model, "--init"), probe, scale))
    trainer = Trainer(model, config, learning_rate=args.lr)
    saved = archive_params(config, scale, 1)

    def ssim() -> str:
        saved["intensity_scale"] = model.intensity_scale
        metrics = reconstruct(DiffractionToObject(model), saved, raw).metrics
        return f"{metrics['amplitude']['ssim']:.3f} / {metrics['phase']['ssim']:.3f}"

    print(f"start {args.start}, lr {args.lr}, batch {args.batch_size}, gridsize {args.gridsize}, "
          f"width {args.width}, loss {args.loss}, projections {projections}, estimate gain {gain}")
    print("\n| epochs | amplitude / phase SSIM | seconds |")
    print(f"|---|---|---|\n| 0 | {ssim()} | 0 |", flush=True)
    began = time.perf_counter()
    for chunk in range(args.epochs // args.every):
        trainer.fit(train, None, scale, seed=chunk, epochs=args.every)
        print(f"| {(chunk + 1) * args.every} | {ssim()} | {time.perf_counter() - began:.0f} |", flush=True)


if __name__ == "__main__":
    main()
