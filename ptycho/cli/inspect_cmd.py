"""``ptycho inspect``: what an NPZ dataset, reconstruction, model archive, checkpoint or product file holds,
and whether it is valid (exit 1 when it is not)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ptycho.data_contract import read_npz
from ptycho.errors import PtychoError


def _dataset(path: Path) -> list[str]:
    with np.load(path, allow_pickle=False) as npz:
        if "object" in npz.files:  # a reconstruction written by ptycho infer
            return [f"reconstruction: {k} {npz[k].shape} {npz[k].dtype}" for k in npz.files]
    ds = read_npz(path)
    lines = [
        f"dataset: {len(ds)} patterns of {ds.N}×{ds.N} (valid under the data contract)",
        f"positions: x {ds.xcoords.min():.1f}…{ds.xcoords.max():.1f}, y {ds.ycoords.min():.1f}…{ds.ycoords.max():.1f}",
        f"mean photons per pattern: {np.mean(np.sum(ds.diffraction.astype(np.float64) ** 2, axis=(1, 2))):.4g}",
    ]
    lines.append(f"probeGuess: {None if ds.probeGuess is None else ds.probeGuess.shape}")
    lines.append(f"objectGuess: {None if ds.objectGuess is None else ds.objectGuess.shape}")
    return lines


def _archive(path: Path) -> list[str]:
    from ptycho.archive import read_archive
    from ptycho.testing.checkpoints import check_model_archive
    from ptycho.training_guard import non_finite_weights

    problem = check_model_archive(path)
    if problem:
        raise PtychoError(problem)
    archive = read_archive(path)
    m, p = archive.manifest, archive.params
    bad = non_finite_weights(archive.neutral_weights())
    scale = p.get("intensity_scale")
    if bad or not isinstance(scale, (int, float)) or not np.isfinite(scale):
        raise PtychoError(
            f"{path}: not a usable model: non-finite weights {bad[:5]} or intensity_scale {scale!r}; "
            "the training that wrote it diverged, retrain it"
        )
    return [
        f"model archive: backend {m['backend']}, format version {m['format_version']}, written by ptychopinn "
        f"{m['package_version']} at {m['created_utc']} (checksums verified)",
        f"members: {', '.join(sorted(archive.members))}",
        f"model: N={p.get('N')}, gridsize={p.get('gridsize')}, n_filters_scale={p.get('n_filters_scale')}, "
        f"intensity_scale={p.get('intensity_scale'):.6g}",
    ]


def _checkpoint(path: Path) -> list[str]:
    from ptycho.testing.checkpoints import check_lightning_checkpoint

    problem = check_lightning_checkpoint(path)
    if problem:
        raise PtychoError(problem)
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return [
        f"Lightning checkpoint (valid, loads with weights_only=True): epoch {ckpt.get('epoch')}, "
        f"global step {ckpt.get('global_step')}, Lightning {ckpt.get('pytorch-lightning_version')}",
        f"hyper_parameters: {json.dumps({k: sorted(v) for k, v in ckpt['hyper_parameters'].items()})}",
        f"state_dict: {len(ckpt['state_dict'])} tensors",
    ]


def _product(path: Path) -> list[str]:
    from ptycho.product import read_product

    product = read_product(path)
    return [
        f"product file: object {product['object'].shape}, probe {product['probe'].shape}, "
        f"{len(product['probe_position_x_m'])} positions, {len(product['loss_values'])} loss values"
    ]


def run(args) -> int:
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"nothing to inspect at {path}")
    if path.is_dir() or zipfile.is_zipfile(path) and path.suffix == ".zip":
        lines = _archive(path)
    elif path.suffix == ".ckpt":
        lines = _checkpoint(path)
    elif path.suffix in (".h5", ".hdf5"):
        lines = _product(path)
    else:
        lines = _dataset(path)
    print(f"{path}:")
    for line in lines:
        print(f"  {line}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "inspect", help="what a dataset, archive, checkpoint or product holds, and if it is valid", description=__doc__
    )
    p.add_argument("path", help="an NPZ, a wts.h5.zip (or its folder), a .ckpt, or a product.h5")
    p.set_defaults(run=run)
