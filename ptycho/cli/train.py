"""``ptycho train``: train a model on an NPZ and save ``wts.h5.zip`` and the loss history."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ptycho import pretrained
from ptycho.archive import read_archive
from ptycho.cli.options import (
    DeprecatedAlias,
    add_backend,
    add_torch_knobs,
    execution_config,
    non_negative_int,
    photon_count,
    positive_int,
    seed_int,
    writable_folder,
)
from ptycho.config.config import AMP_ACTIVATIONS, SUPPORTED_N, ModelConfig, TrainingConfig
from ptycho.outputs import epochs_trained, write_history
from ptycho.raw_data import RawData
from ptycho.shard_stream import DEFAULT_SHARDS_IN_MEMORY, ShardStream
from ptycho.training_data import STREAM_MODES, expand, read_scans, should_stream

log = logging.getLogger("ptycho.train")


ARCHITECTURE_DEFAULTS = {"gridsize": 1, "n_filters_scale": 2, "amp_activation": "sigmoid", "projection_iterations": 0,
                         "estimate_gain": False}
# The data-fit term: the Poisson likelihood of the counts, or the mean absolute error of the amplitudes
# (their square roots), which weighs the faint high-angle pixels that carry sharp edges more evenly.
LOSSES = {"nll": {"nll_weight": 1.0, "mae_weight": 0.0}, "mae": {"nll_weight": 0.0, "mae_weight": 1.0}}


def architecture(args, init) -> dict:
    """The network's shape flags: as given, else the ``--init`` model's (so fine-tuning needs no flags), else
    the defaults."""
    saved = {} if init is None else read_archive(init).params
    return {k: getattr(args, k) if getattr(args, k) is not None else saved.get(k, default)
            for k, default in ARCHITECTURE_DEFAULTS.items()}


def training_config(args, N: int, init=None) -> TrainingConfig:
    model = ModelConfig(N=N, **architecture(args, init))
    return TrainingConfig(
        model=model,
        train_data_file=args.train_data[0],
        test_data_file=args.test_data[0] if args.test_data else None,
        batch_size=args.batch_size,
        nepochs=args.epochs,
        n_groups=args.n_groups,
        nphotons=args.nphotons,
        neighbor_count=args.neighbor_count,
        subsample_seed=args.seed,
        output_dir=Path(args.output_dir),
        backend=args.backend,
        probe_trainable=args.probe_trainable,
        **LOSSES[args.loss],
    )


def starting_point(args, raw):
    """The archive to fine-tune from: ``--init MODEL`` as named; ``--init auto`` the shipped model that fits
    the data (N, gridsize, probe) and the architecture flags given, said in the log, or none; ``--init
    none`` seeded weights."""
    if args.init in (None, "none"):
        return None
    if args.init != "auto":
        return pretrained.resolve(args.init, "--init")
    gridsize = args.gridsize or ARCHITECTURE_DEFAULTS["gridsize"]
    requested = {k: getattr(args, k) for k in ARCHITECTURE_DEFAULTS if k != "gridsize" and getattr(args, k) is not None}
    model, why = pretrained.fitting_model(raw.N, gridsize, raw.probeGuess, requested)
    if model is None:
        log.info("--init auto: no shipped model fits this data (%s); starting from seeded weights", why)
        return None
    log.info("--init auto: starting from the shipped model %s", why)
    return Path(model["path"])


def run(args) -> int:
    from ptycho.workflows.models import save_model, train_model

    execution = execution_config(args, args.quiet)
    out = writable_folder(args.output_dir, "--output-dir")
    files = expand(args.train_data)
    streaming = should_stream(files, args.stream)
    train_raw = RawData.from_file(files[0]) if streaming else read_scans(files)
    test_raw = read_scans(args.test_data) if args.test_data else None
    first = train_raw[0] if isinstance(train_raw, list) else train_raw
    if args.N is not None and args.N != first.N:
        raise ValueError(f"--N {args.N} does not match the {first.N}×{first.N} patterns of {' '.join(args.train_data)}")
    init = starting_point(args, first)
    config = training_config(args, first.N, init)
    if streaming:
        train_raw = ShardStream(files, config, args.shards_in_memory, seed=args.seed)
    results = train_model(args.backend, train_raw, test_raw, config, execution, seed=args.seed,
                          resume=bool(getattr(args, "resume", False)), init=init)
    archive = save_model(results, out)
    if archive is None:  # a non-zero rank of a distributed run: rank 0 writes the outputs
        return 0
    write_history(results["history"], out)
    final = results["history"]["train_loss"][-1]
    total = epochs_trained(results["history"])[-1]  # a resumed run counts the epochs before it too
    print(f"trained ({args.backend}) {total} epochs, final loss {final:.6g}; wrote {archive} and {out / 'history.csv'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on an NPZ dataset",
        description="Train a PINN on an NPZ dataset and save OUTPUT_DIR/wts.h5.zip, history.csv and history.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_backend(p)
    p.add_argument("--train-data", "--train_data_file", dest="train_data", required=True, nargs="+",
                   help="training NPZ, several, a glob or a corpus folder (ptycho simulate --corpus)")
    p.add_argument("--test-data", "--test_data_file", dest="test_data", nargs="+",
                   help="validation NPZ(s) or corpus folder (optional)")
    p.add_argument("--stream", choices=STREAM_MODES, default="auto",
                   help="read several training files a few at a time instead of all at once; auto: when they "
                   "would fill more than a quarter of the memory")
    p.add_argument("--shards-in-memory", type=positive_int, default=DEFAULT_SHARDS_IN_MEMORY,
                   help="with --stream: how many training files are held (and shuffled together) at a time")
    p.add_argument(
        "--output-dir",
        "--output_dir",
        dest="output_dir",
        default="training_outputs",
        help="folder for the archive and history",
    )
    p.add_argument("--epochs", "--nepochs", "--max_epochs", dest="epochs", type=positive_int, default=50, help="epochs")
    p.add_argument(
        "--n-groups", "--n_groups", dest="n_groups", type=positive_int, default=512, help="groups to train on"
    )
    p.add_argument(
        "--n_images",
        dest="n_groups",
        action=DeprecatedAlias,
        type=positive_int,
        new="--n-groups",
        help=argparse.SUPPRESS,
    )
    p.add_argument("--gridsize", type=positive_int, default=None,
                   help="group side; C = gridsize² patterns per group (default 1, or the --init model's)")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size", type=positive_int, default=16, help="batch size")
    p.add_argument("--seed", type=seed_int, default=0, help="seed for grouping, initial weights and shuffling")
    p.add_argument(
        "--N", type=positive_int, choices=SUPPORTED_N, default=None, help="pattern size (default: the data's)"
    )
    p.add_argument("--n-filters-scale", type=positive_int, default=None,
                   help="width multiplier of the network (default 2, or the --init model's)")
    p.add_argument("--amp-activation", choices=AMP_ACTIVATIONS, default=None,
                   help="amplitude activation (default sigmoid, or the --init model's)")
    p.add_argument("--projection-iterations", type=non_negative_int, default=None,
                   help="the network also sees each pattern's object estimate after this many probe-constrained "
                   "projections (10 is a good choice; default 0, or the --init model's)")
    p.add_argument("--estimate-gain", action=argparse.BooleanOptionalAction, default=None,
                   help="the network's output multiplies that estimate (a learned correction of it, starting from "
                   "the estimate itself) instead of replacing it; needs --projection-iterations >= 1 (default off, "
                   "or the --init model's)")
    p.add_argument(
        "--nphotons",
        type=photon_count,
        default=1e9,
        help="photons per pattern (the default means: measure it from the data)",
    )
    p.add_argument("--neighbor-count", type=positive_int, default=4, help="neighbours K to draw groups from")
    p.add_argument("--loss", choices=tuple(LOSSES), default="nll",
                   help="data fit: nll, the Poisson likelihood of the counts; mae, the mean absolute error of the "
                   "amplitudes (learns sharp edges sooner, README 'The hard case')")
    p.add_argument("--probe-trainable", action="store_true", help="refine the probe during training")
    p.add_argument("--init", default="auto", metavar="MODEL",
                   help="start from this network (a model folder, archive or shipped model name) and fine-tune "
                   "it; 'auto': the shipped model that fits the data's N, gridsize and probe, if any (the log "
                   "says which), else seeded weights; 'none': seeded weights")
    add_torch_knobs(p)
    p.set_defaults(run=run)
