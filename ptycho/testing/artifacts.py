"""Kept evidence: copy what a test produced out of pytest's temporary folder before it is cleaned.

``DIR/<UTC timestamp>/<test>/`` gets the files of the test's ``tmp_path`` (checkpoints, archives, PNGs,
logs, metrics) and ``test-output.log`` (what the test printed); ``DIR/<UTC timestamp>/index.json`` lists
every kept test with its outcome and files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ptycho.atomic import atomic_path
from ptycho.testing.suites import suite_of

KEPT_SUITES = ("integration", "model_manager")
MAX_FILE_BYTES = 256 * 1024**2  # a stray huge file is listed, not copied
KINDS = {
    ".ckpt": "checkpoint",
    ".zip": "archive",
    ".png": "figure",
    ".log": "log",
    ".txt": "log",
    ".json": "metrics",
    ".csv": "metrics",
    ".npz": "data",
    ".h5": "data",
    ".md": "report",
    ".html": "report",
}
OUTPUT_LOG = "test-output.log"


def tmp_path_of(item) -> Path | None:
    """The test's ``tmp_path`` when it asked for one (where its artifacts are)."""
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    return None if tmp_path is None else Path(tmp_path)


def wanted(item) -> bool:
    """Kept for tests marked ``keep_artifacts`` and for every test of the integration and model-manager suites."""
    return bool(item.get_closest_marker("keep_artifacts")) or suite_of(item.nodeid) in KEPT_SUITES


def keep_item(item, session_dir: Path, output: str) -> dict:
    """Keep one test's ``tmp_path`` and output under ``session_dir``; its entry for the index."""
    destination = session_dir / folder_name(item.nodeid)
    files = keep(item.nodeid, tmp_path_of(item), destination, output)
    return {"folder": str(destination), "files": files}


def folder_name(nodeid: str) -> str:
    """``tests/integration/test_workflow.py::test_x[pytorch]`` -> ``test_workflow.test_x-pytorch``."""
    module, _, name = nodeid.partition("::")
    stem = Path(module).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{stem}.{name}").strip("-")[:180]


def keep(nodeid: str, source: Path | None, destination: Path, output: str) -> list[dict]:
    """Copy ``source`` (may be None) into ``destination`` plus the test's output; the list of kept files."""
    destination.mkdir(parents=True, exist_ok=True)
    files = []
    if source is not None and source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = path.relative_to(source)
            size = path.stat().st_size
            entry = {"path": relative.as_posix(), "bytes": size, "kind": KINDS.get(path.suffix.lower(), "other")}
            if size > MAX_FILE_BYTES:
                entry["copied"] = False
            else:
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination / relative)
            files.append(entry)
    (destination / OUTPUT_LOG).write_text(output or "(the test printed nothing)\n")
    files.append({"path": OUTPUT_LOG, "bytes": (destination / OUTPUT_LOG).stat().st_size, "kind": "log"})
    return files


def write_index(session_dir: Path, entries: list[dict]) -> Path:
    path = session_dir / "index.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"session": session_dir.name, "tests": entries}, indent=2) + "\n")
    return path
