"""``ptycho demo``: the main job. Simulates the default dataset (or takes ``--data``), trains the TensorFlow
and the PyTorch engine on it with the same settings, reconstructs with each network alone and with physics
refinement, runs a classic iterative solver beside them, and writes a report folder (PNGs per engine,
comparison figures of the scanned region, ``report.md`` and ``report.html``)."""

from __future__ import annotations

import html
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ptycho import metrics
from ptycho.atomic import atomic_path
from ptycho.cli.options import non_negative_int, positive_int, writable_folder
from ptycho.cli.simulate import add_arguments, spec_from_args, write_simulation
from ptycho.data_contract import read_npz

log = logging.getLogger("ptycho.demo")
ENGINES = ("tensorflow", "pytorch")


def _run(args: list[str], what: str) -> float:
    start = time.perf_counter()
    print(f"demo: {what} ...", flush=True)
    result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "--quiet", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"demo step '{what}' failed:\n{result.stderr[-2000:]}")
    seconds = time.perf_counter() - start
    print(f"demo: {what} done in {seconds:.1f} s", flush=True)
    return seconds


def _stage_row(label: str, seconds: float, quality: dict | None, fit: dict, **extra) -> dict:
    return {"label": label, "seconds": seconds, "metrics": quality, "consistency": fit, **extra}


def run_engine(engine: str, data: Path, out: Path, args) -> list[dict]:
    """Train, then reconstruct with the network alone and with physics refinement: two report rows."""
    model, recon = out / engine / "model", out / engine
    train = [
        "train",
        "--backend",
        engine,
        "--train-data",
        str(data),
        "--output-dir",
        str(model),
        "--epochs",
        str(args.epochs),
        "--n-groups",
        str(args.n_groups),
        "--gridsize",
        str(args.gridsize),
        "--batch-size",
        str(args.batch_size),
        "--n-filters-scale",
        str(args.n_filters_scale),
        "--seed",
        str(args.seed),
    ]
    if engine == "pytorch":
        train += ["--accelerator", "cpu", "--logger", "csv"]
    train_seconds = _run(train, f"{engine}: training {args.epochs} epochs")
    infer = ["infer", "--backend", engine, "--model", str(model), "--data", str(data), "--output-dir", str(recon)]
    _run(infer + ["--refine", str(args.refine)], f"{engine}: reconstructing (+{args.refine} refinement iterations)")
    history = json.loads((model / "history.json").read_text())
    metrics_file = recon / "metrics.json"
    quality = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    fits = json.loads((recon / "consistency.json").read_text())
    if not args.refine:  # a single stage: the files hold it flat
        quality, fits = {"network": quality or None}, {"network": fits}
    with np.load(recon / "reconstruction.npz", allow_pickle=False) as npz:
        network_object = npz["network_object"] if "network_object" in npz.files else npz["object"]
    common = {
        "engine": engine,
        "final_loss": history["train_loss"][-1],
        "train_patterns_per_second": args.epochs * args.n_groups * args.gridsize**2 / train_seconds,
    }
    rows = [
        _stage_row(
            f"{engine} PINN", train_seconds, quality.get("network"), fits["network"], object=network_object, **common
        )
    ]
    if args.refine:
        rows.append(
            _stage_row(
                f"{engine} PINN + {args.refine} refinement it.",
                train_seconds + fits["refined"]["seconds"],
                quality.get("refined"),
                fits["refined"],
                **common,
            )
        )
    rows[0]["folder"] = engine  # the engine's files belong to its first row
    return rows


def run_iterative(data: Path, out: Path, args) -> dict:
    """The yardstick: a classic iterative solver on the same file."""
    folder = out / args.algorithm
    _run(
        [
            "reconstruct",
            "--algorithm",
            args.algorithm,
            "--iterations",
            str(args.iterations),
            "--data",
            str(data),
            "--output-dir",
            str(folder),
        ],
        f"{args.algorithm}: {args.iterations} iterations",
    )
    fit = json.loads((folder / "consistency.json").read_text())
    metrics_file = folder / "metrics.json"
    quality = json.loads(metrics_file.read_text()) if metrics_file.exists() else None
    return _stage_row(
        f"{args.algorithm} ({args.iterations} it., no network)", fit["seconds"], quality, fit, folder=args.algorithm
    )


def _fmt(value, digits=3):
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def write_report(rows: list[dict], out: Path, source: str, agreement: float | None) -> Path:
    lines = [
        f"# ptychopinn demo: {source}",
        "",
        "| reconstruction | seconds | amp SSIM | amp PSNR | amp FRC | phase SSIM | phase PSNR | phase FRC | "
        "Poisson NLL/px | R-factor |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        m = r["metrics"] or {}
        a, p = m.get("amplitude", {}), m.get("phase", {})
        c = r["consistency"]
        lines.append(
            f"| {r['label']} | {r['seconds']:.1f} | {_fmt(a.get('ssim'))} | {_fmt(a.get('psnr'), 1)} | "
            f"{_fmt(a.get('frc_resolution'))} | {_fmt(p.get('ssim'))} | {_fmt(p.get('psnr'), 1)} | "
            f"{_fmt(p.get('frc_resolution'))} | {c['poisson_nll_per_pixel']:.6g} | {c['r_factor']:.4f} |"
        )
    engines = [r for r in rows if "final_loss" in r and "folder" in r]  # one row per trained engine
    lines += [
        "",
        "Seconds: training for the PINN rows, training plus refinement for the refined rows, the solver's own "
        "time for the iterative solver. Metrics are taken over the scanned region.",
        "",
        *[
            f"{r['engine']}: final training loss {r['final_loss']:.6g}, {r['train_patterns_per_second']:.0f} patterns/s"
            for r in engines
        ],
        "",
        f"Agreement between the engines (phase SSIM of one network reconstruction against the other): "
        f"{_fmt(agreement)}",
        "",
        "FRC columns give the resolution in cycles/pixel where the half-bit threshold is crossed.",
        "",
    ]
    folders = [r["folder"] for r in rows if "folder" in r]
    for folder in folders:
        for name in ("network_comparison.png", "comparison.png"):
            if (out / folder / name).exists():
                lines.append(f"![{folder} {name[:-4]}]({folder}/{name})")
    text = "\n".join(lines) + "\n"
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(text)
    body = "".join(
        f"<img src='{folder}/{name}' width='640'>"
        for folder in folders
        for name in ("network_comparison.png", "comparison.png", "reconstructed_phase.png")
        if (out / folder / name).exists()
    )
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(f"<html><body><pre>{html.escape(text)}</pre>{body}</body></html>")
    return out / "report.md"


def engine_agreement(rows: list[dict]) -> float | None:
    rows = [r for r in rows if "object" in r]
    if len(rows) != 2 or rows[0]["object"].shape != rows[1]["object"].shape:
        return None
    a, b = rows[0]["object"], rows[1]["object"]
    covered = (np.abs(a) > 0) & (np.abs(b) > 0)
    if not covered.any():
        return None
    return metrics.compare(a, b, mask=covered)["phase"]["ssim"]


def run(args) -> int:
    spec = None if args.data else spec_from_args(args)  # usage errors first, then the folder
    out = writable_folder(args.output_dir, "--output-dir")
    if args.data:
        data = Path(args.data)
        dataset = read_npz(data)
        args.gridsize = args.gridsize or 1
        source = f"{data.name} ({len(dataset)} patterns of {dataset.N}×{dataset.N})"
    else:
        data = out / "demo_data.npz"
        dataset = write_simulation(spec, data, out / "demo_data.png", args.gridsize)
        source = f"simulated {args.object[0]} object, {len(dataset)} patterns of {dataset.N}×{dataset.N}"
    rows = [row for engine in args.engines for row in run_engine(engine, data, out, args)]
    if args.iterations:
        rows.append(run_iterative(data, out, args))
    report = write_report(rows, out, source, engine_agreement(rows))
    print(report.read_text())
    print(f"demo: report written to {report} (and report.html)")
    return 0


def add_parser(sub) -> None:
    parser = sub.add_parser("demo", help="train both engines and write a side-by-side report", description=__doc__)
    parser.add_argument("--output-dir", default="demo_output", help="report folder (default demo_output)")
    parser.add_argument("--data", default=None, help="run on this NPZ instead of the simulated dataset")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES), help="engines to compare")
    parser.add_argument("--epochs", type=positive_int, default=60, help="training epochs per engine (default 60)")
    parser.add_argument(
        "--refine", type=non_negative_int, default=20, help="refinement iterations after each network (default 20)"
    )
    parser.add_argument("--algorithm", choices=("epie", "rpie"), default="rpie", help="iterative solver shown beside")
    parser.add_argument(
        "--iterations", type=non_negative_int, default=50, help="its iterations (default 50; 0: skip it)"
    )
    parser.add_argument("--n-groups", type=positive_int, default=128, help="groups to train on (default 128)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="batch size (default 8)")
    parser.add_argument(
        "--n-filters-scale", type=positive_int, default=1, help="network width (default 1: fast on a CPU)"
    )
    add_arguments(parser)
    parser.set_defaults(run=run, object=("grf", None), object_size=128, scan_step=8.0, gridsize=2)
