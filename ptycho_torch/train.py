"""Upstream-compatible surface: ``python -m ptycho_torch.train``, the upstream training command. The real
path is ``ptycho train --backend pytorch``; this takes the historical flags
(:mod:`ptycho.cli.upstream_torch`)."""

import sys

if __name__ == "__main__":
    from ptycho.cli.upstream_torch import main

    sys.exit(main("train"))
