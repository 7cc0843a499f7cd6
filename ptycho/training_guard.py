"""Training must stop at the first non-finite loss, and no archive may hold non-finite weights.

Shared by both engines, so a diverged run ends the same way whichever trained it: a one-paragraph
:class:`~ptycho.errors.TrainingDivergedError` naming where it happened and the likely cause.
"""

from __future__ import annotations

import math

import numpy as np

from ptycho.errors import TrainingDivergedError


def check_loss(loss: float, *, epoch: int, step: int, backend: str, intensity_scale=None) -> None:
    """Raise :class:`TrainingDivergedError` if ``loss`` is NaN or infinite (``epoch``/``step`` count from 1).

    ``intensity_scale``: a zero-argument callable giving the model's scale, read only for the message.
    """
    if math.isfinite(loss):
        return
    scale = "" if intensity_scale is None else f" (intensity scale {intensity_scale():.3g})"
    raise TrainingDivergedError(
        f"[{backend}] the training loss became {loss} at epoch {epoch}, step {step}; stopped, and no archive "
        f"was written. Likely cause: the data's scale{scale} puts the normalised patterns or the intensity "
        "scale outside float32's range (e.g. patterns of almost no counts, or amplitudes stored as huge "
        "numbers). Store photon counts (or their square roots), or set --nphotons to the true mean counts "
        "per pattern; a learning rate far too high diverges the same way."
    )


def non_finite_weights(weights: dict[str, np.ndarray]) -> list[str]:
    """Names of the weights holding NaN or infinite values."""
    return sorted(name for name, value in weights.items() if not np.all(np.isfinite(value)))


def check_weights(weights: dict[str, np.ndarray], what: str = "archive") -> None:
    """Refuse to write ``weights`` (neutral names) holding NaN or infinite values."""
    bad = non_finite_weights(weights)
    if bad:
        raise TrainingDivergedError(
            f"refusing to write a model {what} with non-finite weights ({', '.join(bad[:5])}"
            f"{', …' if len(bad) > 5 else ''}): the training that produced them diverged; retrain after "
            "fixing the data's scale or the learning rate"
        )
