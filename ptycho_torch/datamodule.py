"""``PtychoDataModule``: model-ready tensors from ``PtychoDataContainer``s, with epoch-seeded shuffling."""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, Sampler, TensorDataset

from ptycho.loader import PtychoDataContainer
from ptycho.shard_stream import ShardStream


class EpochSeededSampler(Sampler):
    """A permutation that depends only on ``(seed, epoch)``: a resumed run sees the same order."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.size).tolist())

    def __len__(self) -> int:
        return self.size


def to_tensors(data: PtychoDataContainer, scale: float, with_y: bool) -> TensorDataset:
    """``(x_scaled [n, C, N, N], offsets [n, 1, 2, C], y)``; ``y`` is the trimmed truth or a placeholder."""
    x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(data.X * scale, -1, 1)).astype(np.float32))
    offsets = torch.from_numpy(np.ascontiguousarray(data.local_offsets, dtype=np.float32))
    if with_y:
        N = data.X.shape[1]
        q = N // 4
        y = torch.from_numpy(np.ascontiguousarray(np.moveaxis(data.Y[:, q : q + N // 2, q : q + N // 2], -1, 1)))
    else:
        y = torch.zeros((len(data), 1, 1, 1), dtype=torch.complex64)
    return TensorDataset(x, offsets, y)


class StreamedGroups(IterableDataset):
    """The groups of a :class:`ShardStream`, chunk by chunk, shuffled within each chunk by ``(seed, epoch)``.

    Under distributed training each process takes every ``world``-th shard and stops after the number of
    groups the smallest part holds, so every process runs the same number of steps (no collective waits
    for a process that has finished)."""

    def __init__(self, stream: ShardStream, scale: float, with_y: bool, seed: int):
        self.stream, self.scale, self.with_y, self.seed, self.epoch = stream, scale, with_y, seed, 0

    def _part(self) -> tuple[int, int]:
        dist = torch.distributed
        return (dist.get_rank(), dist.get_world_size()) if dist.is_available() and dist.is_initialized() else (0, 1)

    def groups_per_part(self, world: int) -> int:
        counts = self.stream.group_counts
        return min(sum(counts[i] for i in self.stream.order(self.epoch, (r, world))) for r in range(world))

    def __iter__(self):
        rank, world = self._part()
        left = self.groups_per_part(world)
        epoch, self.epoch = self.epoch, self.epoch + 1  # one pass per epoch (the loader runs in this process)
        for chunk in self.stream.chunks(epoch, (rank, world)):
            tensors = to_tensors(chunk, self.scale, self.with_y).tensors
            for i in np.random.default_rng([self.seed, epoch, len(chunk)]).permutation(len(chunk))[:left].tolist():
                yield tuple(t[i] for t in tensors)
            left -= min(left, len(chunk))
            if not left:
                return


class PtychoDataModule(L.LightningDataModule):
    def __init__(
        self,
        train: PtychoDataContainer,
        test: PtychoDataContainer | None,
        scale: float,
        batch_size: int,
        seed: int = 0,
        with_y: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
    ):
        super().__init__()
        self.train_data, self.test_data = train, test
        self.scale, self.batch_size, self.seed, self.with_y = scale, batch_size, seed, with_y
        self.loader_kwargs = dict(
            num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers and num_workers > 0
        )

    def setup(self, stage: str | None = None) -> None:
        if isinstance(self.train_data, ShardStream):
            self.train_set = StreamedGroups(self.train_data, self.scale, self.with_y, self.seed)
        else:
            self.train_set = to_tensors(self.train_data, self.scale, self.with_y)
        self.val_set = None if self.test_data is None else to_tensors(self.test_data, self.scale, self.with_y)

    def train_dataloader(self):
        if isinstance(self.train_set, StreamedGroups):  # read in this process: the stream counts its epochs
            return DataLoader(self.train_set, batch_size=self.batch_size)
        sampler = EpochSeededSampler(len(self.train_set), self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, **self.loader_kwargs)

    def val_dataloader(self):
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False, **self.loader_kwargs)
