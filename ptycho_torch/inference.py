"""Upstream-compatible surface: ``python -m ptycho_torch.inference``, the upstream inference command.
The real path is ``ptycho infer --backend pytorch``; this takes the historical flags
(:mod:`ptycho.cli.upstream_torch`)."""

import sys

if __name__ == "__main__":
    from ptycho.cli.upstream_torch import main

    sys.exit(main("infer"))
