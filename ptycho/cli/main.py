"""``ptycho``: one front door. Exit codes: 0 success, 2 usage error, 1 failure (one paragraph, no
traceback unless ``--debug``)."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from ptycho import __version__
from ptycho.cli import (
    demo,
    doctor,
    evaluate,
    harness,
    infer,
    inspect_cmd,
    models,
    parity,
    reconstruct,
    simulate,
    train,
)
from ptycho.errors import ConfigError, PtychoError

COMMANDS = (simulate, train, infer, reconstruct, evaluate, inspect_cmd, models, demo, harness, doctor, parity)

# Errors a user can cause; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, FileNotFoundError, KeyError, RuntimeError, OSError, PtychoError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptycho",
        description="Physics-informed neural network ptychography with TensorFlow and PyTorch engines.",
        epilog="Run 'ptycho COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"ptychopinn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logging")
    parser.add_argument("--quiet", action="store_true", help="only print warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    simulate.add_import_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    for name in ("lightning.pytorch", "lightning.fabric"):  # Lightning has its own handler: print once
        logging.getLogger(name).propagate = False
        logging.getLogger(name).setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:  # the arguments asked for something invalid: a usage error
        if args.debug:
            traceback.print_exc()
        parser.exit(2, f"ptycho {args.command}: error: {exc}\n")
    except USER_ERRORS as exc:
        if args.debug:
            traceback.print_exc()
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ptycho {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ptycho {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
