"""Pretrained networks shipped with ptychopinn, by name.

Each lives in ``ptycho/pretrained_models/NAME/``: the model archive ``wts.h5.zip`` (neutral weights, so
both engines load it) and ``provenance.json`` (N, gridsize, probe, photon range, families it was trained
on and those held out, the exact command, the corpus manifest's sha256, engine, epochs, wall time,
machine). ``ptycho models`` lists them; ``--model NAME`` and ``--init NAME`` find them here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ptycho.config.config import ModelConfig
from ptycho.errors import ConfigError

MODELS_DIR = Path(__file__).with_name("pretrained_models")
PROVENANCE = "provenance.json"


def shipped() -> list[dict]:
    """Every shipped model's provenance, with its ``name`` and ``path`` (the folder), by name."""
    models = []
    for folder in sorted(MODELS_DIR.glob(f"*/{PROVENANCE}"), key=lambda path: path.parent.name):
        entry = json.loads(folder.read_text())
        models.append(dict(entry, name=folder.parent.name, path=str(folder.parent)))
    return models


def names() -> list[str]:
    return [m["name"] for m in shipped()]


def find(name: str) -> dict | None:
    return next((m for m in shipped() if m["name"] == name), None)


def resolve(value, flag: str) -> Path:
    """A model folder or archive: ``value`` itself when it exists, else the shipped model of that name."""
    path = Path(value)
    if path.exists():
        return path
    model = find(str(value))
    if model is not None:
        return Path(model["path"])
    known = ", ".join(names()) or "none"
    raise ConfigError(f"{flag} {value}: no such model folder or archive, and no shipped model of that name "
                      f"(shipped: {known}; list them with `ptycho models`)")


DEFAULTS = ModelConfig()  # what a model's provenance means by a field it predates
PROBE_MATCH = 0.98  # |normalised overlap| of the data's probe with the model's: the same optics, up to noise


def probe_overlap(a, b) -> float:
    """``|<a, b>| / (|a| |b|)`` of two probes' first modes: 1 for the same probe (any scale or phase factor)."""
    import numpy as np

    a = np.asarray(a).reshape((-1,) + np.shape(a)[-2:])[0].ravel()
    b = np.asarray(b).reshape((-1,) + np.shape(b)[-2:])[0].ravel()
    if a.shape != b.shape:
        return 0.0
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(abs(np.vdot(a, b)) / norm) if norm > 0 else 0.0


def model_probe(model: dict):
    from ptycho.archive import read_archive

    weights = read_archive(model["path"]).neutral_weights()
    return weights["probe/real"] + 1j * weights["probe/imag"]


def fitting_model(N: int, gridsize: int, probe, requested: dict | None = None) -> tuple[dict | None, str]:
    """The shipped model for data of pattern size ``N`` and ``probe`` trained at ``gridsize``, and why
    (or why none fits): same N and gridsize, the architecture the user ``requested`` (e.g.
    ``{"n_filters_scale": 2}``), probe overlap at least :data:`PROBE_MATCH`."""
    reasons = []
    for model in shipped():
        if (model["N"], model["gridsize"]) != (N, gridsize):
            reasons.append(f"{model['name']}: N={model['N']}, gridsize={model['gridsize']}")
            continue
        saved = {k: model.get(k, getattr(DEFAULTS, k)) for k in requested or {}}
        differs = {k: saved[k] for k, v in (requested or {}).items() if saved[k] != v}
        if differs:
            reasons.append(f"{model['name']}: " + ", ".join(f"{k}={v}" for k, v in differs.items()))
            continue
        overlap = probe_overlap(model_probe(model), probe)
        if overlap >= PROBE_MATCH:
            return model, f"{model['name']} (N={N}, gridsize={gridsize}, probe overlap {overlap:.3f})"
        reasons.append(f"{model['name']}: probe overlap {overlap:.3f} < {PROBE_MATCH}")
    return None, "; ".join(reasons) or "no models are shipped"
