"""The simulated training corpus: seeded shards with a manifest, read back as separate scans."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.data_contract import read_npz
from ptycho.errors import DataContractError
from ptycho.simulation.corpus import CorpusSpec, sha256, write_corpus
from ptycho.simulation.families import CONTRASTS, FAMILIES, compose_object
from ptycho.training_data import expand, read_scans
from ptycho.workflows.common import create_ptycho_data_container

SMALL = dict(object_size=96, scan_step=10)  # 4×4 positions of 64×64 per scan


def ptycho(*args):
    return subprocess.run([sys.executable, "-m", "ptycho.cli.main", *args], capture_output=True, text=True)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("contrast", CONTRASTS)
def test_every_family_and_contrast_gives_a_varied_object(family, contrast):
    obj = compose_object(family, contrast, 96, np.random.default_rng(1))
    amplitude, phase = np.abs(obj), np.angle(obj)
    assert obj.shape == (96, 96) and amplitude.max() <= 1 + 1e-9 and amplitude.min() >= 0.3 - 1e-9
    assert np.ptp(phase) > 0.1  # the phase carries the pattern in every contrast
    if contrast == "phase-only":
        assert np.allclose(amplitude, 1)
    else:
        assert np.ptp(amplitude) > 0.05


def test_corpus_cli_writes_shards_and_manifest_the_same_bytes_for_a_seed(tmp_path):
    args = ("simulate", "--scans", "3", "--families", "lines,particles", "--photons-range", "1e4", "1e6",
            "--object-size", "96", "--scan-step", "10", "--seed", "5")
    for name in ("a", "b"):
        result = ptycho(*args, "--corpus", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert [e["family"] for e in manifest["shards"]] == ["lines", "particles", "lines"]
    for entry in manifest["shards"]:
        shard = tmp_path / "a" / entry["file"]
        assert sha256(shard) == entry["sha256"] == sha256(tmp_path / "b" / entry["file"])
        assert 1e4 <= entry["photons"] <= 1e6 and entry["contrast"] in CONTRASTS
        data = read_npz(shard)
        assert len(data) == entry["patterns"] == 16 and data.objectGuess.shape == (96, 96)
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()
    other = ptycho(*args[:-1], "6", "--corpus", str(tmp_path / "c"))
    assert other.returncode == 0 and sha256(tmp_path / "c" / "scan_00000.npz") != manifest["shards"][0]["sha256"]


def test_corpus_usage_errors_name_the_flag(tmp_path):
    assert "--corpus needs --scans" in ptycho("simulate", "--corpus", str(tmp_path)).stderr
    bad = ptycho("simulate", "--corpus", str(tmp_path), "--scans", "2", "--families", "lines,cats")
    assert bad.returncode == 2 and "choose a comma-separated list of grf-fine" in bad.stderr


@pytest.fixture
def corpus(tmp_path):
    write_corpus(tmp_path / "corpus", CorpusSpec(scans=3, seed=2, **SMALL))
    return tmp_path / "corpus"


def test_a_damaged_shard_is_refused_by_name(corpus):
    assert len(expand(corpus)) == 3
    shard = corpus / "scan_00001.npz"
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the diffraction array: still a valid NPZ, other counts
    shard.write_bytes(bytes(raw))
    with pytest.raises(DataContractError, match=r"scan_00001.npz: its sha256 differs from the one in manifest.json"):
        expand(corpus)


def test_several_files_globs_and_plain_folders(corpus, tmp_path):
    first, second = corpus / "scan_00000.npz", corpus / "scan_00001.npz"
    assert expand([first, second, first]) == [first, second]
    assert expand(str(corpus / "scan_0000[12].npz")) == [second, corpus / "scan_00002.npz"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "one.npz").write_bytes(first.read_bytes())
    assert expand(plain) == [plain / "one.npz"]
    with pytest.raises(DataContractError, match="no files match this pattern"):
        expand(str(tmp_path / "missing*.npz"))
    with pytest.raises(FileNotFoundError, match="dataset not found: .*missing.npz"):
        expand(tmp_path / "missing.npz")


def test_groups_never_span_two_scans(corpus):
    scans = read_scans(corpus)
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=2), n_groups=10, nepochs=1)
    data = create_ptycho_data_container(scans, config)
    sizes = [len(s) for s in scans]
    assert len(data) == 30 and data.nn_indices.max() < sum(sizes)
    scan_of = np.repeat(np.arange(len(sizes)), sizes)[data.nn_indices]
    assert (scan_of == scan_of[:, :1]).all()  # every group's patterns come from one scan
    assert list(scan_of[:, 0]) == [0] * 10 + [1] * 10 + [2] * 10
    # each scan keeps its own normalisation: mean pattern power (N/2)² per scan
    for k in range(3):
        power = np.sum(data.X[10 * k : 10 * k + 10] ** 2, axis=(1, 2)).mean()
        assert 0.5 * 32**2 < power < 2 * 32**2
