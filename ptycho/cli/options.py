"""Options shared by the commands: number types that refuse impossible values while the command line is
parsed (a usage error, exit 2, before any work), the check that an output folder can be written, the
backend, the PyTorch execution knobs, deprecated aliases."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import warnings
from pathlib import Path

from ptycho.config.config import ACCELERATORS, LOGGER_BACKENDS, STRATEGIES, PyTorchExecutionConfig
from ptycho.errors import ConfigError, PtychoError

# No count these commands take (epochs, iterations, groups, positions, workers) is near a million; a larger
# one is a typo that would run for days or allocate without end.
MAX_COUNT = 1_000_000
MAX_SEED = 2**32 - 1  # what NumPy, TensorFlow and torch seeding all accept


def _whole_number(value: str, least: int, most: int = MAX_COUNT) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < least:
        raise argparse.ArgumentTypeError(f"{value} is below {least}; give a whole number >= {least}")
    if number > most:
        raise argparse.ArgumentTypeError(f"{value} is above {most:,}; give a whole number <= {most:,}")
    return number


def positive_int(value: str) -> int:
    """A count that must be at least 1 (epochs, groups, batch size, gridsize, positions…)."""
    return _whole_number(value, 1)


def non_negative_int(value: str) -> int:
    """A count where 0 means "none" (refinement iterations, workers)."""
    return _whole_number(value, 0)


def seed_int(value: str) -> int:
    """A random seed: 0 to 2³² − 1."""
    return _whole_number(value, 0, MAX_SEED)


def _finite_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number")
    return number


def positive_float(value: str) -> float:
    """A finite quantity above 0 (photons, learning rate, scan step…)."""
    number = _finite_number(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not above 0; give a number > 0")
    return number


# Far above any detector (about 1e9 photons a pattern is a bright synchrotron), far below numpy's Poisson
# sampler's limit (about 9e18 a pixel) and float32's range once squared: larger counts only overflow.
MAX_PHOTONS = 1e15


def photon_count(value: str) -> float:
    """Photons per pattern: above 0 and at most :data:`MAX_PHOTONS`."""
    number = positive_float(value)
    if number > MAX_PHOTONS:
        raise argparse.ArgumentTypeError(f"{value} is above {MAX_PHOTONS:.0e}, more than any detector counts")
    return number


def writable_folder(folder, flag: str) -> Path:
    """``folder``, created when missing and shown writable by a probe file (removed again), before any work:
    a run must not train for an hour and only then find it cannot save."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".ptycho-write-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise PtychoError(
            f"{flag} {folder}: cannot write into this folder ({exc.strerror or exc}); give {flag} a folder "
            "you can write to, or make this one writable"
        ) from exc
    return folder


def writable_file(path, flag: str) -> Path:
    """``path``'s folder checked with :func:`writable_folder` (files are written by replacing, so the folder
    is what must be writable)."""
    path = Path(path)
    writable_folder(path.parent, flag)
    return path


# dest -> (flags, kwargs); the PyTorch engine's knobs, rejected for the TensorFlow backend
TORCH_KNOBS = {
    "accelerator": (("--accelerator",), {"choices": ACCELERATORS, "help": "auto|cpu|gpu|cuda|tpu|mps"}),
    "devices": (
        ("--devices",),
        {"type": positive_int, "help": "number of devices/processes (e.g. 2 with --strategy ddp)"},
    ),
    "strategy": (("--strategy",), {"choices": STRATEGIES, "help": "auto|ddp|ddp_spawn|single_device"}),
    "logger": (("--logger",), {"choices": LOGGER_BACKENDS, "help": "csv (default)|tensorboard|mlflow|none"}),
    "num_workers": (("--num-workers", "--num_workers"), {"type": non_negative_int, "help": "data-loader workers"}),
    "learning_rate": (("--learning-rate", "--learning_rate"), {"type": positive_float, "help": "learning rate"}),
    "accum_steps": (
        ("--accum-steps", "--accumulate-grad-batches"),
        {"type": positive_int, "help": "gradient accumulation steps"},
    ),
    "gradient_clip_val": (
        ("--gradient-clip-val",),
        {"type": positive_float, "help": "gradient clipping value"},
    ),
    "deterministic": (
        ("--deterministic",),
        {"action": argparse.BooleanOptionalAction, "help": "deterministic algorithms (default on)"},
    ),
    "resume": (("--resume",), {"action": "store_true", "help": "continue from OUTPUT_DIR/checkpoints/last.ckpt"}),
}
EXECUTION_FIELDS = {
    "accelerator": "accelerator",
    "devices": "n_devices",
    "strategy": "strategy",
    "logger": "logger_backend",
    "num_workers": "num_workers",
    "learning_rate": "learning_rate",
    "accum_steps": "accum_steps",
    "gradient_clip_val": "gradient_clip_val",
    "deterministic": "deterministic",
}


class DeprecatedAlias(argparse.Action):
    """An old spelling that still works and says which new one to use."""

    def __init__(self, option_strings, dest, new=None, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warnings.warn(f"{option_string} is deprecated; use {self.new}", DeprecationWarning, stacklevel=2)
        print(f"warning: {option_string} is deprecated; use {self.new}", flush=True)
        setattr(namespace, self.dest, values)


def add_backend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=("tensorflow", "pytorch"), default="tensorflow", help="engine to use (default tensorflow)"
    )


def add_torch_knobs(parser: argparse.ArgumentParser, names=tuple(TORCH_KNOBS)) -> None:
    group = parser.add_argument_group("PyTorch execution (only with --backend pytorch)")
    for dest in names:
        flags, kwargs = TORCH_KNOBS[dest]
        group.add_argument(*flags, dest=dest, default=None, **kwargs)


def execution_config(args, quiet: bool):
    """``PyTorchExecutionConfig`` for the pytorch backend; an error if a knob is given for tensorflow."""
    given = [TORCH_KNOBS[d][0][0] for d in TORCH_KNOBS if getattr(args, d, None) not in (None, False)]
    if args.backend != "pytorch":
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ConfigError(
                f"{', '.join(given)} {verb} only to the PyTorch engine; drop "
                f"{'it' if len(given) == 1 else 'them'} or add --backend pytorch"
            )
        return None
    values = {
        field: getattr(args, dest) for dest, field in EXECUTION_FIELDS.items() if getattr(args, dest, None) is not None
    }
    values.setdefault("enable_progress_bar", not quiet)
    return PyTorchExecutionConfig(**values)
