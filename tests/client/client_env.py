"""The environment the ptychodus client tests run in: this project's environment plus ptychodus 1.7.0.

It is a separate virtual environment (``.venv-ptychodus`` beside the checkout's ``.venv``) so that the
client's hundred-odd dependencies never enter the project's own environment. A ``.pth`` file makes the
project's packages (its editable install, TensorFlow, torch…) visible in it, so pip installs only what
ptychodus adds; it is built once and reused while its stamp (the client pin and the base environment)
matches. Run as a script it builds the environment and prints its interpreter (``nox -s ptychodus``).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

CLIENT = "ptychodus==1.7.0"
ENV_NAME = ".venv-ptychodus"
INSIDE = "PTYCHO_CLIENT_ENV"  # set for the test run inside the client environment


class IndexUnreachable(RuntimeError):
    """pip could not fetch the client (no package index here)."""


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def _distributions(site: Path) -> str:
    """A fingerprint of what the base environment holds: ptychodus's dependencies that the base already had
    were not installed here, so a rebuilt or pruned base (a package gone) must rebuild this environment."""
    names = sorted(p.name for p in site.glob("*.dist-info"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def ensure(root: Path, base_python: str = sys.executable) -> Path:
    """The client environment's interpreter, building it first if needed."""
    env = Path(root) / ENV_NAME
    base_site = subprocess.run([base_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    stamp, wanted = env / ".installed", f"{CLIENT}\n{base_site}\n{_distributions(Path(base_site))}\n"
    if stamp.is_file() and stamp.read_text() == wanted and _python(env).exists():
        return _python(env)
    venv.EnvBuilder(clear=True, with_pip=True).create(env)
    site = Path(subprocess.run([_python(env), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # "import" lines of a .pth run at start-up: addsitedir also runs the base's own .pth files (editable install)
    (site / "_ptychopinn_base.pth").write_text(f"import site; site.addsitedir({base_site!r})\n")
    result = subprocess.run([_python(env), "-m", "pip", "install", "--quiet", CLIENT], capture_output=True, text=True)
    if result.returncode != 0:
        raise IndexUnreachable(f"pip install {CLIENT} failed in {env}:\n{result.stderr[-2000:]}")
    stamp.write_text(wanted)
    return _python(env)


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))
    sys.exit(0)
