"""The NPZ data contract (docs/design.md §3): read, check and write ptychography datasets.

Keys: ``diffraction`` (canonical) or ``diff3d`` (legacy) ``(n, N, N)``: float = amplitude, integer =
photon counts (square-rooted on load); ``xcoords``, ``ycoords`` ``(n,)``; optional ``xcoords_start``,
``ycoords_start``, ``scan_index``, ``objectGuess`` (2-D complex), ``probeGuess`` ``(N, N)`` or
``(modes, N, N)`` complex. Every violation raises :class:`~ptycho.errors.DataContractError` naming the key,
what was found and what was expected.

FORMAT-001, the one layout rule: a diffraction array whose first axis has ``len(xcoords)`` entries is
canonical ``(n, H, W)`` and kept (also when the last axis happens to match too); otherwise one whose last
axis has ``len(xcoords)`` entries and whose first two axes are equal is legacy ``(H, W, n)`` and is
transposed; anything else is an error.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path
from ptycho.config.config import SUPPORTED_N
from ptycho.errors import DataContractError

log = logging.getLogger(__name__)

DIFFRACTION_KEYS = ("diffraction", "diff3d")
OPTIONAL_COORD_KEYS = ("xcoords_start", "ycoords_start")


@dataclass
class Dataset:
    """A checked dataset. ``diffraction`` is always amplitude ``(n, N, N)`` float."""

    diffraction: np.ndarray
    xcoords: np.ndarray
    ycoords: np.ndarray
    xcoords_start: np.ndarray | None = None
    ycoords_start: np.ndarray | None = None
    scan_index: np.ndarray | None = None
    objectGuess: np.ndarray | None = None
    probeGuess: np.ndarray | None = None
    source: str = "<arrays>"

    @property
    def N(self) -> int:
        return int(self.diffraction.shape[-1])

    def __len__(self) -> int:
        return int(self.diffraction.shape[0])


def _fail(source: str, message: str) -> DataContractError:
    return DataContractError(f"{source}: {message}")


def _coords(source: str, name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise _fail(source, f"'{name}' must be a 1-D real array, found shape {arr.shape} dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise _fail(source, f"'{name}' contains NaN or Inf values")
    return arr


def apply_format_rule(source: str, diffraction: np.ndarray, n: int) -> np.ndarray:
    """FORMAT-001: return ``(n, H, W)``; transpose a legacy ``(H, W, n)`` array (logged)."""
    if diffraction.ndim != 3:
        raise _fail(source, f"diffraction must be 3-D (n, N, N), found shape {diffraction.shape}")
    if diffraction.shape[0] == n:
        if diffraction.shape[2] == n and diffraction.shape[0] != diffraction.shape[1]:
            log.info(
                "%s: diffraction shape %s matches n=%d on both axes; kept as canonical (n, H, W)",
                source,
                diffraction.shape,
                n,
            )
        return diffraction
    if diffraction.shape[2] == n and diffraction.shape[0] == diffraction.shape[1]:
        log.info(
            "%s: diffraction in legacy (H, W, n) layout %s; transposed to (n, H, W) (FORMAT-001)",
            source,
            diffraction.shape,
        )
        return np.transpose(diffraction, (2, 0, 1))
    raise _fail(
        source,
        f"diffraction shape {diffraction.shape} does not have n={n} patterns (len(xcoords)) "
        "on its first axis (canonical (n, N, N)) nor on its last (legacy (N, N, n))",
    )


def _diffraction(source: str, raw, n: int) -> np.ndarray:
    arr = np.asarray(raw)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise _fail(
            source, f"diffraction must be real amplitudes (float) or photon counts (integer), found dtype {arr.dtype}"
        )
    arr = apply_format_rule(source, arr, n)
    _, H, W = arr.shape
    if H != W:
        raise _fail(source, f"diffraction patterns must be square, found {H}×{W}")
    if H not in SUPPORTED_N:
        raise _fail(source, f"pattern size N={H} is not supported; use one of {SUPPORTED_N} (crop or bin the detector)")
    is_counts = np.issubdtype(arr.dtype, np.integer)
    values = arr.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise _fail(source, "diffraction contains NaN or Inf values")
    if np.any(values < 0):
        kind = "photon counts" if is_counts else "amplitudes"
        raise _fail(source, f"diffraction {kind} must be >= 0, found minimum {values.min():g}")
    if is_counts:
        log.info("%s: diffraction has integer dtype %s; treated as photon counts and square-rooted", source, arr.dtype)
        values = np.sqrt(values)
    return values.astype(np.float32)


def _complex_array(source: str, name: str, value, ndims: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim not in ndims or not np.issubdtype(arr.dtype, np.number):
        raise _fail(
            source,
            f"'{name}' must be a numeric array with {' or '.join(map(str, ndims))} dimensions, "
            f"found shape {arr.shape} dtype {arr.dtype}",
        )
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise _fail(source, f"'{name}' contains NaN or Inf values")
    return arr


def from_arrays(arrays: dict, source: str = "<arrays>") -> Dataset:
    """Check a mapping of arrays against the contract and return a :class:`Dataset`."""
    for key in ("xcoords", "ycoords"):
        if key not in arrays:
            raise _fail(source, f"missing required key '{key}' (found keys: {sorted(arrays)})")
    key = next((k for k in DIFFRACTION_KEYS if k in arrays), None)
    if key is None:
        raise _fail(
            source,
            f"missing diffraction data: expected key 'diffraction' (or legacy 'diff3d'); found keys: {sorted(arrays)}",
        )
    x = _coords(source, "xcoords", arrays["xcoords"])
    y = _coords(source, "ycoords", arrays["ycoords"])
    if len(x) != len(y):
        raise _fail(source, f"'xcoords' has {len(x)} entries but 'ycoords' has {len(y)}")
    if len(x) == 0:
        raise _fail(source, "the dataset has no scan positions")
    diffraction = _diffraction(source, arrays[key], len(x))
    dataset = Dataset(diffraction=diffraction, xcoords=x, ycoords=y, source=source)
    for name in OPTIONAL_COORD_KEYS + ("scan_index",):
        if arrays.get(name) is not None:
            value = _coords(source, name, arrays[name])
            if len(value) != len(x):
                raise _fail(source, f"'{name}' has {len(value)} entries but there are {len(x)} scan positions")
            setattr(dataset, name, value.astype(np.int64) if name == "scan_index" else value)
    if arrays.get("objectGuess") is not None:
        dataset.objectGuess = _complex_array(source, "objectGuess", arrays["objectGuess"], (2,))
    if arrays.get("probeGuess") is not None:
        probe = _complex_array(source, "probeGuess", arrays["probeGuess"], (2, 3))
        if probe.shape[-2:] != (dataset.N, dataset.N):
            raise _fail(
                source,
                f"'probeGuess' has shape {probe.shape}; expected (N, N) or (modes, N, N) "
                f"with N={dataset.N} like the diffraction patterns",
            )
        dataset.probeGuess = probe
    return dataset


def read_npz(path) -> Dataset:
    """Load and check an NPZ file (``allow_pickle=False``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset not found: {path}")
    source = str(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise _fail(
                source,
                f"holds a single array of shape {np.shape(loaded)}, not an NPZ archive of "
                "named arrays (write it with numpy.savez)",
            )
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
    except DataContractError:
        raise
    except ValueError as exc:  # object arrays need pickle, which we never allow
        raise _fail(
            source, f"holds pickled objects, which are refused for safety ({exc}); store plain numeric arrays"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, zlib.error) as exc:
        raise _fail(source, f"is not a readable NPZ file ({type(exc).__name__}: {exc})") from None
    if not arrays:
        raise _fail(source, "is an empty NPZ archive")
    return from_arrays(arrays, source)


def write_npz(path, arrays: dict) -> Path:
    """Write arrays to ``path`` atomically (never a half-written file)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return Path(path)


def to_arrays(dataset: Dataset) -> dict:
    """The dataset as contract keys (canonical names), ready for :func:`write_npz`."""
    arrays = {"diffraction": dataset.diffraction, "xcoords": dataset.xcoords, "ycoords": dataset.ycoords}
    for name in OPTIONAL_COORD_KEYS + ("scan_index", "objectGuess", "probeGuess"):
        value = getattr(dataset, name)
        if value is not None:
            arrays[name] = value
    return arrays
