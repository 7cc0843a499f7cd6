"""Each engine's physics pieces against the float64 NumPy reference on seeded random inputs.

For N ∈ {64, 128}, gridsize ∈ {1, 2} and probe modes 1 and 2: illumination, diffraction amplitude,
Poisson NLL, intensity scale, sub-pixel translation, patch extraction (reading a group's patches from its
canvas), reassembly (merging a group onto its canvas, normalised where patches reach the border) and the
offset sign (an asymmetric object is read at the right place, not mirrored).
"""

from __future__ import annotations

import numpy as np

from ptycho import physics as ref
from ptycho.config.config import ModelConfig
from ptycho.parity.engines import ENGINES, engine
from ptycho.parity.error_model import eps, physics_tolerance, projection_terms, tolerance
from ptycho.parity.result import Check, relative_error, seeded
from ptycho.physics import group as ref_group
from ptycho.physics.projection import probe_projections
from ptycho.probe import normalize_probe
from ptycho.simulation import make_probe

SIZES = (64, 128)
GRIDSIZES = (1, 2)
MODES = (1, 2)
BATCH = 3
PROJECTIONS = 10  # what the shipped model uses (and the model checks, at N=64)
# At N=128, 2 projections: 10 would widen the rounding model's tolerance (4·ε·√(2·K·N²), 2.7e-4) past
# what still catches a wrong engine (see test_no_derived_tolerance_lets_a_real_engine_bug_through)
PROJECTIONS_AT = {64: PROJECTIONS, 128: 2}


def probe_modes(N: int, modes: int) -> np.ndarray:
    """A disk probe with ``modes`` mutually phase-shifted modes, normalised like the workflows do."""
    base = make_probe("disk", N)
    stack = np.stack([base * (1 + 0.3j * m) * (0.8**m) for m in range(modes)])
    return normalize_probe(stack, N).astype(np.complex128)


def random_patches(rng, shape) -> np.ndarray:
    return rng.uniform(0.2, 1.0, shape) * np.exp(1j * rng.uniform(-np.pi, np.pi, shape))


def group_offsets(rng, gridsize: int, N: int, reach: float = 0.25) -> np.ndarray:
    """``(B, 2, C)`` sub-pixel relative offsets up to ``reach·N`` (0 for gridsize 1)."""
    C = gridsize**2
    offsets = rng.uniform(-reach * N, reach * N, (BATCH, 2, C))
    return offsets if C > 1 else np.zeros_like(offsets)


# -- measurements -----------------------------------------------------------------------------------
def illumination(eng, N, modes, dtype):
    rng = seeded("illumination", N, modes)
    probe, patches = probe_modes(N, modes), random_patches(rng, (BATCH, N, N))
    return relative_error(eng.illuminate(probe, patches, dtype), ref.Illumination(probe).fwd(patches))


def amplitude(eng, N, modes, dtype):
    rng = seeded("amplitude", N, modes)
    probe, patches = probe_modes(N, modes), random_patches(rng, (BATCH, N, N))
    return relative_error(eng.diffraction_amplitude(probe, patches, dtype), ref.diffraction_amplitude(probe, patches))


def smooth_object_patches(rng, shape, correlation: float = 4.0) -> np.ndarray:
    """Objects like measured ones: amplitude 0.5-1 and phase within ±1 rad varying over ``correlation`` px."""
    N = shape[-1]
    k = np.fft.fftfreq(N)
    transfer = np.exp(-0.5 * (np.add.outer(k**2, k**2)) * (2 * np.pi * correlation) ** 2)
    fields = [np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(shape)) * transfer)) for _ in range(2)]
    unit = [(f - f.min()) / (f.max() - f.min()) for f in fields]
    return (0.5 + 0.5 * unit[0]) * np.exp(1j * (2 * unit[1] - 1))


def projections(eng, N, modes, dtype):
    """On measured-like data: where white noise puts far-field zeros, ``F·A/|F|`` turns each rounding of
    ``F`` into a phase error ``ε·A/|F|`` and no rounding bound holds (float64 itself differs by 10×)."""
    rng = seeded("projections", N, modes)
    probe = probe_modes(N, modes)
    measured = ref.diffraction_amplitude(probe, smooth_object_patches(rng, (BATCH, N, N)))
    k = PROJECTIONS_AT[N]
    expected = probe_projections(measured[:, None], probe, k, 0.5)[:, 0]
    return relative_error(eng.probe_projections(measured, probe, k, 0.5, dtype), expected)


def nll(eng, N, dtype):
    rng = seeded("nll", N)
    lam = rng.uniform(0, 60, (BATCH, N, N))
    lam[0, 0, 0] = 0.0  # the λ floor
    counts = rng.poisson(25, (BATCH, N, N)).astype(np.float64)
    expected = ref.poisson_nll(lam, counts)
    return abs(eng.poisson_nll(lam, counts, dtype) - expected) / abs(expected)


def scale(eng, N, modes):
    nphotons = 1e9
    expected = ref.intensity_scale(nphotons, N)
    model = eng.build(ModelConfig(N=N, gridsize=1, n_filters_scale=1), probe_modes(N, modes), expected)
    return abs(eng.intensity_scale(model) - expected) / expected


def translation(eng, N, dtype):
    rng = seeded("translate", N)
    images = random_patches(rng, (BATCH, N, N))
    offsets = rng.uniform(-N / 8, N / 8, (BATCH, 2))
    return relative_error(eng.translate(images, offsets, dtype), ref.Translation(offsets).fwd(images))


def extraction(eng, N, gridsize, dtype):
    rng = seeded("extract", N, gridsize)
    canvas = random_patches(rng, (BATCH, 2 * N, 2 * N))
    offsets = group_offsets(rng, gridsize, N)
    return relative_error(eng.split_group(canvas, offsets, N, dtype), ref_group.split_group(canvas, offsets, N))


def reassembly(eng, N, gridsize, dtype):
    rng = seeded("merge", N, gridsize)
    C = gridsize**2
    patches = random_patches(rng, (BATCH, N, N, C))
    offsets = group_offsets(rng, gridsize, N, reach=0.5)  # patches reach the canvas border
    expected = ref_group.merge_group(patches, offsets)
    return relative_error(eng.merge_group(patches, offsets, dtype), expected)


def offset_sign(eng, N, dtype):
    """Read a gridsize-2 group from an asymmetric canvas at integer offsets; compare with plain crops."""
    rows, cols = np.mgrid[0 : 2 * N, 0 : 2 * N]
    canvas = (1.0 + rows / N + 3.0 * cols / N + 0j)[None]  # a different ramp along x and y
    canvas[0, N // 3 : N // 3 + 5, N + 7 : N + 12] += 10.0  # and a marker in one quadrant only
    d = N // 8
    offsets = np.array([[[-d, d, -d, d], [-d, -d, d, d]]], np.float64)  # (dx, dy) per channel c
    expected = []
    for c in range(4):
        dx, dy = int(offsets[0, 0, c]), int(offsets[0, 1, c])
        top, left = N + dy - N // 2, N + dx - N // 2
        expected.append(canvas[0, top : top + N, left : left + N])
    expected = np.stack(expected, -1)[None]
    actual = eng.split_group(canvas, offsets, N, dtype)
    mirrored = relative_error(eng.split_group(canvas, -offsets, N, dtype), expected)
    return relative_error(actual, expected), f"(reading at mirrored offsets would be off by {mirrored:.2f})"


# -- the declared checks --------------------------------------------------------------------------
def _declare(out: list, name: str, measure, N: int, dtype: str) -> None:
    out.append(Check(name, "physics", physics_tolerance(N, dtype), measure))


def checks() -> list[Check]:
    out: list[Check] = []
    for name in ENGINES:
        dtypes = ("float32", "float64") if name == "pytorch" else ("float32",)

        def eng(name=name):
            return engine(name)

        for dtype in dtypes:
            for N in SIZES:
                tag = f"{name}/{dtype}/N={N}"
                _declare(out, f"{tag}/poisson_nll", lambda e=eng, N=N, d=dtype: nll(e(), N, d), N, dtype)
                _declare(out, f"{tag}/translation", lambda e=eng, N=N, d=dtype: translation(e(), N, d), N, dtype)
                _declare(out, f"{tag}/offset_sign", lambda e=eng, N=N, d=dtype: offset_sign(e(), N, d), N, dtype)
                for modes in MODES:
                    _declare(out, f"{tag}/modes={modes}/illumination",
                             lambda e=eng, N=N, m=modes, d=dtype: illumination(e(), N, m, d), N, dtype)
                    _declare(out, f"{tag}/modes={modes}/diffraction_amplitude",
                             lambda e=eng, N=N, m=modes, d=dtype: amplitude(e(), N, m, d), N, dtype)
                    out.append(Check(f"{tag}/modes={modes}/probe_projections", "physics",
                                     tolerance(projection_terms(N, PROJECTIONS_AT[N]), eps(dtype)),
                                     lambda e=eng, N=N, m=modes, d=dtype: projections(e(), N, m, d)))
                    if dtype == "float32":
                        _declare(out, f"{tag}/modes={modes}/intensity_scale",
                                 lambda e=eng, N=N, m=modes: scale(e(), N, m), N, dtype)
                for gridsize in GRIDSIZES:
                    _declare(out, f"{tag}/gridsize={gridsize}/patch_extraction",
                             lambda e=eng, N=N, g=gridsize, d=dtype: extraction(e(), N, g, d), N, dtype)
                    _declare(out, f"{tag}/gridsize={gridsize}/reassembly",
                             lambda e=eng, N=N, g=gridsize, d=dtype: reassembly(e(), N, g, d), N, dtype)
    return out
