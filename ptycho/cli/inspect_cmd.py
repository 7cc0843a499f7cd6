"""``ptycho inspect``: what an NPZ dataset, reconstruction, model archive, checkpoint or product file holds,
and whether it is valid (exit 1 when it is not, with what is wrong and what to do; never a traceback)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ptycho.errors import PtychoError

KINDS = "an NPZ dataset or reconstruction, a wts.h5.zip (or its folder), a .ckpt checkpoint or a product.h5"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _kind(path: Path) -> str:
    """Which reader ``path`` goes to: by folder, name, then leading bytes; refuse what none reads."""
    if path.is_dir():
        return "archive"
    if not path.is_file():
        raise PtychoError(f"{path}: not a regular file; give {KINDS}")
    if path.stat().st_size == 0:
        raise PtychoError(f"{path}: is empty (0 bytes), an interrupted copy or save; use an intact copy of the file")
    name = path.name.lower()
    with open(path, "rb") as handle:
        head = handle.read(8)
    if name.endswith(".zip"):
        return "archive"
    if name.endswith(".ckpt"):
        return "checkpoint"
    if name.endswith((".h5", ".hdf5")):
        return "product"
    if name.endswith(".npz"):
        return "npz"
    if head.startswith(_NPY_MAGIC):
        raise PtychoError(
            f"{path}: a single .npy array, not an NPZ dataset; save the arrays together with "
            "numpy.savez(path, diffraction=..., xcoords=..., ycoords=..., probeGuess=...) and inspect that"
        )
    if head.startswith(_ZIP_MAGIC):
        return "npz"
    if head.startswith(_HDF5_MAGIC):
        return "product"
    raise PtychoError(f"{path}: not a kind of file ptycho inspect reads; give {KINDS}")


def _npz_names(path: Path) -> list[str]:
    """The entry names of an NPZ, from its zip directory only ([] when unreadable: read_npz says why)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []


def _reconstruction(path: Path) -> list[str]:
    from ptycho.npz_reader import read_npz_arrays

    return [f"reconstruction: {k} {v.shape} {v.dtype}" for k, v in read_npz_arrays(str(path), path).items()]


def _dataset(path: Path) -> list[str]:
    from ptycho.data_contract import read_npz

    if "object.npy" in _npz_names(path):  # a reconstruction written by ptycho infer
        return _reconstruction(path)
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

    archive = read_archive(path)
    weights = archive.neutral_weights()  # refuses non-finite weights, naming them
    if not weights:
        raise PtychoError(f"{archive.source}: the neutral weights are empty; re-save the model with ptycho train")
    m, p = archive.manifest, archive.params
    integrity = (
        "manifest integrity record verified" if archive.has_integrity_record
        else "written before manifest integrity records; backend confirmed by params.json"
    )
    return [
        f"model archive: backend {m['backend']}, format version {m['format_version']}, written by ptychopinn "
        f"{m['package_version']} at {m['created_utc']} (checksums verified, {integrity})",
        f"members: {', '.join(sorted(archive.members))}",
        f"model: N={p.get('N')}, gridsize={p.get('gridsize')}, n_filters_scale={p.get('n_filters_scale')}, "
        f"projection_iterations={p.get('projection_iterations', 0)}, estimate_gain={p.get('estimate_gain', False)}, "
        f"intensity_scale={p['intensity_scale']:.6g}",
    ]


def _checkpoint(path: Path) -> list[str]:
    from ptycho.checkpoint_file import load_lightning_checkpoint

    ckpt = load_lightning_checkpoint(path)
    return [
        f"Lightning checkpoint (valid, loads with weights_only=True): epoch {ckpt.get('epoch')}, "
        f"global step {ckpt.get('global_step')}, Lightning {ckpt.get('pytorch-lightning_version')}",
        f"hyper_parameters: {json.dumps({k: sorted(map(str, v)) for k, v in ckpt['hyper_parameters'].items()})}",
        f"state_dict: {len(ckpt['state_dict'])} tensors",
    ]


def _product(path: Path) -> list[str]:
    from ptycho.product import read_product

    try:
        product = read_product(path)
        return [
            f"product file: object {product['object'].shape}, probe {product['probe'].shape}, "
            f"{len(product['probe_position_x_m'])} positions, {len(product['loss_values'])} loss values"
        ]
    except (OSError, KeyError, ValueError, TypeError) as exc:  # h5py: damaged file, missing or odd dataset
        raise PtychoError(f"{path}: not a readable product file ({type(exc).__name__}: {str(exc)[:200]}); "
                          "run ptycho infer again to rewrite it") from None


READERS = {"archive": _archive, "checkpoint": _checkpoint, "product": _product, "npz": _dataset}


def run(args) -> int:
    path = Path(args.path)
    if not path.exists():
        raise FileNotFoundError(f"nothing to inspect at {path}")
    kind = _kind(path)
    try:
        lines = READERS[kind](path)
    except (PtychoError, FileNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: the readers map what they know; say it is ours
        raise PtychoError(
            f"{path}: could not be read as {kind} ({type(exc).__name__}: {str(exc)[:200]}); the file is probably "
            "damaged, and ptychopinn should have said how: please report this with the file "
            "(run with --debug for the traceback)"
        ) from exc
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
