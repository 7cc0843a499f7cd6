"""``python -m ptycho_torch.train``: the upstream training command, i.e. ``ptycho train --backend pytorch``
with the historical flags (:mod:`ptycho.cli.upstream_torch`)."""

import sys

if __name__ == "__main__":
    from ptycho.cli.upstream_torch import main

    sys.exit(main("train"))
