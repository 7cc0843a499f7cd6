"""Backend-neutral inference: load a bundle with the chosen engine, reconstruct an NPZ, score it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ptycho import outputs
from ptycho.config.config import InferenceConfig, model_config_from_params
from ptycho.raw_data import RawData
from ptycho.workflows.common import create_ptycho_data_container, patch_positions, stitch_frame, stitch_patches

log = logging.getLogger("ptycho.inference")


@dataclass
class Reconstruction:
    obj: np.ndarray  # stitched complex object
    patches: np.ndarray  # decoded patches (B, N, N, C')
    data: object  # the PtychoDataContainer used
    saved_params: dict
    seconds: float
    metrics: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def patterns_per_second(self) -> float:
        return self.patches.shape[0] * self.data.X.shape[-1] / max(self.seconds, 1e-9)


def reconstruct(
    model, saved: dict, raw: RawData, n_groups: int | None = None, M: int = 20, batch_size: int = 64
) -> Reconstruction:
    """Predict every group of ``raw`` with ``model`` (``.predict([X·scale, offsets])``) and stitch."""
    model_config = model_config_from_params(saved)
    config = InferenceConfig(model=model_config, n_groups=n_groups, subsample_seed=0)
    start = time.perf_counter()
    data = create_ptycho_data_container(raw, config)
    patches = model.predict([data.X * float(saved["intensity_scale"]), data.local_offsets], batch_size=batch_size)
    obj = stitch_patches(patches, data, M)
    seconds = time.perf_counter() - start
    result = Reconstruction(obj, patches, data, saved, seconds)
    if raw.objectGuess is not None:
        result.metrics = score(obj, raw.objectGuess, data, M)
    return result


def score(obj: np.ndarray, truth: np.ndarray, data, M: int = 20) -> dict:
    """``ptycho.metrics.compare`` over the scanned region of ``data`` (a container), away from its edge."""
    return outputs.score(obj, truth, data.positions, M)


def stitch_origin(result: Reconstruction, M: int) -> np.ndarray:
    """Scan coordinate of pixel ``[0, 0]`` of ``result.obj`` (the frame :func:`stitch_patches` chose)."""
    positions = patch_positions(result.data, result.patches.shape[-1])
    return np.asarray(stitch_frame(result.data, positions, M)[1], dtype=np.float64)


def infer_with_backend(
    bundle_dir, raw: RawData, backend: str, n_groups: int | None = None, M: int = 20, accelerator: str | None = None
):
    """Load the bundle with ``backend`` (an archive of the other engine is converted through the neutral
    weights), place it on ``accelerator`` (PyTorch: ``auto``/``cpu``/``gpu``) and reconstruct ``raw``."""
    from ptycho.engines import get_engine
    from ptycho.workflows.models import load_model

    engine = get_engine(backend)
    model, saved = load_model(bundle_dir, backend, convert_other_backend=True)
    engine.place(model, accelerator)
    return reconstruct(engine.predictor(model), saved, raw, n_groups, M)
