"""Parity tolerances from a rounding-error model, not from whichever number passed on one machine.

Model: a result built from sums of ``n`` terms in floating point (a convolution's dot products, an FFT, a
gradient's reduction over pixels) carries a relative rounding error of about ``ε·√n``: each addition
rounds by at most ``ε/2`` and, in the different summation orders two engines, two thread counts or two
convolution algorithms use, those roundings are independent, so they add like a random walk (Higham and
Mary's probabilistic bound). Chained layers add their terms. A check compares the largest deviation over
``M`` elements (10⁴-10⁵ here) against the largest value, so the tolerance is ``SIGMAS·ε·√n`` with
``SIGMAS = 4 ≈ √(2 ln M)``, the expected maximum of ``M`` such errors in standard deviations.

Measured against it, across ``TF_ENABLE_ONEDNN_OPTS=0/1`` × 1/2 threads, NCHW and channels-last torch
(AMD EPYC, all 221 checks): same-weights outputs reach at most 0.46 ε·√n, gradients at most 1.7 ε·√n (a
nearly cancelling bias gradient: the loss ignores a global phase), the physics pieces 0.24 ε·N. The
``log_scale`` gradient, a cancelling sum of its own, has its own model in
:func:`ptycho.parity.model_checks.scale_gradient_tolerance`.
"""

from __future__ import annotations

import math

import numpy as np

from ptycho.architecture import Architecture

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
SIGMAS = 4.0


def tolerance(terms: int, eps: float = EPS32) -> float:
    """``SIGMAS·ε·√terms``: the largest relative rounding difference expected of a sum of ``terms``."""
    return SIGMAS * eps * math.sqrt(terms)


def projection_terms(N: int, iterations: int) -> int:
    """``K`` per-pattern projections chain ``K`` FFT pairs of ``N²`` terms each."""
    return 2 * iterations * N * N


def network_terms(model_config) -> int:
    """Terms summed along the network's convolutions: ``3·3·in`` per convolution of the encoder and of one
    decoder (the ring, where present, runs beside the centre, not after it)."""
    shapes = Architecture.from_model_config(model_config).weight_shapes()
    return sum(
        h * w * cin
        for name, (h, w, cin, _) in ((n, s) for n, s in shapes.items() if n.endswith("/kernel"))
        if name.startswith("encoder/") or (name.startswith("decoder_amp/") and "/ring/" not in name)
    )


def forward_terms(model_config) -> int:
    """Terms summed from input to object: the input projections, if any, then the network."""
    return projection_terms(model_config.N, model_config.projection_iterations) + network_terms(model_config)


def loss_terms(model_config, batch: int) -> int:
    """The forward pass, then the loss's sum over every predicted pixel of the batch (``B·C·N²``)."""
    return forward_terms(model_config) + batch * model_config.gridsize**2 * model_config.N**2


def gradient_terms(model_config, batch: int) -> int:
    """The loss, then back through the network (its convolutions once more; not the input projections,
    which no gradient passes), then a weight gradient's own sum over the batch's positions of its layer
    (``B·N²`` at most, a full-resolution layer)."""
    return loss_terms(model_config, batch) + network_terms(model_config) + batch * model_config.N**2


def physics_tolerance(N: int, dtype: str) -> float:
    """The physics pieces against the float64 reference: an ``N×N`` FFT or overlap sum adds at most ``N²``
    terms into each value (``ε·N``), in the engine's precision."""
    return tolerance(N * N, eps(dtype))


def eps(dtype: str) -> float:
    return EPS64 if dtype == "float64" else EPS32
