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

Checking runs in two steps: the layout (keys, dtypes, shapes: :func:`check_layout`), which for a file
runs on the declared ``.npy`` headers before anything is inflated, then one value pass on each array
already cast to the type it is kept in (finite and within the sane ranges below), so nothing finite in
float64 can turn into inf later.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path
from ptycho.config.config import SUPPORTED_N
from ptycho.errors import DataContractError
from ptycho.npz_reader import read_npz_arrays

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


# Physically sane magnitudes, far inside float32 (3.4e38), so no later float32/complex64 cast, square or sum
# overflows: an amplitude of 1e6 is 1e12 photons in one pixel, over 200x what a 32-bit detector counter
# holds, and a 256x256 pattern of such pixels sums to 6.6e16; a scan 1e6 pixels across would need a
# 1e12-pixel object canvas; probe and object values beyond 1e6 (amplitude units) are a scaling mistake.
MAX_AMPLITUDE = 1e6
MAX_COORDINATE = 1e6
MAX_FIELD = 1e6
MAX_SCAN_INDEX = 2**31 - 1  # scan numbers stay exact in every integer type the engines use
REAL_KINDS = "iuf"  # integers and floats; bool, complex, timedelta, datetime, text, bytes, records refused
NUMERIC_KINDS = "iufc"
KIND_NAMES = {
    "b": "booleans",
    "m": "time spans",
    "M": "dates",
    "U": "text",
    "S": "bytes",
    "V": "records",
    "O": "objects",
    "c": "complex numbers",
}


def _fail(source: str, message: str) -> DataContractError:
    return DataContractError(f"{source}: {message}")


def _dtype_text(dtype: np.dtype) -> str:
    what = KIND_NAMES.get(dtype.kind)
    return f"dtype {dtype}" + (f" ({what}, not numbers)" if what else "")


def _check_coords_layout(source: str, name: str, arr, n: int | None = None) -> None:
    if arr.ndim != 1 or arr.dtype.kind not in REAL_KINDS:
        raise _fail(source, f"'{name}' must be a 1-D real array, found shape {arr.shape} {_dtype_text(arr.dtype)}")
    if n is not None and arr.shape[0] != n:
        raise _fail(source, f"'{name}' has {arr.shape[0]} entries but there are {n} scan positions")


def _layout(source: str, shape: tuple[int, ...], n: int, quiet: bool = False) -> bool:
    """FORMAT-001 on a shape: ``False`` for canonical ``(n, H, W)``, ``True`` for legacy ``(H, W, n)``;
    the decision is logged unless ``quiet`` (once per load: when the array is actually rearranged)."""
    if len(shape) != 3:
        raise _fail(source, f"diffraction must be 3-D (n, N, N), found shape {shape}")
    if shape[0] == n:
        if shape[2] == n and shape[0] != shape[1] and not quiet:
            log.info(
                "%s: diffraction shape %s matches n=%d on both axes; kept as canonical (n, H, W)", source, shape, n
            )
        return False
    if shape[2] == n and shape[0] == shape[1]:
        if not quiet:
            log.info(
                "%s: diffraction in legacy (H, W, n) layout %s; transposed to (n, H, W) (FORMAT-001)", source, shape
            )
        return True
    raise _fail(
        source,
        f"diffraction shape {shape} does not have n={n} patterns (len(xcoords)) "
        "on its first axis (canonical (n, N, N)) nor on its last (legacy (N, N, n))",
    )


def apply_format_rule(source: str, diffraction: np.ndarray, n: int) -> np.ndarray:
    """FORMAT-001: return ``(n, H, W)``; transpose a legacy ``(H, W, n)`` array (logged)."""
    return np.transpose(diffraction, (2, 0, 1)) if _layout(source, diffraction.shape, n) else diffraction


def _check_field_layout(source: str, name: str, arr, ndims: tuple[int, ...]) -> None:
    if arr.ndim not in ndims or arr.dtype.kind not in NUMERIC_KINDS:
        raise _fail(
            source,
            f"'{name}' must be a numeric array with {' or '.join(map(str, ndims))} dimensions, "
            f"found shape {arr.shape} {_dtype_text(arr.dtype)}",
        )
    if 0 in arr.shape:
        raise _fail(source, f"'{name}' is empty (shape {arr.shape}); store a non-empty array or leave the key out")


def check_layout(source: str, arrays) -> str:
    """The contract's rules on keys, dtypes and shapes only (anything with ``.shape``/``.dtype``/``.ndim``:
    arrays, or the declared headers of a file not yet inflated). Returns the diffraction key used."""
    for key in ("xcoords", "ycoords"):
        if key not in arrays:
            raise _fail(source, f"missing required key '{key}' (found keys: {sorted(arrays)})")
    key = next((k for k in DIFFRACTION_KEYS if k in arrays), None)
    if key is None:
        raise _fail(
            source,
            f"missing diffraction data: expected key 'diffraction' (or legacy 'diff3d'); found keys: {sorted(arrays)}",
        )
    _check_coords_layout(source, "xcoords", arrays["xcoords"])
    _check_coords_layout(source, "ycoords", arrays["ycoords"])
    n, ny = arrays["xcoords"].shape[0], arrays["ycoords"].shape[0]
    if n != ny:
        raise _fail(source, f"'xcoords' has {n} entries but 'ycoords' has {ny}")
    if n == 0:
        raise _fail(source, "the dataset has no scan positions")
    diffraction = arrays[key]
    if diffraction.dtype.kind not in REAL_KINDS:
        raise _fail(
            source,
            "diffraction must be real amplitudes (float) or photon counts (integer), "
            f"found {_dtype_text(diffraction.dtype)}",
        )
    shape = diffraction.shape
    _, H, W = (shape[2], shape[0], shape[1]) if _layout(source, shape, n, quiet=True) else shape
    if H != W:
        raise _fail(source, f"diffraction patterns must be square, found {H}×{W}")
    if H not in SUPPORTED_N:
        raise _fail(source, f"pattern size N={H} is not supported; use one of {SUPPORTED_N} (crop or bin the detector)")
    for name in OPTIONAL_COORD_KEYS + ("scan_index",):
        if name in arrays:
            _check_coords_layout(source, name, arrays[name], n)
    if "objectGuess" in arrays:
        _check_field_layout(source, "objectGuess", arrays["objectGuess"], (2,))
    if "probeGuess" in arrays:
        probe = arrays["probeGuess"]
        _check_field_layout(source, "probeGuess", probe, (2, 3))
        if probe.shape[-2:] != (H, H):
            raise _fail(
                source,
                f"'probeGuess' has shape {probe.shape}; expected (N, N) or (modes, N, N) "
                f"with N={H} like the diffraction patterns",
            )
    return key


def _largest(values: np.ndarray) -> float:
    """The largest magnitude: NaN if any value is NaN, inf if any is infinite. Real arrays by two reductions
    (no temporary the size of the patterns: loading stays near 1x the data); complex fields are small (a
    probe, an object)."""
    if not values.size:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        if values.dtype.kind == "c":
            return float(np.max(np.abs(values)))
        return max(abs(float(np.min(values))), abs(float(np.max(values))))


def _checked(source: str, label: str, values: np.ndarray, limit: float, why: str) -> np.ndarray:
    """The one value check, run on arrays already cast to the type they are kept in: finite and within
    ``limit`` in magnitude (so a float64 1e300 cannot pass as finite and turn into inf later)."""
    largest = _largest(values)
    if not np.isfinite(largest):
        overflow = " (values beyond ±3.4e38 overflow float32)" if values.dtype in (np.float32, np.complex64) else ""
        raise _fail(source, f"{label} contains NaN or Inf values as {values.dtype}{overflow}")
    if largest > limit:
        raise _fail(source, f"{label} reaches magnitude {largest:g}, beyond the sane limit {limit:g} ({why})")
    return values


def _coords(source: str, name: str, arr: np.ndarray) -> np.ndarray:
    why = "coordinates are in pixels: convert nm or µm with the pixel size"
    return _checked(source, f"'{name}'", arr.astype(np.float64), MAX_COORDINATE, why)


def _scan_index(source: str, arr: np.ndarray) -> np.ndarray:
    values = _checked(source, "'scan_index'", arr.astype(np.float64), MAX_SCAN_INDEX, "a scan number")
    if np.any(values < 0) or np.any(values != np.round(values)):
        bad = values[(values < 0) | (values != np.round(values))][0]
        raise _fail(source, f"'scan_index' must hold whole numbers >= 0, found {bad:g}")
    return values.astype(np.int64)


def _counts_to_amplitudes(source: str, dtype: np.dtype):
    """Integer patterns are photon counts: amplitudes are their square roots (one chunk at a time)."""
    log.info("%s: diffraction has integer dtype %s; treated as photon counts and square-rooted", source, dtype)

    def convert(counts: np.ndarray) -> np.ndarray:
        if counts.size and counts.min() < 0:
            raise _fail(source, f"diffraction photon counts must be >= 0, found minimum {counts.min()}")
        return np.sqrt(counts, dtype=np.float64).astype(np.float32)

    return convert


def _to_float32(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: the value check names it
        return values.astype(np.float32)


def _pattern_conversion(source: str, dtype: np.dtype):
    """How patterns of ``dtype`` become float32 amplitudes, elementwise (None: they already are)."""
    if dtype == np.float32:
        return None
    return _counts_to_amplitudes(source, dtype) if dtype.kind in "iu" else _to_float32


class _DeclaredFile:
    """The NPZ reader's two callbacks for one file: the contract's layout rules on the declared headers, and
    the patterns (the key those rules chose) converted as they are read, never held whole in the file's
    dtype."""

    def __init__(self, source: str):
        self.source = source
        self.key: str | None = None

    def check(self, headers: dict) -> None:
        if not headers:
            raise _fail(self.source, "is an empty NPZ archive")
        self.key = check_layout(self.source, headers)

    def casts(self, name: str, header):
        convert = _pattern_conversion(self.source, header.dtype) if name == self.key else None
        return None if convert is None else (np.dtype(np.float32), convert)


def _by_rows(arr: np.ndarray, convert, chunk_bytes: int = 1 << 22) -> np.ndarray:
    """``convert`` applied to ``arr`` a few patterns at a time into one C-ordered float32 array."""
    out = np.empty(arr.shape, np.float32)
    rows = max(1, chunk_bytes // max(1, arr[:1].nbytes))
    for start in range(0, len(arr), rows):
        out[start : start + rows] = convert(arr[start : start + rows])
    return out


def _diffraction(source: str, arr: np.ndarray, n: int) -> np.ndarray:
    arr = apply_format_rule(source, arr, n)
    convert = _pattern_conversion(source, arr.dtype)
    if convert is None and not arr.flags.c_contiguous:  # the legacy layout's transposed view
        convert = np.asarray
    values = arr if convert is None else _by_rows(arr, convert)
    values = _checked(source, "diffraction", values, MAX_AMPLITUDE, "amplitudes are square roots of photon counts")
    if values.size and values.min() < 0:  # a reduction: no boolean temporary the size of the patterns
        raise _fail(source, f"diffraction amplitudes must be >= 0, found minimum {values.min():g}")
    return values


def _field(source: str, name: str, arr: np.ndarray) -> np.ndarray:
    return _checked(source, f"'{name}'", arr.astype(np.complex128), MAX_FIELD, "a scaling mistake: normalise it")


def from_arrays(arrays: dict, source: str = "<arrays>") -> Dataset:
    """Check a mapping of arrays against the contract and return a :class:`Dataset`: first the layout
    (:func:`check_layout`), then one value pass on each array cast to the type it is kept in."""
    try:
        arrays = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    except ValueError as exc:  # ragged nested lists
        raise _fail(source, f"holds a value that is not a rectangular array ({exc})") from None
    key = check_layout(source, arrays)
    x = _coords(source, "xcoords", arrays["xcoords"])
    dataset = Dataset(
        diffraction=_diffraction(source, arrays[key], len(x)),
        xcoords=x,
        ycoords=_coords(source, "ycoords", arrays["ycoords"]),
        source=source,
    )
    for name in OPTIONAL_COORD_KEYS:
        if name in arrays:
            setattr(dataset, name, _coords(source, name, arrays[name]))
    if "scan_index" in arrays:
        dataset.scan_index = _scan_index(source, arrays["scan_index"])
    for name in ("objectGuess", "probeGuess"):
        if name in arrays:
            setattr(dataset, name, _field(source, name, arrays[name]))
    if dataset.objectGuess is not None and not _covers(dataset.objectGuess.shape, dataset.xcoords, dataset.ycoords):
        log.warning("%s: scan positions lie outside 'objectGuess' (%d×%d px), so it cannot be the object these "
                    "patterns saw: it is ignored (no ground-truth metrics)", source, *dataset.objectGuess.shape)
        dataset.objectGuess = None
    return dataset


def _covers(shape, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether every scan position (a window centre, in object pixels) lies inside an object of ``shape``."""
    return bool(x.min() >= 0 and y.min() >= 0 and x.max() <= shape[1] - 1 and y.max() <= shape[0] - 1)


def read_npz(path) -> Dataset:
    """Load and check an NPZ file: its declared layout before anything is inflated (bounded, never
    unpickled: :mod:`ptycho.npz_reader`), then its values."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset not found: {path}")
    source = str(path)
    declared = _DeclaredFile(source)
    arrays = read_npz_arrays(source, path, check=declared.check, casts=declared.casts)
    return from_arrays(arrays, source)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same arrays always give the same bytes


def write_npz(path, arrays: dict) -> Path:
    """Write arrays to ``path`` atomically (never a half-written file), as an uncompressed NPZ whose bytes
    depend only on the arrays (no timestamps), and never with pickled objects."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)
    return Path(path)


def to_arrays(dataset: Dataset) -> dict:
    """The dataset as contract keys (canonical names), ready for :func:`write_npz`."""
    arrays = {"diffraction": dataset.diffraction, "xcoords": dataset.xcoords, "ycoords": dataset.ycoords}
    for name in OPTIONAL_COORD_KEYS + ("scan_index", "objectGuess", "probeGuess"):
        value = getattr(dataset, name)
        if value is not None:
            arrays[name] = value
    return arrays
