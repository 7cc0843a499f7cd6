"""Quality against wall time, per dataset and engine, side by side in one run.

For each dataset: the PINN alone at several training budgets (a learning curve), the PINN + physics
refinement (``ptycho infer --refine``), and the classic iterative solver (``ptycho reconstruct``, rPIE) at
several iteration counts, so they can be compared at equal wall time. Everything runs through the real
command line, one process per step, as a user runs it; "seconds" is the wall time of the whole step
(training for the PINN, training + refinement for the refined rows, the solver's own time for rPIE).

Datasets:
- ``demo``: the demo's grf object, 64 patterns, 1e9 photons, gridsize 2.
- ``noisy-lines``: lines object, 529 patterns, 1e6 photons stored as integer counts, gridsize 2.
- ``generalise``: the model trained on ``demo`` (largest budget) reconstructs a scan of a different
  object (lines, other seed): no training on it.
- ``hard``: thin sharp lines and blobs in amplitude, a smooth phase with an asymmetric block (``--object
  sharp``), 400 patterns at 1e6 photons (integer counts), step 7 px with jitter: PINN at gridsize 1 and 2
  from seeded weights, at gridsize 1 from the shipped pretrained model (``--init auto``), each alone and
  + 10 refinement iterations, and rPIE.
- ``velociprobe``: the measured Siemens-star scan (N=128, no ground truth; its probe guess is unrefined, so
  refinement and rPIE update the probe too): Poisson NLL, R-factor, and the
  FRC resolution between reconstructions of the two half-scans (even and odd positions) at the largest
  budget.

It prints one table (Markdown) and writes ``quality_<dataset>.png`` (SSIM against seconds) and, for the
Velociprobe scan, its phase images into ``--output-dir``.

Run: .venv/bin/python benchmarks/bench_quality.py [--output-dir bench_quality] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VELOCIPROBE = ROOT.parent / "shared" / "data" / "velociprobe_siemens_star.npz.bz2"
ENGINES = ("tensorflow", "pytorch")
# The hard case (issue 27): thin sharp lines and blobs, 400 patterns at 1e6 photons, step 7 px with jitter.
HARD = dict(N=64, object_kind="sharp", object_size=204, scan_kind="jitter", scan_step=7, n_positions=400,
            nphotons=1e6, counts=True, seed=0)
LOW_RINGS = 5  # FRC rings ignored for the resolution (below 5/164 ≈ 0.03 cycles/pixel here)


def ptycho(*args) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ptycho.cli.main", "--quiet", *map(str, args)],
        capture_output=True,
        text=True,
        env={"CUDA_VISIBLE_DEVICES": "", **_env()},
    )
    if result.returncode != 0:
        raise RuntimeError(f"ptycho {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def _env():
    import os

    return dict(os.environ)


def _quality(folder: Path, stage: str | None) -> dict:
    row = {}
    metrics_file = folder / "metrics.json"
    if metrics_file.exists():
        m = json.loads(metrics_file.read_text())
        m = m[stage] if stage else m
        row.update(amp_ssim=m["amplitude"]["ssim"], phase_ssim=m["phase"]["ssim"])
    fit = json.loads((folder / "consistency.json").read_text())
    fit = fit[stage] if stage else fit
    row.update(r_factor=fit["r_factor"], nll=fit["poisson_nll_per_pixel"], refine_seconds=fit.get("seconds", 0.0))
    return row


def train(engine, data, folder, epochs, setting) -> float:
    extra = ["--accelerator", "cpu", "--logger", "csv"] if engine == "pytorch" else []
    return ptycho(
        "train",
        "--backend",
        engine,
        "--train-data",
        data,
        "--output-dir",
        folder,
        "--epochs",
        epochs,
        "--n-groups",
        setting["n_groups"],
        "--gridsize",
        setting["gridsize"],
        "--batch-size",
        setting["batch_size"],
        "--n-filters-scale",
        1,
        "--init",
        setting.get("init", "none"),
        *extra,
    )


def infer(engine, model, data, folder, refine, refine_probe=False) -> float:
    probe = ["--refine-probe"] if refine_probe else []
    return ptycho(
        "infer",
        "--backend",
        engine,
        "--model",
        model,
        "--data",
        data,
        "--output-dir",
        folder,
        "--refine",
        refine,
        *probe,
    )


def pinn_rows(name, engine, data, work, setting, refine) -> list[dict]:
    rows = []
    label = f"{engine} PINN{setting.get('label', '')}"
    for epochs in setting["budgets"]:
        tag = f"{name}-{engine}{setting.get('tag', '')}-{epochs}"
        model, out = work / tag, work / f"{tag}-out"
        seconds = train(engine, data, model, epochs, setting)
        infer(engine, model, data, out, refine, setting.get("refine_probe", False))
        net, ref = _quality(out, "network"), _quality(out, "refined")
        rows.append({"dataset": name, "method": label, "budget": f"{epochs} ep", "seconds": seconds, **net})
        rows.append(
            {
                "dataset": name,
                "method": f"{label} + refine",
                "budget": f"{epochs} ep + {refine} it",
                **ref,
                "seconds": seconds + ref["refine_seconds"],
            }
        )
    return rows


def solver_rows(name, data, work, iterations, refine_probe=False) -> list[dict]:
    rows = []
    probe = ["--refine-probe"] if refine_probe else []
    for k in iterations:
        out = work / f"{name}-rpie-{k}"
        ptycho("reconstruct", "--algorithm", "rpie", "--iterations", k, "--data", data, "--output-dir", out, *probe)
        q = _quality(out, None)
        fit = json.loads((out / "consistency.json").read_text())
        rows.append({"dataset": name, "method": "rpie", "budget": f"{k} it", **q, "seconds": fit["seconds"]})
    return rows


def simulate(path: Path, **spec) -> Path:
    from ptycho.data_contract import write_npz
    from ptycho.simulation import SimulationSpec, simulate_dataset

    return write_npz(path, simulate_dataset(SimulationSpec(**spec))[1])


def half_scans(data: Path, work: Path) -> tuple[Path, Path]:
    from ptycho.raw_data import RawData

    raw = RawData.from_file(data)
    halves = []
    for parity in (0, 1):
        path = work / f"{data.stem}-half{parity}.npz"
        raw.subset(np.arange(parity, len(raw), 2)).to_file(path)
        halves.append(path)
    return tuple(halves)


def deramp(obj: np.ndarray) -> np.ndarray:
    """``obj`` without its mean linear phase ramp and global phase (slopes from neighbour products, so
    phase wrapping does not matter)."""
    slope_x = np.angle(np.sum(np.conj(obj[:, :-1]) * obj[:, 1:]))
    slope_y = np.angle(np.sum(np.conj(obj[:-1]) * obj[1:]))
    y, x = np.indices(obj.shape)
    flat = obj * np.exp(-1j * (slope_x * x + slope_y * y))
    return flat / np.exp(1j * np.angle(np.mean(flat)))


def half_scan_frc(folders: list[Path], halves: list[Path]) -> float:
    """FRC resolution (cycles/pixel, half-bit) between two half-scan reconstructions (complex, global
    phase matched, registered) over one square of the scan, half its extent, placed by each result's frame."""
    from ptycho import metrics
    from ptycho.raw_data import RawData

    crops, centre, side = [], None, None
    for folder, half in zip(folders, halves, strict=True):
        raw = RawData.from_file(half)
        scan = np.stack([raw.xcoords, raw.ycoords], 1)
        with np.load(folder / "reconstruction.npz", allow_pickle=False) as npz:
            obj, frame_positions = npz["object"], npz["positions"]
        origin = scan[0] - frame_positions[0]  # scan coordinate of the object's pixel [0, 0]
        if centre is None:
            centre = (scan.min(0) + scan.max(0)) / 2
            side = int(0.5 * np.min(np.ptp(scan, 0))) // 2 * 2
        x0, y0 = np.rint(centre - origin - side / 2).astype(int)
        crop = obj[y0 : y0 + side, x0 : x0 + side]
        crops.append(deramp(crop))
    # with a refined probe, an object's position and linear phase ramp are only fixed up to the probe's,
    # so each half may settle on its own: remove the ramps, register, then taper the edges the shift wrapped
    moved = metrics.fourier_shift(crops[1], metrics.register_offset(crops[1], crops[0]))
    taper = np.outer(np.hanning(side), np.hanning(side))
    freq, curve, threshold, _ = metrics.frc(crops[0] * taper, moved * taper)
    # resolution: the first half-bit crossing above LOW_RINGS rings; the lowest rings hold the slowly
    # converging background (a refined start keeps its own for long), not the resolution
    below = np.nonzero(curve[LOW_RINGS:] < threshold[LOW_RINGS:])[0]
    return float(freq[below[0] + LOW_RINGS]) if below.size else 0.5


def velociprobe_rows(work, engines, setting, refine, iterations) -> list[dict]:
    from ptycho.velociprobe import convert

    data = convert(VELOCIPROBE, work / "velociprobe.npz")
    halves = half_scans(data, work)
    rows = []
    for engine in engines:
        for row in pinn_rows("velociprobe", engine, data, work, setting, refine):
            if row["method"].endswith("refine"):
                budget = setting["budgets"][-1]
                if row["budget"].startswith(f"{budget} "):
                    model = work / f"velociprobe-{engine}-{budget}"
                    outs = [work / f"vp-{engine}-half{i}" for i in (0, 1)]
                    for half, out in zip(halves, outs, strict=True):
                        infer(engine, model, half, out, refine, refine_probe=True)
                    row["frc"] = half_scan_frc(outs, halves)
            rows.append(row)
    for row in solver_rows("velociprobe", data, work, iterations, refine_probe=True):
        if row["budget"] == f"{iterations[-1]} it":
            outs = [work / f"vp-rpie-half{i}" for i in (0, 1)]
            for half, out in zip(halves, outs, strict=True):
                ptycho(
                    "reconstruct",
                    "--algorithm",
                    "rpie",
                    "--iterations",
                    iterations[-1],
                    "--data",
                    half,
                    "--output-dir",
                    out,
                    "--refine-probe",
                )
            row["frc"] = half_scan_frc(outs, halves)
        rows.append(row)
    return rows


def plot(rows, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == dataset]
        key = "phase_ssim" if "phase_ssim" in mine[0] else "r_factor"
        fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
        for method in dict.fromkeys(r["method"] for r in mine):
            pts = sorted((r["seconds"], r[key]) for r in mine if r["method"] == method and key in r)
            ax.plot(*zip(*pts, strict=True), "o-", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"{dataset}: {key.replace('_', ' ')} against wall time")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        path = out / f"quality_{dataset}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_velociprobe(work: Path, out: Path, panels: dict[str, Path]) -> Path:
    """The phase of each reconstruction in ``panels`` (title -> folder), linear ramp removed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5), layout="constrained")
    for ax, (title, folder) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        with np.load(folder / "reconstruction.npz", allow_pickle=False) as npz:
            image = ax.imshow(np.angle(deramp(npz["object"])), cmap="gray")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label="phase (rad)")
    path = out / "velociprobe_phase.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def table(rows) -> str:
    def f(v, d=3):
        return "" if v is None else f"{v:.{d}f}"

    lines = [
        "| dataset | method | budget | seconds | amp SSIM | phase SSIM | R-factor | half-scan FRC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['budget']} | {r['seconds']:.1f} | "
            f"{f(r.get('amp_ssim'))} | {f(r.get('phase_ssim'))} | {f(r['r_factor'], 4)} | "
            f"{f(r.get('frc'))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default="bench_quality")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--datasets", nargs="+", default=["demo", "noisy-lines", "generalise", "hard", "velociprobe"])
    parser.add_argument("--quick", action="store_true", help="one small budget per dataset (a smoke run)")
    args = parser.parse_args()
    out = Path(args.output_dir)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    demo = {"n_groups": 128, "gridsize": 2, "batch_size": 8, "budgets": (3,) if quick else (15, 30, 60)}
    noisy = {"n_groups": 512, "gridsize": 2, "batch_size": 16, "budgets": (2,) if quick else (5, 15)}
    vp = {"n_groups": 516, "gridsize": 1, "batch_size": 16, "budgets": (2,) if quick else (5, 15), "refine_probe": True}
    iterations = (2,) if quick else (5, 20, 50)
    rows = []
    demo_data = simulate(work / "demo.npz", N=64, object_kind="grf", object_size=128, scan_step=8, seed=0)
    if "demo" in args.datasets:
        for engine in args.engines:
            rows += pinn_rows("demo", engine, demo_data, work, demo, 20)
        rows += solver_rows("demo", demo_data, work, iterations)
    if "noisy-lines" in args.datasets:
        noisy_data = simulate(
            work / "noisy.npz",
            N=64,
            object_kind="lines",
            object_size=240,
            scan_step=8,
            nphotons=1e6,
            counts=True,
            seed=1,
        )
        for engine in args.engines:
            rows += pinn_rows("noisy-lines", engine, noisy_data, work, noisy, 20)
        rows += solver_rows("noisy-lines", noisy_data, work, iterations)
    if "generalise" in args.datasets and "demo" in args.datasets:
        other = simulate(work / "other.npz", N=64, object_kind="lines", object_size=128, scan_step=8, seed=5)
        for engine in args.engines:
            budget = demo["budgets"][-1]
            folder = work / f"generalise-{engine}"
            infer_seconds = infer(engine, work / f"demo-{engine}-{budget}", other, folder, 20)
            for stage, label in (("network", "PINN"), ("refined", "PINN + refine")):
                q = _quality(folder, stage)  # seconds: the whole inference process (no training on this scan)
                seconds = infer_seconds - (0.0 if stage == "refined" else q["refine_seconds"])
                rows.append(
                    {
                        "dataset": "generalise",
                        "method": f"{engine} {label} (trained on demo)",
                        "budget": f"{budget} ep on grf",
                        **q,
                        "seconds": seconds,
                    }
                )
        rows += solver_rows("generalise", other, work, iterations)
    if "hard" in args.datasets:
        hard_data = simulate(work / "hard.npz", **HARD)
        budgets = (2,) if quick else (20,)
        for engine in args.engines:
            for gridsize in (1, 2):
                setting = {"n_groups": 400, "gridsize": gridsize, "batch_size": 16, "budgets": budgets,
                           "label": f" g{gridsize}", "tag": f"-g{gridsize}"}
                rows += pinn_rows("hard", engine, hard_data, work, setting, 10)
            start = {"n_groups": 400, "gridsize": 1, "batch_size": 16, "budgets": budgets, "init": "auto",
                     "label": " g1 from the shipped model", "tag": "-init"}
            rows += pinn_rows("hard", engine, hard_data, work, start, 10)
        rows += solver_rows("hard", hard_data, work, (10, 50) if not quick else (2,))
    if "velociprobe" in args.datasets:
        rows += velociprobe_rows(work, args.engines, vp, 20, iterations)
        panels = {f"rPIE, {iterations[-1]} it. + probe": work / f"velociprobe-rpie-{iterations[-1]}"}
        panels.update(
            {
                f"{e} PINN ({vp['budgets'][-1]} ep) + 20 it. refinement": work
                / f"velociprobe-{e}-{vp['budgets'][-1]}-out"
                for e in args.engines
            }
        )
        print(f"wrote {plot_velociprobe(work, out, panels)}")
    (out / "quality.json").write_text(json.dumps(rows, indent=2))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import machine

    print(f"machine: {machine.describe()}")
    print(table(rows))
    for path in plot(rows, out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
