"""Training groups streamed from many scan files, a few shards at a time, so a corpus larger than memory
trains: memory holds ``shards_in_memory`` scans (and their groups), never the whole corpus.

Each epoch visits every shard once, in an order that depends only on ``(seed, epoch)``; the groups of the
shards in memory are shuffled together. Each scan is grouped on its own (never across scans), exactly as
:func:`ptycho.loader.group_scan` groups one scan. Both engines consume the same
chunks: the TensorFlow loop batches them, the PyTorch engine wraps them in an ``IterableDataset``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ptycho import loader
from ptycho.errors import DataContractError
from ptycho.loader import PtychoDataContainer
from ptycho.training_data import read_shard

log = logging.getLogger("ptycho.train")
DEFAULT_SHARDS_IN_MEMORY = 8


class ShardStream:
    """The training groups of ``files`` (one scan each), read ``shards_in_memory`` files at a time.

    ``probe`` and ``N`` come from the first shard (a corpus shares one probe), ``nphotons`` is the median
    scan's, as in memory; ``len()`` is the number of groups an epoch visits.
    """

    def __init__(self, files: list[Path], config, shards_in_memory: int = DEFAULT_SHARDS_IN_MEMORY, seed: int = 0):
        if not files:
            raise DataContractError("no training files to stream")
        self.files, self.config = list(files), config
        self.shards_in_memory, self.seed = max(1, shards_in_memory), seed
        # one pass, one shard at a time: each scan's groups and mean counts (in-memory training starts from
        # the median scan's counts: so does this)
        self.group_counts, photons = [], []
        for index in range(len(self.files)):
            container = self.container(index)
            self.group_counts.append(len(container))
            photons.append(container.nphotons)
            if index == 0:
                self.probe, self.N, self.channels = container.probe, container.X.shape[1], container.X.shape[-1]
                self.has_y = container.Y_I is not None
        self.nphotons = float(np.median(photons))
        log.info("streaming %d scans (%d groups) from %s, %d in memory at a time", len(self.files), len(self),
                 self.files[0].parent, self.shards_in_memory)

    def __len__(self) -> int:
        return sum(self.group_counts)

    def container(self, index: int) -> PtychoDataContainer:
        """Shard ``index`` grouped on its own."""
        raw = read_shard(self.files[index])
        if raw.N != getattr(self, "N", raw.N):
            raise DataContractError(f"{self.files[index]}: {raw.N}×{raw.N} patterns, the first shard's are "
                                    f"{self.N}×{self.N}; train on one N")
        return loader.group_scan(raw, self.config)

    def order(self, epoch: int, part: tuple[int, int] = (0, 1)) -> list[int]:
        """Shard indices this epoch visits, for part ``rank`` of ``world`` (distributed training)."""
        rank, world = part
        return [int(i) for i in np.random.default_rng([self.seed, epoch]).permutation(len(self.files))][rank::world]

    def chunks(self, epoch: int, part: tuple[int, int] = (0, 1)) -> Iterator[PtychoDataContainer]:
        """This epoch's groups, ``shards_in_memory`` scans per container."""
        order = self.order(epoch, part)
        for start in range(0, len(order), self.shards_in_memory):
            yield loader.concatenate([self.container(i) for i in order[start : start + self.shards_in_memory]])


def has_truth(data) -> bool:
    """Whether training data (a container or a stream) carry ground-truth patches."""
    return data.has_y if isinstance(data, ShardStream) else data.Y_I is not None


def model_channels(data) -> int:
    """Patterns per group of training data (a container or a stream)."""
    return data.channels if isinstance(data, ShardStream) else data.X.shape[-1]
