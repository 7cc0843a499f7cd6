"""``python -m ptycho_torch.inference``: the upstream-style inference entry point (``ptycho infer --backend
pytorch``); ``--device`` still works with a deprecation warning pointing to ``--accelerator``."""

from __future__ import annotations

import sys

from ptycho_torch.train import main as _main


def main(argv: list[str] | None = None) -> int:
    return _main(argv, command="infer")


if __name__ == "__main__":
    sys.exit(main())
