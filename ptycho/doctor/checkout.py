"""The ptychopinn checkout a tool works on (``ptycho doctor --root``), and what its files declare.

The checkout is found from a given folder upwards, never from where the installed package lives: an
installed ``ptycho`` must not assume that ``tests/`` or ``noxfile.py`` sit beside it.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

PROJECT = "ptychopinn"
NOT_FOUND = f"no {PROJECT} checkout found (a folder whose pyproject.toml names {PROJECT})"


def _names_project(pyproject: Path) -> bool:
    try:
        return tomllib.loads(pyproject.read_text()).get("project", {}).get("name") == PROJECT
    except (OSError, tomllib.TOMLDecodeError):
        return False


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder from ``start`` (default: the current one) upwards holding ptychopinn's pyproject."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _names_project(folder / "pyproject.toml"):
            return folder
    return None


def declared_requirements(root: Path | None) -> tuple[str, list[str], str]:
    """(requires-python, core dependencies, where they were read): the checkout's pyproject.toml when it has
    one (it may be newer than the installed environment), else the installed package's metadata."""
    pyproject = root / "pyproject.toml" if root else None
    if pyproject and pyproject.is_file():
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        return project.get("requires-python", ""), list(project.get("dependencies", [])), str(pyproject)
    metadata = importlib.metadata.metadata(PROJECT)
    requires = [r for r in importlib.metadata.requires(PROJECT) or [] if "extra ==" not in r]
    return metadata.get("Requires-Python", ""), requires, f"the installed {PROJECT} metadata"
