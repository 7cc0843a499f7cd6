"""Pretrained networks shipped with ptychopinn, by name.

Each lives in ``ptycho/pretrained_models/NAME/``: the model archive ``wts.h5.zip`` (neutral weights, so
both engines load it) and ``provenance.json`` (N, gridsize, probe, photon range, families it was trained
on and those held out, the exact command, the corpus manifest's sha256, engine, epochs, wall time,
machine). ``ptycho models`` lists them; ``--model NAME`` and ``--init NAME`` find them here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ptycho.errors import ConfigError

MODELS_DIR = Path(__file__).with_name("pretrained_models")
PROVENANCE = "provenance.json"
ARCHIVE = "wts.h5.zip"


def shipped() -> list[dict]:
    """Every shipped model's provenance, with its ``name`` and ``path`` (the folder), by name."""
    models = []
    for folder in sorted(MODELS_DIR.glob(f"*/{PROVENANCE}")):
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
