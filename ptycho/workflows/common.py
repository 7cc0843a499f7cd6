"""Backend-neutral workflow steps both engines share: data containers, photon scale, stitching, outputs."""

from __future__ import annotations

import logging

import numpy as np

from ptycho import loader, params
from ptycho.config.config import TrainingConfig, validate_for_workflow
from ptycho.loader import PtychoDataContainer
from ptycho.physics import canvas_for, intensity_scale
from ptycho.physics.stitching import stitch_aligned
from ptycho.raw_data import RawData

log = logging.getLogger("ptycho.workflows")

DEFAULT_NPHOTONS = TrainingConfig.__dataclass_fields__["nphotons"].default


def sync_legacy(config) -> None:
    """CONFIG-001: copy ``config`` into the legacy dict, for the upstream code that reads it there. The one
    place a config is written to ``params.cfg``; :func:`publish_model` adds a model's trained values."""
    params.update_legacy_dict(params.cfg, config)


def start_workflow(config) -> None:
    """Check the whole config, then sync the legacy dict, before any data or engine work."""
    validate_for_workflow(config)
    sync_legacy(config)


def publish_model(saved: dict) -> None:
    """Publish a trained or loaded model's params (its ``intensity_scale`` included) to the legacy dict, for
    the upstream code that reads them there; nothing in this project reads them back."""
    params.cfg.update({k: v for k, v in saved.items() if k != "probe_modes"})


def create_ptycho_data_container(data, config) -> PtychoDataContainer:
    """A ``PtychoDataContainer`` from ``RawData`` (grouped per ``config``), a list of ``RawData`` (several
    scans, see :func:`ptycho.loader.concatenate`) or a container (returned as is)."""
    from ptycho.shard_stream import ShardStream

    if isinstance(data, (PtychoDataContainer, ShardStream)):
        return data
    if isinstance(data, (list, tuple)):  # several scans: each grouped on its own, never across scans
        return loader.concatenate([create_ptycho_data_container(scan, config) for scan in data])
    if not isinstance(data, RawData):
        raise TypeError(f"expected RawData or PtychoDataContainer, got {type(data).__name__}")
    return loader.group_scan(data, config)


def effective_nphotons(config, data: PtychoDataContainer) -> float:
    """``config.nphotons`` when set; with the default, the data's measured mean counts per pattern."""
    configured = getattr(config, "nphotons", DEFAULT_NPHOTONS)
    if configured != DEFAULT_NPHOTONS:
        return float(configured)
    log.info("nphotons: using the measured mean of %.4g counts per pattern", data.nphotons)
    return float(data.nphotons)


def initial_intensity_scale(config, data: PtychoDataContainer) -> float:
    """The photon scale training starts from (docs/design.md §2): from the configured or measured photon count."""
    return intensity_scale(effective_nphotons(config, data), config.model.N)


def patch_positions(data: PtychoDataContainer, channels: int) -> np.ndarray:
    """``(B·C', 2)`` positions of decoded patches: per channel, or the group centre for one shared patch."""
    if channels == 1 and data.local_offsets.shape[-1] > 1:
        return data.global_offsets[:, 0, :, 0].astype(np.float64)
    return data.positions.astype(np.float64)


def stitch_frame(data: PtychoDataContainer, positions: np.ndarray, M: int, flipped: bool = False):
    """Canvas shape and origin (scan coordinate of pixel ``[0, 0]``) that :func:`stitch_patches` uses: the
    ground truth's frame when the data carry one (and nothing is flipped), else the smallest canvas holding
    every ``M × M`` window at ``positions``."""
    if data.objectGuess is not None and not flipped:
        return data.objectGuess.shape, np.zeros(2)
    return canvas_for(positions, M)


def stitch_patches(
    patches: np.ndarray,
    data: PtychoDataContainer,
    M: int = 20,
    flip_x: bool = False,
    flip_y: bool = False,
    transpose: bool = False,
) -> np.ndarray:
    """Stitch ``(B, N, N, C')`` decoded patches into one complex object, their free constant phase offsets
    first made to agree (:func:`ptycho.physics.stitching.stitch_aligned`).

    Without flips, and when the data carry a ground truth, the canvas is the ground truth's frame (so
    metrics compare pixel for pixel); otherwise it is the smallest canvas holding every window.
    """
    B, N, _, C = patches.shape
    flat = np.moveaxis(patches, -1, 1).reshape(B * C, N, N)
    positions = patch_positions(data, C)
    if flip_x:
        positions[:, 0] = -positions[:, 0]
    if flip_y:
        positions[:, 1] = -positions[:, 1]
    if transpose:
        positions = positions[:, ::-1].copy()
    shape, origin = stitch_frame(data, positions, M, flip_x or flip_y or transpose)
    return stitch_aligned(flat, positions, M, shape, origin)


def predict_patches(diffraction_to_obj, data: PtychoDataContainer, intensity_scale: float,
                    batch_size: int = 64) -> np.ndarray:
    """Decoded complex patches ``(B, N, N, C')`` of a container (either engine's inference model)."""
    return diffraction_to_obj.predict([data.X * intensity_scale, data.local_offsets], batch_size=batch_size)
