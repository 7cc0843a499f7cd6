"""Float64 NumPy reference of the physics both engines implement (docs/design.md §2)."""

from ptycho.physics.forward import (
    NLL_FLOOR,
    diffraction_amplitude,
    intensity_scale,
    mean_photons,
    normalisation_factor,
    poisson_nll,
)
from ptycho.physics.group import enforce_overlap, merge_group, split_group
from ptycho.physics.operators import Illumination, PatchExtraction, Propagation, Translation, as_probe_modes
from ptycho.physics.stitching import canvas_for, centred_canvas, stitch

__all__ = [
    "NLL_FLOOR",
    "Illumination",
    "PatchExtraction",
    "Propagation",
    "Translation",
    "as_probe_modes",
    "canvas_for",
    "centred_canvas",
    "diffraction_amplitude",
    "enforce_overlap",
    "intensity_scale",
    "mean_photons",
    "merge_group",
    "normalisation_factor",
    "poisson_nll",
    "split_group",
    "stitch",
]
