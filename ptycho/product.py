"""A ptychodus-style HDF5 product file (``product.h5``): probe, object with pixel geometry, positions, losses.

Layout (ptychodus product conventions): root attributes ``name``, ``comments``, ``probe_photon_count``;
datasets ``probe_position_indexes``, ``probe_position_x_m``, ``probe_position_y_m``; ``probe`` (attributes
``pixel_width_m``, ``pixel_height_m``); ``object`` ``(layers, H, W)`` (attributes ``center_x_m``,
``center_y_m``, ``pixel_width_m``, ``pixel_height_m``); ``object_layer_distance_m``; ``loss_values``.
Our data carry no physical pixel size, so lengths are written in pixels with ``pixel_*_m = 1`` and the root
attribute ``length_unit = "pixel"`` says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path


def write_product(
    path,
    *,
    name: str,
    probe: np.ndarray,
    obj: np.ndarray,
    positions: np.ndarray,
    losses=(),
    photon_count: float = 0.0,
    comments: str = "",
) -> Path:
    """Write ``product.h5`` atomically. ``positions`` ``(n, 2)`` ``(x, y)`` in object pixels of ``obj``."""
    import h5py

    obj = np.asarray(obj, np.complex64)
    probe = np.asarray(probe, np.complex64)
    probe = probe[None] if probe.ndim == 2 else probe
    height, width = obj.shape[-2:]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            name=name,
            comments=comments,
            probe_photon_count=float(photon_count),
            length_unit="pixel",
            detector_object_distance_m=1.0,
            probe_energy_eV=0.0,
        )
        h5["probe_position_indexes"] = np.arange(len(positions), dtype=np.int64)
        # ptychodus positions are relative to the object centre
        h5["probe_position_x_m"] = positions[:, 0] - (width - 1) / 2
        h5["probe_position_y_m"] = positions[:, 1] - (height - 1) / 2
        probe_ds = h5.create_dataset("probe", data=probe)
        probe_ds.attrs.update(pixel_width_m=1.0, pixel_height_m=1.0)
        obj_ds = h5.create_dataset("object", data=obj[None] if obj.ndim == 2 else obj)
        obj_ds.attrs.update(center_x_m=0.0, center_y_m=0.0, pixel_width_m=1.0, pixel_height_m=1.0)
        h5["object_layer_distance_m"] = np.zeros(0)
        h5["loss_values"] = np.asarray(list(losses), dtype=np.float64)
    return Path(path)


def read_product(path) -> dict:
    """The product as plain arrays and attributes (for tests and ``ptycho inspect``)."""
    import h5py

    with h5py.File(path, "r") as h5:
        out = {key: _bounded_read(path, key, h5[key]) for key in h5.keys()}
        out["attrs"] = dict(h5.attrs)
        out["object_attrs"] = dict(h5["object"].attrs)
    return out


def _bounded_read(path, name: str, node):
    """One dataset's values, refused before reading when what it declares is not what the file stores: a
    chunked, compressed or never-written dataset can declare gigabytes in a few kilobytes."""
    import h5py

    from ptycho.npz_reader import DEFAULT_MAX_RATIO, RATIO_CHECK_MIN_BYTES, max_npz_bytes

    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"{path}: '{name}' is a {type(node).__name__}, not a dataset")
    declared = node.size * node.dtype.itemsize
    stored = node.id.get_storage_size()
    if declared > max_npz_bytes() or (declared > RATIO_CHECK_MIN_BYTES and declared > DEFAULT_MAX_RATIO * stored):
        raise ValueError(f"{path}: '{name}' declares {node.shape} {node.dtype} ({declared:,} bytes) but the file "
                         f"stores {stored:,} bytes of it; refused before reading (a damaged or hostile file)")
    return node[()]
