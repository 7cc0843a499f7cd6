"""Convert the Velociprobe Siemens-star scan (tike's test data, ``shared/data``) to the data contract.

The source stores counts in FFT order, scan positions as the (row, column) of each window's minimum
corner, and a 6-D probe. The contract wants centred patterns, window centres ``(x, y)`` >= N/2 and a
``(N, N)`` probe.
"""

from __future__ import annotations

import bz2
import io
from pathlib import Path

import numpy as np

from ptycho.data_contract import from_arrays, write_npz

MARGIN = 2  # pixels between the outermost window and the canvas edge


def convert(source, destination) -> Path:
    """Write the Velociprobe scan ``source`` as a contract-valid NPZ at ``destination``."""
    arrays = load_arrays(source)
    from_arrays(arrays, str(source))  # check before writing
    return write_npz(destination, arrays)


def load_arrays(source) -> dict:
    """The Velociprobe scan as data-contract arrays (counts, window-centre positions, probe)."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"Velociprobe file not found: {source}")
    raw = bz2.decompress(source.read_bytes()) if source.suffix == ".bz2" else source.read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        data, scan, probe = npz["data"], npz["scan"], npz["probe"]
    counts = np.fft.fftshift(np.rint(data[0]).astype(np.int32), axes=(-2, -1))
    N = counts.shape[-1]
    rows, cols = scan[0, :, 0].astype(np.float64), scan[0, :, 1].astype(np.float64)
    x = cols + N / 2
    y = rows + N / 2
    x = x - x.min() + N / 2 + MARGIN
    y = y - y.min() + N / 2 + MARGIN
    arrays = {
        "diffraction": counts,
        "xcoords": x,
        "ycoords": y,
        "xcoords_start": x,
        "ycoords_start": y,
        "scan_index": np.zeros(len(x), np.int64),
        "probeGuess": probe.reshape(N, N).astype(np.complex64),
    }
    return arrays
