"""The legacy global parameter dict (CONFIG-001).

Older PtychoPINN code, and the ptychodus plugin, read settings from ``ptycho.params.cfg``. The canonical
configs in :mod:`ptycho.config.config` are flattened into it by :func:`update_legacy_dict`, which every
workflow calls first. The dict starts empty: reading a key that was never synced raises a ``KeyError``
that says what to do, instead of silently returning a stale default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

# Canonical field name -> legacy key, where they differ.
KEY_MAPPINGS = {
    "object_big": "object.big",
    "probe_big": "probe.big",
    "probe_mask": "probe.mask",
    "probe_trainable": "probe.trainable",
    "intensity_scale_trainable": "intensity_scale.trainable",
    "positions_provided": "positions.provided",
    "output_dir": "output_prefix",
    "train_data_file": "train_data_file_path",
    "test_data_file": "test_data_file_path",
}

# Fields that only exist for backwards compatibility and are never written.
_SKIPPED_FIELDS = {"n_images"}

SYNC_HINT = (
    "call ptycho.params.update_legacy_dict(ptycho.params.cfg, config) with your TrainingConfig or "
    "InferenceConfig first (CONFIG-001)"
)


class LegacyParams(dict):
    """A dict whose missing keys raise a ``KeyError`` with the CONFIG-001 remedy."""

    def __missing__(self, key):
        raise KeyError(f"legacy parameter {key!r} was never set; {SYNC_HINT}.")


cfg: LegacyParams = LegacyParams()


def get(key: str) -> Any:
    """Value of ``key`` in the legacy dict; ``KeyError`` naming the remedy if it was never synced."""
    return cfg[key]


def set(key: str, value: Any) -> None:  # noqa: A001 - upstream name
    cfg[key] = value


def params() -> dict:
    """A plain copy of the legacy dict."""
    return dict(cfg)


def _legacy_value(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def dataclass_to_legacy_dict(config: Any) -> dict[str, Any]:
    """Flatten a config dataclass (nested ``model`` included) into legacy keys; Paths become strings."""
    if not is_dataclass(config):
        raise TypeError(f"expected a config dataclass, got {type(config).__name__}")
    flat: dict[str, Any] = {}
    for f in fields(config):
        if f.name in _SKIPPED_FIELDS:
            continue
        value = getattr(config, f.name)
        if is_dataclass(value):
            flat.update(dataclass_to_legacy_dict(value))
        else:
            flat[KEY_MAPPINGS.get(f.name, f.name)] = _legacy_value(value)
    return flat


def update_legacy_dict(target: dict, config: Any) -> dict:
    """Write every non-``None`` value of ``config`` into ``target`` (usually :data:`cfg`)."""
    target.update({k: v for k, v in dataclass_to_legacy_dict(config).items() if v is not None})
    return target


def reset() -> None:
    """Forget every synced value (tests and long-lived processes that switch configs)."""
    cfg.clear()


@contextmanager
def preserved() -> Iterator[None]:
    """Run a block that syncs its own config, then put the legacy dict back as it was."""
    saved = dict(cfg)
    try:
        yield
    finally:
        cfg.clear()
        cfg.update(saved)

