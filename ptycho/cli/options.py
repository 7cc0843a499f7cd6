"""Options shared by ``ptycho train`` and ``ptycho infer``: backend, torch execution knobs, aliases."""

from __future__ import annotations

import argparse
import warnings

from ptycho.config.config import ACCELERATORS, LOGGER_BACKENDS, STRATEGIES, PyTorchExecutionConfig
from ptycho.errors import ConfigError

# dest -> (flags, kwargs); the PyTorch engine's knobs, rejected for the TensorFlow backend
TORCH_KNOBS = {
    "accelerator": (("--accelerator",), {"choices": ACCELERATORS, "help": "auto|cpu|gpu|cuda|tpu|mps"}),
    "devices": (("--devices",), {"type": int, "help": "number of devices/processes (e.g. 2 with --strategy ddp)"}),
    "strategy": (("--strategy",), {"choices": STRATEGIES, "help": "auto|ddp|ddp_spawn|single_device"}),
    "logger": (("--logger",), {"choices": LOGGER_BACKENDS, "help": "csv (default)|tensorboard|mlflow|none"}),
    "num_workers": (("--num-workers", "--num_workers"), {"type": int, "help": "data-loader workers"}),
    "learning_rate": (("--learning-rate", "--learning_rate"), {"type": float, "help": "learning rate"}),
    "accum_steps": (
        ("--accum-steps", "--accumulate-grad-batches"),
        {"type": int, "help": "gradient accumulation steps"},
    ),
    "gradient_clip_val": (("--gradient-clip-val",), {"type": float, "help": "gradient clipping value"}),
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
