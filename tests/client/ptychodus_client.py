"""Drive the real ptychodus application headless (no Qt) against this project's engines: its reconstructor
libraries, its settings registry, its subprocess reconstructors, its training-data export and its products.

Shared by the TensorFlow-plugin test (``test_ptychodus_tensorflow.py``) and the PyTorch-plugin test; nothing
here depends on an engine. Importing this module imports ptychodus, so a test module calls
``pytest.importorskip("ptychodus")`` first.

Frames. A simulated dataset's positions are ``(x, y)`` object pixels of its ``objectGuess`` (pixel centres at
integer indices, x = column). ptychodus keeps positions in metres and maps them to object pixels by
``x_px = (x_m − centre_x_m) / pixel_width_m + (width_px − 1) / 2`` (``ObjectGeometry``). :func:`build_product`
places the object's centre at 0 m and the positions at ``(x − (W − 1) / 2) · pixel``, so ptychodus maps them
back to exactly the dataset's ``xcoords``/``ycoords``. A reconstructed product is compared with the truth by
that same geometry (:func:`sample_in_frame`): every truth pixel is located in the output object through the
two objects' centres and pixel sizes, as ptychodus itself would overlay them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ptychodus.api.geometry import PixelGeometry
from ptychodus.api.object import Object, ObjectCenter, compute_object_geometry
from ptychodus.api.probe import ProbeSequence
from ptychodus.api.probe_positions import ProbePosition, ProbePositionSequence
from ptychodus.api.product import Product, ProductMetadata
from ptychodus.api.reconstruct import ReconstructInput, TrainableReconstructor, TrainOutput
from ptychodus.api.settings import SettingsRegistry
from scipy import ndimage

from ptycho.metrics import remove_phase_ramp, ssim
from ptycho.simulation import SimulationSpec, simulate_dataset

PIXEL_SIZE_M = 10e-9
DETECTOR_DISTANCE_M = 2.0
PHOTON_ENERGY_EV = 10_000.0

# A grf object scanned by a jittered grid with step 8 (256 positions of 64×64 integer counts). ptychodus's
# default photon count setting is 1e6, so the data carry that many counts per pattern.
SPEC = SimulationSpec(N=64, object_kind="grf", object_size=192, scan_step=8, nphotons=1e6, counts=True, seed=6)


@dataclass(frozen=True)
class Plugin:
    """One of ptychodus's PINN reconstructor libraries: where it lives, its reconstructors, its model files."""

    library: str  # "module:Class"
    modes: tuple[str, ...]
    model_extension: str  # what ptychodus's save dialog appends
    settings_groups: tuple[str, ...]  # its groups in the settings registry (and a settings file's sections)


PLUGINS = {
    "tensorflow": Plugin(
        "ptychodus.model.ptychopinn:PtychoPINNReconstructorLibrary",
        ("PINN", "Supervised"),
        ".zip",
        ("PtychoPINNModel", "PtychoPINNTraining", "PtychoPINNInference"),
    ),
    "pytorch": Plugin(
        "ptychodus.model.ptychopinn_torch:PtychoPINNTorchReconstructorLibrary",
        ("Unsupervised", "Supervised"),
        ".ckpt",
        ("PtychoPINNTorchData", "PtychoPINNTorchModel", "PtychoPINNTorchTraining", "PtychoPINNTorchInference"),
    ),
}


# --- data -------------------------------------------------------------------------------------------------


def simulated_arrays(spec: SimulationSpec = SPEC) -> dict[str, np.ndarray]:
    """The arrays of a simulated dataset (``diffraction`` as integer counts when ``spec.counts``)."""
    _, arrays = simulate_dataset(spec)
    return arrays


# The truth's centre: its pixel (x, y) sits at ((x − (W−1)/2)·p, (y − (H−1)/2)·p) metres.
TRUTH_CENTER = ObjectCenter(x_m=0.0, y_m=0.0)


def positions_m(arrays: Mapping[str, np.ndarray], indices=None, pixel_size_m: float = PIXEL_SIZE_M):
    """ptychodus positions (metres) of the dataset's scan points ``indices`` (default: all)."""
    height, width = np.shape(arrays["objectGuess"])
    x = np.asarray(arrays["xcoords"], dtype=np.float64)
    y = np.asarray(arrays["ycoords"], dtype=np.float64)
    indices = np.arange(len(x)) if indices is None else np.asarray(indices)
    points = [
        ProbePosition(
            index=int(i), x_m=float((x[i] - (width - 1) / 2) * pixel_size_m),
            y_m=float((y[i] - (height - 1) / 2) * pixel_size_m),
        )
        for i in indices
    ]
    return ProbePositionSequence(points)


INITIAL_OBJECTS = ("truth", "flat", "scan")


def build_product(
    arrays: Mapping[str, np.ndarray],
    indices=None,
    initial_object: str = "truth",
    name: str = "simulated",
    pixel_size_m: float = PIXEL_SIZE_M,
) -> Product:
    """A ptychodus ``Product`` of the dataset's scan points ``indices`` (default: all): positions, the probe
    as ``(modes, N, N)``, and an object chosen by ``initial_object``:

    - ``"truth"``: the ground truth in its own frame (what a simulated product carries; what training needs
      for the Supervised reconstructors);
    - ``"flat"``: a unit object of the truth's geometry;
    - ``"scan"``: a unit object of the geometry ptychodus gives a new object for this scan
      (``compute_object_geometry``: the scan's bounding box plus a probe width, centred on the scan): what a
      user reconstructs from.
    """
    if initial_object not in INITIAL_OBJECTS:
        raise ValueError(f"initial_object={initial_object!r}; choose one of {INITIAL_OBJECTS}")
    truth = np.asarray(arrays["objectGuess"])
    probe = np.asarray(arrays["probeGuess"]).astype(np.complex64)
    probe = probe[None] if probe.ndim == 2 else probe
    pixel = PixelGeometry(width_m=pixel_size_m, height_m=pixel_size_m)
    probes = ProbeSequence(probe, None, pixel)
    positions = positions_m(arrays, indices, pixel_size_m)
    if initial_object == "scan":
        geometry = compute_object_geometry(positions, probes.get_geometry())
        obj = Object(np.ones((geometry.height_px, geometry.width_px), np.complex64), pixel, geometry.get_center())
    else:
        array = truth if initial_object == "truth" else np.ones(truth.shape)
        obj = Object(array.astype(np.complex64), pixel, TRUTH_CENTER)
    counts = np.asarray(arrays["diffraction"], dtype=np.float64)
    counts = counts if np.issubdtype(np.asarray(arrays["diffraction"]).dtype, np.integer) else counts**2
    metadata = ProductMetadata(
        name=name,
        comments="simulated by ptycho.simulation",
        detector_distance_m=DETECTOR_DISTANCE_M,
        photon_energy_eV=PHOTON_ENERGY_EV,
        probe_photon_count=float(counts.sum(axis=(1, 2)).mean()),
        exposure_time_s=1.0,
        mass_attenuation_m2_per_kg=0.0,
        tomography_angle_deg=0.0,
    )
    return Product(metadata=metadata, probe_positions=positions, probes=probes, object_=obj, losses=[])


def build_reconstruct_input(arrays: Mapping[str, np.ndarray], indices=None, initial_object: str = "truth"
                            ) -> ReconstructInput:
    """The ``ReconstructInput`` ptychodus hands a reconstructor: patterns as stored (integer counts for a
    counting detector), an all-good bad-pixel mask, and :func:`build_product`'s product."""
    patterns = np.asarray(arrays["diffraction"])
    indices = np.arange(len(patterns)) if indices is None else np.asarray(indices)
    return ReconstructInput(
        diffraction_patterns=patterns[indices],
        bad_pixels=np.zeros(patterns.shape[1:], dtype=bool),
        product=build_product(arrays, indices, initial_object),
    )


def off_centre_indices(arrays: Mapping[str, np.ndarray], fraction: float = 0.6) -> np.ndarray:
    """Scan points in the upper-left ``fraction`` of the scan's extent along each axis: a scan whose centre is
    not the truth's, so an object placed by the truth's centre instead of the scan's shows up shifted."""
    x, y = np.asarray(arrays["xcoords"]), np.asarray(arrays["ycoords"])
    x_cut = x.min() + fraction * (x.max() - x.min())
    y_cut = y.min() + fraction * (y.max() - y.min())
    return np.flatnonzero((x <= x_cut) & (y <= y_cut))


# --- ptychodus ------------------------------------------------------------------------------------------


def library(plugin: str, registry: SettingsRegistry | None = None, developer_mode: bool = False):
    """``(library, registry)``: ptychodus's reconstructor library for ``plugin`` ('tensorflow' or 'pytorch')
    built on a settings registry, as ptychodus's composition root builds it."""
    module, cls = PLUGINS[plugin].library.split(":")
    registry = SettingsRegistry() if registry is None else registry
    return getattr(importlib.import_module(module), cls)(registry, developer_mode), registry


def reconstructor(lib, mode: str) -> TrainableReconstructor:
    """The library's reconstructor named ``mode``; a clear failure if the plugin did not offer it (e.g. the
    engine was not found and ptychodus fell back to nothing)."""
    found = {r.name: r for r in lib}
    if mode not in found:
        raise LookupError(f"{lib.name} offers reconstructors {sorted(found)}, not {mode!r}")
    return found[mode]


def configured(plugin: str, mode: str, settings: Mapping[str, Mapping[str, object]] | None = None
               ) -> TrainableReconstructor:
    """A reconstructor of a fresh library on a fresh settings registry (as a new ptychodus session has it),
    with ``settings`` applied (:func:`apply_settings`)."""
    lib, registry = library(plugin)
    apply_settings(registry, settings or {})
    return reconstructor(lib, mode)


def apply_settings(registry: SettingsRegistry, settings: Mapping[str, Mapping[str, object]]) -> None:
    """Set parameters by their settings-file names, e.g. ``{"PtychoPINNTraining": {"NumEpochs": 3}}``."""
    for group_name, values in settings.items():
        parameters = registry[group_name].parameters()
        for name, value in values.items():
            if name not in parameters:
                raise KeyError(f"ptychodus group {group_name!r} has no parameter {name!r}; it has {sorted(parameters)}")
            parameters[name].set_value(value)


def export_training_data(recon: TrainableReconstructor, input_dir: Path, train: ReconstructInput,
                         test: ReconstructInput) -> tuple[Path, Path]:
    """Export ``train_data.npz`` and ``test_data.npz`` into ``input_dir`` through the reconstructor's own
    export (ptychodus's ``save_ptychopinn_training_data`` for both PINN plugins)."""
    input_dir.mkdir(parents=True, exist_ok=True)
    paths = input_dir / "train_data.npz", input_dir / "test_data.npz"
    recon.export_training_data(paths[0], train)
    recon.export_training_data(paths[1], test)
    return paths


def train(recon: TrainableReconstructor, input_dir: Path, output_dir: Path) -> list[TrainOutput]:
    """Run the reconstructor's training (a spawned child) to the end; returns what it yielded."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return list(recon.train(input_dir, output_dir))


def reconstruct(recon, reconstruct_input: ReconstructInput) -> Product:
    """Run one reconstruction (a spawned child) and return the last product it yielded."""
    outputs = list(recon.reconstruct(reconstruct_input))
    if not outputs:
        raise AssertionError(f"{recon.name}.reconstruct yielded nothing")
    return outputs[-1].product


# --- frame check -----------------------------------------------------------------------------------------


def sample_in_frame(product_object: Object, truth: Object) -> tuple[np.ndarray, np.ndarray]:
    """The output object read at every truth pixel through ptychodus's geometry (centres and pixel sizes),
    bilinear; returns ``(values, inside)`` with ``inside`` marking truth pixels the output covers."""
    out_geom, truth_geom = product_object.get_geometry(), truth.get_geometry()
    coords = truth_geom.get_transverse_coordinates()
    x_m = coords.x_m + truth_geom.center_x_m
    y_m = coords.y_m + truth_geom.center_y_m
    col = (x_m - out_geom.center_x_m) / out_geom.pixel_width_m + (out_geom.width_px - 1) / 2
    row = (y_m - out_geom.center_y_m) / out_geom.pixel_height_m + (out_geom.height_px - 1) / 2
    layer = product_object.get_layer(0)
    read = lambda part: ndimage.map_coordinates(part, [row, col], order=1, mode="constant", cval=0.0)  # noqa: E731
    values = read(layer.real.astype(np.float64)) + 1j * read(layer.imag.astype(np.float64))
    inside = (row >= 0) & (row <= out_geom.height_px - 1) & (col >= 0) & (col <= out_geom.width_px - 1)
    return values, inside


def scanned_box(arrays: Mapping[str, np.ndarray], indices=None) -> tuple[slice, slice]:
    """Truth pixels inside the bounding box of the scan positions ``indices`` (every one of them lies under
    the central windows the stitching keeps when the scan step is below the window)."""
    x = np.asarray(arrays["xcoords"])
    y = np.asarray(arrays["ycoords"])
    if indices is not None:
        x, y = x[indices], y[indices]
    return slice(int(np.ceil(y.min())), int(np.floor(y.max())) + 1), slice(int(np.ceil(x.min())), int(np.floor(x.max())) + 1)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denominator) if denominator > 0 else 0.0


def _phase(region: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Phase of ``region`` freed of what ptychography cannot observe: a global offset (against ``truth``)
    and a linear ramp."""
    return remove_phase_ramp(np.angle(region * np.exp(-1j * np.angle(np.vdot(truth, region)))))


def _variants(image: np.ndarray) -> dict[str, np.ndarray]:
    side = min(image.shape)
    return {
        "as_placed": image,
        "mirrored_x": image[:, ::-1],
        "mirrored_y": image[::-1, :],
        "transposed": image[:side, :side].T,
        "shifted_4px": np.roll(image, (4, 4), axis=(0, 1)),
    }


def frame_scores(product: Product, truth: Object, box: tuple[slice, slice]) -> dict[str, dict[str, float]]:
    """Pearson correlation of phase (global offset and ramp removed) and amplitude with the truth over
    ``box`` (truth pixels), for the output as ptychodus places it and for the same region mirrored
    left-right, upside-down, transposed and moved by 4 pixels: a reconstruction in the scan's frame scores
    high only as placed. ``phase_ssim`` is ``ptycho.metrics.ssim`` of the phases (range: the truth's)."""
    values, inside = sample_in_frame(product.object_, truth)
    if not inside[box].all():
        raise AssertionError(
            f"the output object ({product.object_.get_geometry()}) does not cover the scanned region "
            f"rows {box[0]} cols {box[1]} of the truth"
        )
    reference = truth.get_layer(0)[box].astype(np.complex128)
    side = min(reference.shape)
    scores = {}
    for name, image in _variants(values[box]).items():
        ref = reference[:side, :side] if name == "transposed" else reference  # the truth is never moved
        phase, ref_phase = _phase(image, ref), remove_phase_ramp(np.angle(ref))
        scores[name] = {
            "phase": _correlation(phase, ref_phase),
            "amplitude": _correlation(np.abs(image), np.abs(ref)),
            "phase_ssim": ssim(phase, ref_phase, float(np.ptp(ref_phase)) or 1.0),
        }
    return scores


def truth_object(arrays: Mapping[str, np.ndarray], pixel_size_m: float = PIXEL_SIZE_M) -> Object:
    """The ground truth as a ptychodus ``Object`` in the frame :func:`build_product` uses."""
    truth = np.asarray(arrays["objectGuess"]).astype(np.complex64)
    pixel = PixelGeometry(width_m=pixel_size_m, height_m=pixel_size_m)
    return Object(truth, pixel, TRUTH_CENTER)


MIRROR_MARGIN = 0.3  # as placed beats mirrored / transposed by at least this (phase correlation)
SHIFT_MARGIN = 0.1  # and a 4-pixel move


def check_product(product: Product, reconstruct_input: ReconstructInput) -> None:
    """The output product keeps the input's scan, probe and object geometry (pixel size, centre)."""
    obj, obj_in = product.object_, reconstruct_input.product.object_
    array = obj.get_array()
    assert array.ndim == 3 and array.shape[0] == 1 and np.iscomplexobj(array) and np.isfinite(array).all()
    assert obj.get_pixel_geometry() == obj_in.get_pixel_geometry() and obj.get_center() == obj_in.get_center()
    positions, positions_in = product.probe_positions, reconstruct_input.product.probe_positions
    np.testing.assert_array_equal(positions.get_coordinates_x_m(), positions_in.get_coordinates_x_m())
    np.testing.assert_array_equal(positions.get_coordinates_y_m(), positions_in.get_coordinates_y_m())


def check_frame(simulated, product: Product, indices, phase_min: float, amplitude_min: float) -> dict:
    """The object as ptychodus places it correlates with the truth above the given minima, and clearly better
    than mirrored, transposed or moved copies (:func:`frame_scores`)."""
    scores = frame_scores(product, truth_object(simulated), scanned_box(simulated, indices))
    table = "; ".join(f"{name}: phase {s['phase']:.3f} amplitude {s['amplitude']:.3f}" for name, s in scores.items())
    print(f"frame scores: {table}")
    placed = scores["as_placed"]
    assert placed["phase"] > phase_min, f"phase correlation too low as placed ({table})"
    assert placed["amplitude"] > amplitude_min, f"amplitude correlation too low as placed ({table})"
    for name in ("mirrored_x", "mirrored_y", "transposed"):
        assert placed["phase"] - scores[name]["phase"] > MIRROR_MARGIN, f"{name} scores like the output ({table})"
    assert placed["phase"] - scores["shifted_4px"]["phase"] > SHIFT_MARGIN, f"a 4-px move scores alike ({table})"
    return scores


# |SSIM difference| allowed between the plugin's product and `ptycho infer` (same archive, same points).
# Measured: 0.001 (TF 0.341/0.112 vs 0.340/0.113; torch 0.373/0.369 vs 0.371/0.369): the two differ only by
# the canvas (scan-centred vs the truth's frame) and ptychodus's bilinear read-back at whole-pixel offsets.
SCORE_TOLERANCE = 0.05


# The integration gate's network margins (tests/integration/test_workflow.py NETWORK_SSIM: mean - 3 sigma over
# 5 seeds per engine, 30 epochs). Measured here at 30 epochs: TF plugin 0.831 / 0.853, torch 0.833 / 0.860.
GATE_SSIM = {"amplitude": 0.55, "phase": 0.55}


def check_scores_like_ptycho_infer(simulated, product: Product, indices, model_location, backend: str,
                                   minimum: dict | None = None) -> dict:
    """The plugin's object, read in the truth's frame through ptychodus's geometry, scores (amplitude and
    phase SSIM over the scanned region, :func:`ptycho.outputs.score`) like ``ptycho infer`` with the same
    archive on the same scan points, and above ``minimum`` (e.g. :data:`GATE_SSIM`)."""
    from ptycho.outputs import score
    from ptycho.raw_data import RawData
    from ptycho.workflows.inference import infer_with_backend

    indices = np.asarray(indices)
    truth = np.asarray(simulated["objectGuess"])
    x, y = (np.asarray(simulated[k], dtype=np.float64)[indices] for k in ("xcoords", "ycoords"))
    values, _ = sample_in_frame(product.object_, truth_object(simulated))
    plugin = score(values, truth, np.column_stack([x, y]))
    raw = RawData.from_coords_without_pc(x, y, np.asarray(simulated["diffraction"])[indices],
                                         np.asarray(simulated["probeGuess"]), np.zeros(len(indices), dtype=int),
                                         objectGuess=truth)
    ours = infer_with_backend(model_location, raw, backend).metrics
    table = {part: (plugin[part]["ssim"], ours[part]["ssim"]) for part in ("amplitude", "phase")}
    print("SSIM plugin vs ptycho infer: " + "; ".join(f"{k} {a:.3f} vs {b:.3f}" for k, (a, b) in table.items()))
    for part, (a, b) in table.items():
        assert abs(a - b) <= SCORE_TOLERANCE, f"{part} SSIM {a:.3f} through ptychodus, {b:.3f} with ptycho infer"
        assert a > (minimum or {}).get(part, -1.0), f"{part} SSIM {a:.3f} through ptychodus is below {minimum}"
    return table
