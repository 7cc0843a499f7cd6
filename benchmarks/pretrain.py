"""Rebuild a shipped pretrained model from scratch: corpus, held-out corpus, training, registration.

Every step is a real ``ptycho`` command line (printed, and recorded verbatim in the model's
provenance.json with its wall time): ``ptycho simulate --corpus`` for the training corpus and for a
held-out corpus of families the network never sees (its validation loss), then ``ptycho train`` on the
shards; the archive is copied to ``ptycho/pretrained_models/NAME/``. The same seed gives the same corpus
bytes (its manifest hash is recorded); training is seeded, so a rerun on the same machine class gives the
same network up to floating-point reduction order.

Run: .venv/bin/python benchmarks/pretrain.py [--work pretrain_work] [--name NAME] [--epochs 8]
     (or: .venv/bin/nox -s pretrain)
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "ptycho" / "pretrained_models"
TRAIN_FAMILIES = ("grf-fine", "grf-medium", "grf-coarse", "lines", "particles")
HELD_OUT = ("spokes", "natural")
PHOTONS = (1e4, 1e9)


def commands(work: Path, scans: int, epochs: int, projection_iterations: int, estimate_gain: bool) -> list[list[str]]:
    corpus, heldout, model = work / "corpus", work / "heldout", work / "model"
    photons = [f"{p:g}" for p in PHOTONS]
    return [
        ["simulate", "--corpus", str(corpus), "--scans", str(scans), "--families", ",".join(TRAIN_FAMILIES),
         "--photons-range", *photons, "--seed", "0"],
        ["simulate", "--corpus", str(heldout), "--scans", "4", "--families", ",".join(HELD_OUT),
         "--photons-range", *photons, "--seed", "1"],
        ["train", "--backend", "tensorflow", "--train-data", str(corpus), "--test-data", str(heldout),
         "--output-dir", str(model), "--epochs", str(epochs), "--gridsize", "1", "--batch-size", "16",
         "--n-filters-scale", "1", "--n-groups", "256", "--projection-iterations", str(projection_iterations),
         *(["--estimate-gain"] if estimate_gain else [])],
    ]


def run(args: list[str]) -> float:
    print("$ ptycho " + shlex.join(args), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ptycho.cli.main", *args], check=True)
    return time.perf_counter() - start


def register(name: str, work: Path, steps: list[list[str]], seconds: list[float], scans: int, epochs: int) -> Path:
    """Copy the trained archive into the package with its provenance."""
    from ptycho.archive import read_archive
    from ptycho.simulation.corpus import manifest_hash

    archive = read_archive(work / "model")
    history = json.loads((work / "model" / "history.json").read_text())
    params = archive.params
    projections = int(params.get("projection_iterations", 0))
    gain = bool(params.get("estimate_gain", False))
    shards = json.loads((work / "corpus" / "manifest.json").read_text())["shards"]
    provenance = {
        "N": int(params["N"]),
        "gridsize": int(params["gridsize"]),
        "n_filters_scale": int(params["n_filters_scale"]),
        "amp_activation": params["amp_activation"],
        "projection_iterations": projections,
        "estimate_gain": gain,
        "probe": "disk: the default simulated probe (defocused disk, diameter N/2, 1.5 rad defocus at its rim)",
        "photons": list(PHOTONS),
        "families": list(TRAIN_FAMILIES),
        "held_out": list(HELD_OUT),
        "engine": archive.backend,
        "epochs": len(history["train_loss"]),
        "train_loss": history["train_loss"][-1],
        "val_loss_held_out": (history.get("val_loss") or [None])[-1],
        "patterns": sum(e["patterns"] for e in shards),
        "corpus_manifest_sha256": manifest_hash(work / "corpus"),
        "heldout_manifest_sha256": manifest_hash(work / "heldout"),
        "commands": ["ptycho " + shlex.join(s) for s in steps],
        "wall_seconds": [round(s, 1) for s in seconds],
        "machine": machine.describe(),
        "rebuild": f"python benchmarks/pretrain.py --name {name} --scans {scans} --epochs {epochs} "
                   f"--projection-iterations {projections}" + (" --estimate-gain" if gain else ""),
    }
    folder = MODELS / name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / "model" / "wts.h5.zip", folder / "wts.h5.zip")
    (folder / "provenance.json").write_text(json.dumps(provenance, indent=1) + "\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="pretrain_work", help="scratch folder for the corpus and the run")
    parser.add_argument("--name", default="disk64-g1", help="name of the shipped model")
    parser.add_argument("--scans", type=int, default=60, help="training scans (256 patterns each)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--projection-iterations", type=int, default=10,
                        help="per-pattern projections the network sees beside the diffraction (0: none)")
    parser.add_argument("--estimate-gain", action="store_true",
                        help="the network's output multiplies the projections' estimate instead of replacing it")
    args = parser.parse_args()
    work = Path(args.work)
    print(f"machine: {machine.describe()}")
    steps = commands(work, args.scans, args.epochs, args.projection_iterations, args.estimate_gain)
    seconds = [run(step) for step in steps]
    print(f"registered {register(args.name, work, steps, seconds, args.scans, args.epochs)}")


if __name__ == "__main__":
    main()
