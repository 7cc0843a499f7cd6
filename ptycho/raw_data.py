"""``RawData``: a checked scan (docs/design.md §3) and its grouping into model inputs (upstream API)."""

from __future__ import annotations

import numpy as np

from ptycho import params
from ptycho.data_contract import Dataset, from_arrays, read_npz, to_arrays, write_npz
from ptycho.errors import DataContractError
from ptycho.grouping import choose_seeds, group_coordinates, group_neighbors
from ptycho.physics import PatchExtraction, normalisation_factor


class RawData:
    """Diffraction amplitudes ``diff3d`` ``(n, N, N)``, positions and optional probe/object guesses."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    # Upstream attribute names, read by ptychodus and older scripts.
    diff3d = property(lambda self: self.dataset.diffraction)
    xcoords = property(lambda self: self.dataset.xcoords)
    ycoords = property(lambda self: self.dataset.ycoords)
    xcoords_start = property(lambda self: self.dataset.xcoords_start)
    ycoords_start = property(lambda self: self.dataset.ycoords_start)
    scan_index = property(lambda self: self.dataset.scan_index)
    probeGuess = property(lambda self: self.dataset.probeGuess)
    objectGuess = property(lambda self: self.dataset.objectGuess)
    N = property(lambda self: self.dataset.N)

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return f"RawData(n={len(self)}, N={self.N}, source={self.dataset.source!r})"

    @classmethod
    def from_file(cls, path) -> RawData:
        return cls(read_npz(path))

    @classmethod
    def from_coords_without_pc(cls, xcoords, ycoords, diff3d, probeGuess, scan_index, objectGuess=None) -> RawData:
        """Build from arrays; positions are used as given (no position correction)."""
        arrays = {
            "xcoords": xcoords,
            "ycoords": ycoords,
            "diff3d": diff3d,
            "probeGuess": probeGuess,
            "scan_index": scan_index,
            "objectGuess": objectGuess,
        }
        return cls(from_arrays(arrays))

    def to_file(self, path) -> None:
        write_npz(path, to_arrays(self.dataset))

    def subset(self, indices) -> RawData:
        """A RawData with only the scan points at ``indices`` (for ``n_subsample``)."""
        d = self.dataset

        def pick(a):
            return None if a is None else a[indices]

        return RawData(
            Dataset(
                d.diffraction[indices],
                d.xcoords[indices],
                d.ycoords[indices],
                pick(d.xcoords_start),
                pick(d.ycoords_start),
                pick(d.scan_index),
                d.objectGuess,
                d.probeGuess,
                d.source,
            )
        )

    def generate_grouped_data(
        self,
        N: int,
        K: int = 4,
        nsamples: int = 1,
        seed: int | None = None,
        sequential_sampling: bool = False,
        gridsize: int | None = None,
    ) -> dict:
        """Group scan points into ``nsamples`` groups of ``gridsize²`` neighbours.

        Returns the upstream grouped dict: ``diffraction`` and normalised ``X_full`` ``(n, N, N, C)``,
        ``Y`` ground-truth patches ``(n, N, N, C)`` complex (or ``None`` without ``objectGuess``),
        ``coords_offsets`` ``(n, 1, 2, 1)``, ``coords_relative``/``coords_nn`` ``(n, 1, 2, C)``,
        ``nn_indices`` ``(n, C)``, the ``coords_start_*`` twins, and ``objectGuess``.
        ``gridsize=None`` reads it from the legacy dict (CONFIG-001).
        """
        if gridsize is None:
            gridsize = params.get("gridsize")
        if N != self.N:
            raise DataContractError(
                f"{self.dataset.source}: diffraction patterns are {self.N}×{self.N} but "
                f"N={N} was requested; set ModelConfig.N={self.N}"
            )
        xy = np.stack([self.xcoords, self.ycoords], axis=1)
        seeds = choose_seeds(len(self), nsamples, seed, sequential_sampling, allow_repeats=gridsize > 1)
        groups = group_neighbors(xy, seeds, gridsize, K, seed, sequential_sampling)
        diffraction = np.moveaxis(self.diff3d[groups], 1, -1)  # (n, N, N, C)
        out = {
            "diffraction": diffraction,
            "X_full": (diffraction * normalisation_factor(diffraction)).astype(np.float32),
            "nn_indices": groups,
            "objectGuess": self.objectGuess,
        }
        out.update(group_coordinates(self.xcoords, self.ycoords, groups))
        if self.xcoords_start is not None and self.ycoords_start is not None:
            start = group_coordinates(self.xcoords_start, self.ycoords_start, groups)
            out.update({k.replace("coords_", "coords_start_"): v for k, v in start.items()})
        else:
            out.update(
                {
                    k.replace("coords_", "coords_start_"): out[k]
                    for k in ("coords_nn", "coords_offsets", "coords_relative")
                }
            )
        out["Y"] = None if self.objectGuess is None else self._true_patches(groups, N)
        return out

    def _true_patches(self, groups: np.ndarray, N: int) -> np.ndarray:
        positions = np.stack([self.xcoords[groups.ravel()], self.ycoords[groups.ravel()]], axis=1)
        patches = PatchExtraction(positions, N, self.objectGuess.shape).fwd(self.objectGuess)
        return np.moveaxis(patches.reshape(groups.shape + (N, N)), 1, -1).astype(np.complex64)
