"""Streaming training groups from corpus shards (issue 22): every group of every scan once per epoch, each
scan grouped on its own, at most ``shards_in_memory`` scans held at a time, an order set by (seed, epoch),
the photon scale in-memory training uses, and equal parts for distributed processes."""

import numpy as np
import pytest

from ptycho import loader
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.shard_stream import ShardStream
from ptycho.simulation.corpus import CorpusSpec, write_corpus
from ptycho.training_data import expand, read_scans, should_stream
from ptycho.workflows.common import create_ptycho_data_container

pytestmark = pytest.mark.per_pr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus") / "corpus"
    # 5 scans of 16 patterns, photon levels 1e4-1e8 (so the scale rule matters)
    write_corpus(folder, CorpusSpec(scans=5, object_size=96, scan_step=10, photons=(1e4, 1e8), seed=3))
    return folder


def config(gridsize=1):
    return TrainingConfig(model=ModelConfig(N=64, gridsize=gridsize, n_filters_scale=1))


def signature(container) -> set:
    """Each group as (its first pattern's bytes, its offsets): what identifies it across containers."""
    return {(x[..., 0].tobytes(), o.tobytes()) for x, o in zip(container.X, container.local_offsets, strict=True)}


@pytest.mark.parametrize("gridsize", [1, 2])
def test_an_epoch_streams_exactly_the_groups_in_memory_training_sees(corpus, gridsize):
    cfg = config(gridsize)
    stream = ShardStream(expand(corpus), cfg, shards_in_memory=2, seed=0)
    whole = create_ptycho_data_container(read_scans(corpus), cfg)
    chunks = list(stream.chunks(epoch=0))
    order = stream.order(0)
    assert [len(c) for c in chunks] == [sum(stream.group_counts[i] for i in order[k : k + 2]) for k in (0, 2, 4)]
    assert len(stream) == len(whole) == sum(map(len, chunks))
    streamed = set().union(*(signature(c) for c in chunks))
    assert streamed == signature(whole)
    assert stream.nphotons == pytest.approx(whole.nphotons)  # the median scan's counts: the same start scale
    assert np.allclose(stream.probe, whole.probe)


def test_the_order_depends_only_on_seed_and_epoch(corpus):
    stream = ShardStream(expand(corpus), config(), shards_in_memory=1, seed=5)
    assert stream.order(0) == ShardStream(expand(corpus), config(), seed=5).order(0)
    assert sorted(stream.order(0)) == list(range(5)) and stream.order(0) != stream.order(1)
    parts = [stream.order(3, (rank, 2)) for rank in range(2)]
    assert sorted(parts[0] + parts[1]) == list(range(5)) and not set(parts[0]) & set(parts[1])


def test_memory_holds_at_most_shards_in_memory_scans(corpus, monkeypatch):
    stream = ShardStream(expand(corpus), config(), shards_in_memory=2)
    held = []
    real = loader.concatenate
    monkeypatch.setattr(loader, "concatenate", lambda parts: held.append(len(parts)) or real(parts))
    list(stream.chunks(0))
    assert held == [2, 2, 1]


def test_auto_streams_only_what_would_crowd_memory(corpus, monkeypatch):
    files = expand(corpus)
    assert not should_stream(files) and should_stream(files, "on") and not should_stream(files, "off")
    monkeypatch.setattr("ptycho.training_data.available_memory", lambda: 4 * sum(f.stat().st_size for f in files))
    assert should_stream(files)  # 3× the files' bytes is over a quarter of this "memory"
    assert not should_stream(files[:1])  # one file is read whole either way
