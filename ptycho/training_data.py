"""Training data named on the command line: one NPZ, several, a glob, or a corpus folder.

A corpus folder with a ``manifest.json`` (``ptycho simulate --corpus``) is read shard by shard, each shard's
sha256 checked against the manifest, so a damaged or swapped shard is refused by name; a folder without a
manifest gives its ``*.npz`` files in name order.
"""

from __future__ import annotations

import glob
import json
import logging
from pathlib import Path

from ptycho.data_contract import read_npz
from ptycho.errors import DataContractError
from ptycho.raw_data import RawData
from ptycho.simulation.corpus import MANIFEST, sha256

log = logging.getLogger("ptycho.train")


def corpus_shards(folder: Path) -> list[Path]:
    """The shards a corpus manifest lists, each checked against its recorded sha256."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        entries = [(folder / e["file"], e["sha256"]) for e in manifest["shards"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataContractError(f"{folder / MANIFEST}: not a readable corpus manifest ({exc})") from None
    for path, digest in entries:
        if path.parent != folder or not path.is_file():
            raise DataContractError(f"{folder / MANIFEST} lists {path.name}, which is not in {folder}")
        if sha256(path) != digest:
            raise DataContractError(
                f"{path}: its sha256 differs from the one in {MANIFEST}; the shard is damaged or was replaced "
                "(simulate the corpus again, or restore the file)"
            )
    return [path for path, _ in entries]


def expand(values) -> list[Path]:
    """Files named by ``values`` (paths, folders, globs), in order, each once."""
    files: list[Path] = []
    for value in [values] if isinstance(values, (str, Path)) else values:
        path = Path(value)
        if path.is_dir():
            found = corpus_shards(path) if (path / MANIFEST).is_file() else sorted(path.glob("*.npz"))
            if not found:
                raise DataContractError(f"{path}: a folder with no *.npz files and no {MANIFEST}")
        elif path.is_file():
            found = [path]
        elif not glob.has_magic(str(value)):
            raise FileNotFoundError(f"dataset not found: {path}")
        else:
            found = sorted(Path(p) for p in glob.glob(str(value)))
            if not found:
                raise DataContractError(f"{value}: no files match this pattern")
        files.extend(f for f in found if f not in files)
    return files


STREAM_MODES = ("auto", "on", "off")
# Grouped float32 amplitudes, offsets and the file's own arrays: about 3× a shard's bytes while training.
MEMORY_PER_FILE_BYTE = 3


def available_memory() -> int:
    """Bytes of memory this machine has (physical pages × page size)."""
    import os

    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def should_stream(files: list[Path], mode: str = "auto") -> bool:
    """Whether to stream ``files``: asked for (``on``/``off``), or (``auto``) several files that would take
    more than a quarter of the memory held at once."""
    if mode != "auto":
        return mode == "on"
    needed = MEMORY_PER_FILE_BYTE * sum(f.stat().st_size for f in files)
    stream = len(files) > 1 and needed > available_memory() / 4
    if stream:
        log.info("--stream auto: %d files need about %.1f GB at once, so they are streamed", len(files), needed / 1e9)
    return stream


def read_shard(path: Path) -> RawData:
    """One scan of several, read and checked without the reader's per-file notes (one summary line is
    logged for them all)."""
    reader_log = logging.getLogger("ptycho.data_contract")
    level = reader_log.level
    reader_log.setLevel(max(level, logging.WARNING))
    try:
        return RawData(read_npz(path))
    finally:
        reader_log.setLevel(level)


def read_scans(values) -> RawData | list[RawData]:
    """One ``RawData`` for a single file, else a list (one per scan, grouped separately in training)."""
    files = expand(values)
    if len(files) == 1:
        return RawData(read_npz(files[0]))
    scans = [read_shard(f) for f in files]
    log.info("read %d scans, %d patterns, from %s", len(scans), sum(len(s) for s in scans),
             ", ".join(dict.fromkeys(str(f.parent) for f in files)))
    if len({s.N for s in scans}) > 1:
        sizes = ", ".join(f"{f.name}: {s.N}" for f, s in zip(files, scans, strict=True))
        raise DataContractError(f"the training scans have different pattern sizes ({sizes}); train on one N")
    return scans
