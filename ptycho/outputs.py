"""Every output file of one reconstruction, whoever made it (a network, a refinement, an iterative solver):
``reconstructed_amplitude.png``, ``reconstructed_phase.png``, ``reconstruction.npz``, ``product.h5`` and,
with a ground truth, ``comparison.png`` cropped to the scanned region."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptycho import metrics
from ptycho.atomic import atomic_path
from ptycho.consistency import data_consistency
from ptycho.data_contract import write_npz
from ptycho.errors import DataContractError, NonFiniteResultError
from ptycho.physics import stitch
from ptycho.product import write_product

log = logging.getLogger("ptycho.outputs")

SCORE_WINDOW = 20  # the scanned region is judged away from its outermost half of this window


def inner_region(positions: np.ndarray, shape, M: int = SCORE_WINDOW) -> np.ndarray:
    """Pixels covered by ``M × M`` windows at ``positions``, away from the scan's outermost half-window."""
    covered = stitch(np.ones((len(positions), M, M)), positions.astype(np.float64), M, canvas_shape=shape).real > 0.5
    rows, cols = np.nonzero(covered)
    if not len(rows):
        raise DataContractError(
            f"no scan position lies inside the {shape[0]}×{shape[1]} object: positions span x "
            f"{positions[:, 0].min():.4g}…{positions[:, 0].max():.4g}, y {positions[:, 1].min():.4g}…"
            f"{positions[:, 1].max():.4g} px; check the coordinates' units (pixels) and origin"
        )
    inner = np.zeros_like(covered)
    margin = M // 2
    inner[rows.min() + margin : rows.max() - margin + 1, cols.min() + margin : cols.max() - margin + 1] = True
    inner &= covered
    return inner if inner.any() else covered  # a scan narrower than a window has no inner part: score it all


def score(obj: np.ndarray, truth: np.ndarray, positions: np.ndarray, M: int = SCORE_WINDOW) -> dict:
    """``ptycho.metrics.compare`` over the scanned region (``positions`` in the truth's frame)."""
    return metrics.compare(obj, truth, mask=inner_region(positions, truth.shape, M))


def scanned_box(positions: np.ndarray, shape, M: int = SCORE_WINDOW) -> tuple[slice, slice]:
    """Rows and columns of the scanned region's bounding box: what comparison figures show."""
    rows, cols = np.nonzero(inner_region(positions, shape, M))
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)


@dataclass
class Outcome:
    """One reconstruction, ready to write. ``positions``: scan window centres ``(n, 2)`` in ``obj``'s frame."""

    name: str  # e.g. "tensorflow", "tensorflow+refine", "rpie"
    obj: np.ndarray
    probe: np.ndarray
    positions: np.ndarray
    photon_count: float
    losses: tuple = ()
    patches: np.ndarray | None = None


def consistency(outcome: Outcome, measured_amplitude: np.ndarray) -> dict:
    """Data consistency (Poisson NLL per pixel, R-factor) of ``outcome`` against every measured pattern."""
    return data_consistency(outcome.obj, outcome.probe, outcome.positions, measured_amplitude)


def write_reconstruction(
    outcome: Outcome, out: Path, truth: np.ndarray | None = None, extra_arrays: dict | None = None
) -> dict[str, Path]:
    """Write every output file of ``outcome`` into ``out``; ``truth`` (same frame) adds the comparison."""
    out = Path(out)
    obj = outcome.obj
    for what, array in (("object", obj), ("probe", outcome.probe), ("positions", outcome.positions)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise NonFiniteResultError(
                f"{outcome.name}: the reconstructed {what} holds {bad} NaN or Inf values of {np.size(array)}, so "
                f"nothing was written to {out}; check the data's probe and counts (ptycho inspect), or use fewer "
                "iterations or a smaller step"
            )
    files = save_outputs(np.abs(obj), np.angle(obj), {"backend": outcome.name}, out)
    arrays = {
        "object": obj.astype(np.complex64),
        "positions": outcome.positions.astype(np.float64),
        "probe": np.asarray(outcome.probe, np.complex64),
    }
    if outcome.patches is not None:
        arrays["patches"] = outcome.patches.astype(np.complex64)
    arrays.update(extra_arrays or {})
    files["object"] = write_npz(out / "reconstruction.npz", arrays)
    files["product"] = write_product(
        out / "product.h5",
        name=f"ptychopinn-{outcome.name}",
        probe=outcome.probe,
        obj=obj,
        positions=outcome.positions,
        losses=outcome.losses,
        photon_count=outcome.photon_count,
        comments=f"reconstructed by {outcome.name}",
    )
    if truth is not None:
        files["comparison"] = write_comparison(
            obj,
            truth,
            outcome.positions,
            out / "comparison.png",
            f"{outcome.name}: ground truth | reconstruction | error",
        )
    return files


def write_json(path: Path, value: dict) -> Path:
    """``value`` as indented JSON at ``path``, written atomically; a NaN or Inf in it is refused (strict JSON)."""
    try:
        text = json.dumps(value, indent=2, allow_nan=False)
    except ValueError:
        raise NonFiniteResultError(f"{path}: a value came out NaN or Inf ({value}); nothing was written") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_comparison(obj: np.ndarray, truth: np.ndarray, positions: np.ndarray, path: Path, title: str) -> Path:
    """Truth | reconstruction | error over the scanned region; the reconstruction's global phase and
    amplitude scale (arbitrary in ptychography) are matched to the truth there, as the metrics do."""
    from ptycho.plotting import plot_comparison

    box = scanned_box(positions, truth.shape)
    truth, obj = truth[box], obj[box]
    aligned = obj * np.exp(-1j * np.angle(np.vdot(truth, obj)))
    aligned = aligned * (np.mean(np.abs(truth)) / max(np.mean(np.abs(aligned)), 1e-30))
    return plot_comparison(truth, aligned, path, title)


def epochs_trained(history: dict) -> list[int]:
    """The epoch number (from 1, as trained) of each ``train_loss``: the history's own ``epoch`` list when it
    has one of the same length (a resumed run's), else 1, 2, 3, ..."""
    losses = history.get("train_loss") or []
    epochs = history.get("epoch") or []
    return [int(e) for e in epochs] if len(epochs) == len(losses) else list(range(1, len(losses) + 1))


def read_training_losses(model_folder) -> tuple[float, ...]:
    """``train_loss`` of ``model_folder/history.json``, for the product file; a missing, unreadable or
    malformed history is a side file, not the model: it is named in a warning and skipped."""
    path = Path(model_folder) / "history.json"
    if not path.is_file():
        return ()
    try:
        losses = json.loads(path.read_text()).get("train_loss", [])
        values = tuple(float(v) for v in losses)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("%s: unreadable training history (%s); the product file lists no training losses", path, exc)
        return ()
    return values


def write_history(history: dict, out_dir) -> dict[str, Path]:
    """``history.json`` (the whole history, as given: a resumed PyTorch run's carries its ``epoch`` numbers) and
    ``history.csv`` (epoch, train_loss, val_loss), both atomic."""
    out = Path(out_dir)
    epochs = epochs_trained(history)
    files = {"history_json": write_json(out / "history.json", history)}
    rows = ["epoch,train_loss,val_loss"]
    val = history.get("val_loss") or []
    for i, (epoch, loss) in enumerate(zip(epochs, history.get("train_loss") or [], strict=True)):
        rows.append(f"{epoch},{loss!r},{val[i]!r}" if i < len(val) else f"{epoch},{loss!r},")
    with atomic_path(out / "history.csv") as tmp:
        tmp.write_text("\n".join(rows) + "\n")
    files["history_csv"] = out / "history.csv"
    return files


def save_outputs(amplitude, phase, results, output_prefix) -> dict[str, Path]:
    """Write what there is into the folder ``output_prefix`` and return ``{name: path}`` of the files written.

    - ``reconstructed_amplitude.png`` / ``reconstructed_phase.png`` for each image given. ``None`` is
      skipped: ``run_cdi_example`` returns ``(None, None, results)`` without ``do_stitching``, as upstream
      does, and ptychodus passes those straight here.
    - ``history.json``, ``history.csv`` and ``loss_curve.png`` when ``results`` carries a loss ``history``
      (a training run's results).

    Nothing to write is not an error: the result is then an empty mapping.
    """
    from ptycho.plotting import plot_image, plot_losses

    out = Path(output_prefix)
    out.mkdir(parents=True, exist_ok=True)
    results = results if isinstance(results, dict) else {}
    backend = results.get("backend", "")
    tag = f" ({backend})" if backend else ""
    files: dict[str, Path] = {}
    images = (
        ("amplitude", amplitude, "reconstructed_amplitude.png", "gray", "amplitude (a.u.)"),
        ("phase", phase, "reconstructed_phase.png", "viridis", "phase (rad)"),
    )
    for name, image, filename, cmap, label in images:
        if image is not None:
            files[name] = plot_image(np.asarray(image), out / filename, f"reconstructed {name}{tag}", cmap, label)
    history = results.get("history")
    if isinstance(history, dict) and history.get("train_loss"):
        files.update(write_history(history, out))
        files["loss_curve"] = plot_losses(history, out / "loss_curve.png", f"training loss{tag}")
    return files
