"""The PyTorch engine's upstream command lines (``python -m ptycho_torch.train`` / ``.inference``).

They accept the engine's historical flags and run ``ptycho train|infer --backend pytorch``. Old flags still
work with a deprecation warning: ``--device`` (use ``--accelerator``), ``--disable_mlflow`` (use ``--logger
none``), ``--n_images`` (use ``--n_groups``). The engine package only names these entry points; the command
line lives here, above the engines.
"""

from __future__ import annotations

import sys

from ptycho.cli.main import main as ptycho_main

DEPRECATED = {
    "--device": ("--accelerator", True),
    "--disable_mlflow": ("--logger none", False),
    "--n_images": ("--n-groups", True),
}


def translate(argv: list[str]) -> list[str]:
    """Old flags -> current ones, with a warning for each."""
    out, i = [], 0
    while i < len(argv):
        flag, _, inline = argv[i].partition("=")
        if flag in DEPRECATED:
            new, takes_value = DEPRECATED[flag]
            print(f"warning: {flag} is deprecated; use {new}", file=sys.stderr)
            if not takes_value:
                out.extend(new.split())
            else:
                value = inline or (argv[i + 1] if i + 1 < len(argv) else "")
                i += 0 if inline else 1
                out.extend([new, value])
        else:
            out.append(argv[i])
        i += 1
    return out


def main(command: str, argv: list[str] | None = None) -> int:
    argv = translate(list(sys.argv[1:] if argv is None else argv))
    quiet = [a for a in argv if a == "--quiet"]
    rest = [a for a in argv if a != "--quiet"]
    return ptycho_main([*quiet, command, "--backend", "pytorch", *rest])

