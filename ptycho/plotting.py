"""Figures people look at: datasets, reconstructions, comparisons. Matplotlib with the Agg backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ptycho.atomic import atomic_path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> Path:
    """Save atomically and close the figure."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    finally:
        pyplot().close(fig)
    return Path(path)


def _panel(fig, ax, image, title, cmap="gray", label=None):
    shown = ax.imshow(image, cmap=cmap)
    ax.set_title(title)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label=label)


def plot_dataset(dataset, path, group: np.ndarray | None = None) -> Path:
    """Object amplitude and phase with the scan, the probe, and one diffraction pattern (log counts)."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 9.5), layout="constrained")
    if dataset.objectGuess is not None:
        _panel(fig, axes[0, 0], np.abs(dataset.objectGuess), "object amplitude", label="amplitude")
        _panel(fig, axes[0, 1], np.angle(dataset.objectGuess), "object phase + scan", "viridis", "rad")
    else:
        axes[0, 0].axis("off")
        axes[0, 1].set_title("scan positions")
        axes[0, 1].invert_yaxis()
        axes[0, 1].set_aspect("equal")
    axes[0, 1].plot(dataset.xcoords, dataset.ycoords, ".", ms=2, color="tab:orange")
    if group is not None:
        axes[0, 1].plot(dataset.xcoords[group], dataset.ycoords[group], "o", mfc="none", color="red", label="one group")
        axes[0, 1].legend(loc="lower right")
    if dataset.probeGuess is not None:
        probe = dataset.probeGuess if dataset.probeGuess.ndim == 2 else dataset.probeGuess[0]
        _panel(fig, axes[1, 0], np.abs(probe), "probe amplitude", "magma", "amplitude")
    else:
        axes[1, 0].axis("off")
    _panel(
        fig,
        axes[1, 1],
        np.log10(1 + dataset.diffraction[0] ** 2),
        "pattern 0, log10(1 + counts)",
        "viridis",
        "log10 counts",
    )
    fig.suptitle(f"{Path(dataset.source).name}: {len(dataset)} patterns of {dataset.N}×{dataset.N}")
    return save_figure(fig, path)


def plot_image(image: np.ndarray, path, title: str, cmap: str, label: str) -> Path:
    """One image with a colour bar and pixel axes (reconstructed amplitude or phase)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    _panel(fig, ax, image, title, cmap, label)
    return save_figure(fig, path)


def plot_comparison(truth: np.ndarray, recon: np.ndarray, path, title: str = "") -> Path:
    """Ground truth | reconstruction | error, for amplitude (top) and phase (bottom)."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), layout="constrained")
    for row, (name, f, cmap, unit) in enumerate(
        (("amplitude", np.abs, "gray", "amplitude"), ("phase", np.angle, "viridis", "rad"))
    ):
        t, r = f(truth), f(recon)
        _panel(fig, axes[row, 0], t, f"truth {name}", cmap, unit)
        _panel(fig, axes[row, 1], r, f"reconstruction {name}", cmap, unit)
        _panel(fig, axes[row, 2], r - t, f"error {name}", "coolwarm", unit)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_losses(history: dict, path, title: str = "training loss") -> Path:
    """Training (and validation, when recorded) loss per epoch, log scale when every value is positive."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for key, label in (("train_loss", "training"), ("val_loss", "validation")):
        values = np.asarray(history.get(key) or [], dtype=np.float64)
        if values.size:
            ax.plot(np.arange(1, values.size + 1), values, marker="o", ms=3, label=label)
    finite = [v for key in ("train_loss", "val_loss") for v in (history.get(key) or []) if np.isfinite(v)]
    if finite and min(finite) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)
