"""Grouping scan positions into sets of ``C = gridsize²`` neighbours (pure functions).

Sign convention (the one used in grouping, model and stitching): a group's offset is the mean ``(x, y)``
of its members, and each member's relative offset is ``position − group offset``. Channel ``c`` of a
group is its member at grid cell ``(c // gridsize, c % gridsize)``: members are sorted into rows by ``y``
and, within a row, by ``x``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ptycho.errors import ConfigError


def choose_seeds(
    n_points: int, nsamples: int, seed: int | None, sequential: bool, allow_repeats: bool = False
) -> np.ndarray:
    """Indices of the scan points that start a group: the first ``nsamples``, or a seeded random choice.

    With ``allow_repeats`` (groups of several patterns) more groups than points may be drawn: a point then
    starts several groups, each with its own random neighbours.
    """
    count = nsamples if allow_repeats else min(nsamples, n_points)
    if sequential:
        return np.arange(count) % n_points
    rng = np.random.default_rng(seed)
    if count <= n_points:
        return np.sort(rng.choice(n_points, size=count, replace=False))
    extra = rng.choice(n_points, size=count - n_points, replace=True)
    return np.sort(np.concatenate([np.arange(n_points), extra]))


def _grid_order(points: np.ndarray, gridsize: int) -> np.ndarray:
    """Order of ``C`` points that maps them to grid cells: rows by y, then x within each row."""
    by_y = np.argsort(points[:, 1], kind="stable")
    rows = by_y.reshape(gridsize, gridsize)
    return np.concatenate([row[np.argsort(points[row, 0], kind="stable")] for row in rows])


def group_neighbors(
    xy: np.ndarray, seeds: np.ndarray, gridsize: int, K: int, seed: int | None, sequential: bool
) -> np.ndarray:
    """``(n_groups, C)`` member indices: each seed with ``C − 1`` of its ``K`` nearest neighbours."""
    C = gridsize * gridsize
    if C == 1:
        return seeds[:, None]
    if K < C - 1:
        raise ConfigError(
            f"neighbor_count K={K} is too small for gridsize={gridsize}: each group needs "
            f"{C - 1} neighbours, so set K >= {C - 1}."
        )
    if len(xy) < C:
        raise ConfigError(f"gridsize={gridsize} needs at least {C} scan positions, the dataset has {len(xy)}.")
    k = min(K + 1, len(xy))
    _, neighbours = cKDTree(xy).query(xy[seeds], k=k)
    rng = np.random.default_rng(seed)
    groups = np.empty((len(seeds), C), dtype=np.int64)
    for g, row in enumerate(neighbours):
        others = row[1:C] if sequential else rng.choice(row[1:], size=C - 1, replace=False)
        members = np.concatenate([[row[0]], others])
        groups[g] = members[_grid_order(xy[members], gridsize)]
    return groups


def group_coordinates(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, np.ndarray]:
    """Absolute, group-offset and relative coordinates, shaped ``(n, 1, 2, C)`` / ``(n, 1, 2, 1)``."""
    nn = np.stack([x[groups], y[groups]], axis=1)[:, None]  # (n, 1, 2, C)
    offsets = nn.mean(axis=-1, keepdims=True)
    return {"coords_nn": nn, "coords_offsets": offsets, "coords_relative": nn - offsets}
