"""Training from a corpus folder, and fine-tuning a trained network, through the real command line."""

import json

import numpy as np
import pytest

from ptycho.archive import read_archive
from ptycho.simulation.corpus import CorpusSpec, write_corpus
from ptycho.testing.checkpoints import assert_model_archive
from ptycho.testing.commands import CPU_ONLY, run_ptycho

pytestmark = pytest.mark.per_pr
BACKENDS = [pytest.param("tensorflow", marks=pytest.mark.tf), pytest.param("pytorch", marks=pytest.mark.torch)]
TINY = ("--epochs", "1", "--gridsize", "1", "--batch-size", "8", "--n-filters-scale", "1", "--n-groups", "16")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    write_corpus(folder, CorpusSpec(scans=3, object_size=96, scan_step=10, seed=4))  # 3 scans of 16 patterns
    return folder


def train(backend, corpus, out, *extra):
    knobs = ("--accelerator", "cpu", "--logger", "none") if backend == "pytorch" else ()
    return run_ptycho("--quiet", "train", "--backend", backend, "--train-data", str(corpus), "--output-dir",
                      str(out), *TINY, *knobs, *extra, env=CPU_ONLY)


def network_weights(folder) -> dict:
    weights = read_archive(folder).neutral_weights()
    return {k: np.asarray(v) for k, v in weights.items() if k.endswith(("/kernel", "/bias"))}


def distance(a: dict, b: dict) -> float:
    """Relative L2 distance between two networks' conv weights."""
    num = sum(float(np.sum((a[k] - b[k]) ** 2)) for k in a)
    return (num / sum(float(np.sum(a[k] ** 2)) for k in a)) ** 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_trains_one_epoch_from_the_shards_and_fine_tunes_from_either_engine(backend, corpus, tmp_path):
    train(backend, corpus, tmp_path / "scratch", "--init", "none")  # seeded, not the shipped model (auto)
    assert_model_archive(tmp_path / "scratch" / "wts.h5.zip", backend=backend)
    history = json.loads((tmp_path / "scratch" / "history.json").read_text())
    assert len(history["train_loss"]) == 1 and np.isfinite(history["train_loss"][0])
    other = "pytorch" if backend == "tensorflow" else "tensorflow"
    train(other, corpus, tmp_path / "start", "--seed", "7", "--init", "none")
    train(backend, corpus, tmp_path / "tuned", "--init", str(tmp_path / "start"))
    start, tuned, fresh = (network_weights(tmp_path / n) for n in ("start", "tuned", "scratch"))
    # one epoch (6 Adam steps of at most ~1e-3 each) moves Glorot weights of ~0.1 by a few per cent; a
    # network from other seeded weights differs by about √2 (two independent draws)
    assert distance(tuned, start) < 0.2 < 1.0 < distance(fresh, start)


def test_init_names_what_does_not_fit(corpus, tmp_path):
    train("tensorflow", corpus, tmp_path / "narrow")
    wider = [a if a != "1" or TINY[i - 1] != "--n-filters-scale" else "2" for i, a in enumerate(TINY)]
    result = run_ptycho("--quiet", "train", "--backend", "tensorflow", "--train-data", str(corpus), "--output-dir",
                        str(tmp_path / "wide"), *wider, "--init", str(tmp_path / "narrow"), env=CPU_ONLY, check=False)
    assert result.returncode == 2 and "--init" in result.stderr and "does not fit this training" in result.stderr
    flagless = [a for i, a in enumerate(TINY) if "--n-filters-scale" not in TINY[max(i - 1, 0) : i + 1]]
    run_ptycho("--quiet", "train", "--backend", "tensorflow", "--train-data", str(corpus), "--output-dir",
               str(tmp_path / "adopted"), *flagless, "--init", str(tmp_path / "narrow"), env=CPU_ONLY)
    assert read_archive(tmp_path / "adopted").params["n_filters_scale"] == 1  # the --init model's width
    missing = run_ptycho("train", "--backend", "tensorflow", "--train-data", str(corpus), "--output-dir",
                         str(tmp_path / "x"), "--init", "no-such-model", check=False)
    assert missing.returncode == 2 and "no shipped model of that name" in missing.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_trains_streaming_the_shards_one_at_a_time(backend, corpus, tmp_path):
    """``--stream on``: the shards are read one at a time (a corpus larger than memory trains), by the
    TensorFlow loop or a Lightning ``IterableDataset``; the epoch sees every group once."""
    knobs = ("--accelerator", "cpu", "--logger", "none") if backend == "pytorch" else ()
    result = run_ptycho("train", "--backend", backend, "--train-data", str(corpus), "--output-dir",
                        str(tmp_path / "run"), *TINY, *knobs, "--init", "none", "--stream", "on",
                        "--shards-in-memory", "1", env=CPU_ONLY)
    assert "streaming 3 scans (48 groups)" in result.stderr and "1 in memory at a time" in result.stderr
    assert "48 patterns" in result.stderr or "patterns/s" in result.stderr
    assert_model_archive(tmp_path / "run" / "wts.h5.zip", backend=backend)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["train_loss"]) == 1 and np.isfinite(history["train_loss"][0])
