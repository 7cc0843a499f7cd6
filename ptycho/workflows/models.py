"""Train, save, load and apply a model with any engine: the one data path both engines share.

The results of training and the models loaded from archives carry their ``intensity_scale`` and params
explicitly; the legacy dict is written only by :func:`ptycho.workflows.common.sync_legacy` (the config)
and :func:`ptycho.workflows.common.publish_model` (a model's trained values), for the upstream readers
(CONFIG-001), and read by nothing here. An archive is read and verified once per load.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ptycho import params
from ptycho.architecture import Architecture, check_neutral_weights
from ptycho.archive import Archive, read_archive, require_backend, write_archive
from ptycho.config.config import model_config_from_params
from ptycho.engines import Engine, TrainingRun, get_engine
from ptycho.errors import ConfigError
from ptycho.probe import normalize_probe
from ptycho.workflows.common import (
    create_ptycho_data_container,
    initial_intensity_scale,
    predict_patches,
    publish_model,
    start_workflow,
    stitch_patches,
)

log = logging.getLogger("ptycho.workflows")

_last_trained: dict[str, dict] = {}  # backend -> results of the latest training in this process


def last_trained(backend: str) -> dict:
    """The results of the model ``backend`` trained last in this process (upstream calls rely on it)."""
    if backend not in _last_trained:
        raise RuntimeError(
            f"no {backend} model has been trained in this process; train one (train_cdi_model) first, "
            "or pass the model explicitly"
        )
    return _last_trained[backend]


def archive_params(config, intensity_scale: float, probe_modes: int) -> dict:
    """The legacy-dict snapshot an archive stores: the config's keys and the trained photon scale."""
    snapshot = params.update_legacy_dict({}, config)
    return dict(snapshot, intensity_scale=float(intensity_scale), probe_modes=int(probe_modes))


def starting_weights(location, probe: np.ndarray, scale: float) -> dict[str, np.ndarray]:
    """The neutral weights of the archive at ``location`` to fine-tune from, with this run's probe and
    photon scale (the network is the archive's; the physics is the data's)."""
    weights = dict(read_archive(location).neutral_weights())
    weights["probe/real"] = probe.real.astype(np.float32)
    weights["probe/imag"] = probe.imag.astype(np.float32)
    weights["intensity_scaler/log_scale"] = np.asarray(np.log(scale), np.float32)
    return weights


def train_model(backend: str, train_data, test_data, config, execution=None, seed: int = 0, resume: bool = False,
                callbacks: tuple = (), init=None):
    """Train a model with the ``backend`` engine, from seeded weights or (``init``, an archive location) from
    a trained network; returns the upstream ``results`` dict (``history``, ``model_instance``,
    ``diffraction_to_obj``, containers, ``intensity_scale``, ``params``, ``backend``, plus the engine's own
    entries). ``callbacks``: extra Lightning callbacks (PyTorch engine only)."""
    engine = get_engine(backend)
    engine.check_options(execution, resume)
    start_workflow(config)
    train = create_ptycho_data_container(train_data, config)
    test = None if test_data is None else create_ptycho_data_container(test_data, config)
    probe = normalize_probe(train.probe, config.model.N)
    scale = initial_intensity_scale(config, train)
    log.info(
        "[%s] training on %d groups of %d patterns (N=%d) for %d epochs",
        backend,
        len(train),
        config.model.gridsize**2,
        config.model.N,
        config.nepochs,
    )
    start = None if init is None else starting_weights(init, probe, scale)
    if start is not None:
        try:  # refused before any training, not by the engine mid-way
            check_neutral_weights(start, Architecture.from_model_config(config.model))
        except ValueError as exc:
            raise ConfigError(f"--init {init}: that network does not fit this training ({exc})") from None
        log.info("[%s] starting from the trained network in %s", backend, init)
    run = TrainingRun(config, train, test, probe, scale, seed, execution, resume, tuple(callbacks), start)
    fitted = engine.fit(run)
    model = fitted.model
    results = {
        "history": fitted.history,
        "model_instance": model,
        "diffraction_to_obj": engine.predictor(model),
        "train_container": train,
        "test_container": test,
        "intensity_scale": model.intensity_scale,
        "params": archive_params(config, model.intensity_scale, probe.shape[0]),
        "backend": backend,
        **fitted.extra,
    }
    publish_model(results["params"])
    _last_trained[backend] = results
    return results


def save_model(results: dict, out_dir) -> Path | None:
    """Archive the model of ``results`` as ``out_dir/wts.h5.zip``; a non-zero rank of a distributed run
    writes nothing and gets ``None``."""
    if not results.get("is_global_zero", True):
        return None
    return write_model(get_engine(results["backend"]), results["model_instance"], out_dir, results["params"],
                       results.get("checkpoint"))


def write_model(engine: Engine, model, out_dir, saved: dict, checkpoint: Path | None = None) -> Path:
    """Archive ``model`` with the params ``saved`` (its own photon scale and probe modes win)."""
    snapshot = dict(saved, intensity_scale=model.intensity_scale, probe_modes=int(model.probe_real.shape[0]))
    path = write_archive(out_dir, engine.name, snapshot, model.export_weights(), engine.engine_files(model, checkpoint))
    log.info("saved %s", path)
    return path


def build_model(engine: Engine, saved: dict, weights: dict[str, np.ndarray]):
    """The ``engine``'s model for an archive's params, loaded with its neutral ``weights``."""
    probe = np.asarray(weights["probe/real"]) + 1j * np.asarray(weights["probe/imag"])
    model = engine.create_model(model_config_from_params(saved), probe, float(saved["intensity_scale"]))
    model.import_weights(weights)
    return model


def open_archive(location, backend: str, convert_other_backend: bool = False) -> Archive:
    """Read and verify an archive for ``backend``; one written by the other engine is refused unless
    ``convert_other_backend`` (then it is converted through the neutral weights, and the log says so)."""
    archive = read_archive(location)  # refuses a backend other than the known engines (archive.checks)
    if convert_other_backend and archive.backend != backend:
        log.warning(
            "%s was written by the %r backend; converting it for the %r backend through the neutral weights",
            archive.source,
            archive.backend,
            backend,
        )
    else:
        require_backend(archive, backend)
    return archive


def load_model(location, backend: str, convert_other_backend: bool = False):
    """``(model, params)`` from an archive (a folder holding ``wts.h5.zip``, the file, or its extracted
    members), read once; the archive's settings and trained ``intensity_scale`` are published to the legacy
    dict for upstream readers."""
    engine = get_engine(backend)
    archive = open_archive(location, backend, convert_other_backend)
    model = build_model(engine, archive.params, archive.neutral_weights())
    saved = dict(archive.params, intensity_scale=model.intensity_scale)
    publish_model(saved)
    return model, saved


def load_predictor(location, backend: str, convert_other_backend: bool = False):
    """``(inference model, params)``: the model has ``.predict([X · intensity_scale, local_offsets])``."""
    model, saved = load_model(location, backend, convert_other_backend)
    return get_engine(backend).predictor(model), saved


def reconstruct_trained(results: dict, M: int = 20, flip_x: bool = False, flip_y: bool = False,
                        transpose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``do_stitching`` step of ``run_cdi_example*``: predict and stitch the test container of a training
    run, store ``reconstructed_obj``/``stitched_obj`` in ``results``, return ``(amplitude, phase)``."""
    data = results["test_container"]
    patches = predict_patches(results["diffraction_to_obj"], data, results["intensity_scale"])
    stitched = stitch_patches(patches, data, M, flip_x, flip_y, transpose)
    results.update(reconstructed_obj=patches, stitched_obj=stitched)
    return np.abs(stitched), np.angle(stitched)


def run_cdi_example(backend: str, train_data, test_data, config, flip_x=False, flip_y=False, transpose=False,
                    M=20, do_stitching=False, execution=None):
    """Train, then (with ``do_stitching`` and test data) reconstruct: ``(amplitude|None, phase|None, results)``,
    as upstream returns them."""
    results = train_model(backend, train_data, test_data, config, execution)
    amplitude = phase = None
    if do_stitching and test_data is not None:
        amplitude, phase = reconstruct_trained(results, M, flip_x, flip_y, transpose)
    return amplitude, phase, results


def reassemble_cdi_image(backend: str, test_data, config, flip_x=False, flip_y=False, transpose=False, M=20,
                         diffraction_to_obj=None):
    """Predict and stitch ``test_data`` with ``diffraction_to_obj`` (default: the model ``backend`` trained
    last); returns ``(stitched complex object, decoded patches)``."""
    if diffraction_to_obj is None:
        diffraction_to_obj = last_trained(backend)["diffraction_to_obj"]
    data = create_ptycho_data_container(test_data, config)
    patches = predict_patches(diffraction_to_obj, data, diffraction_to_obj.model.intensity_scale)
    return stitch_patches(patches, data, M, flip_x, flip_y, transpose), patches


__all__ = [
    "TrainingRun",
    "archive_params",
    "build_model",
    "last_trained",
    "load_model",
    "load_predictor",
    "open_archive",
    "reassemble_cdi_image",
    "reconstruct_trained",
    "run_cdi_example",
    "save_model",
    "train_model",
    "write_model",
]
