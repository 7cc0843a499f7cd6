"""``PtychoDataModule``: model-ready tensors from ``PtychoDataContainer``s, with epoch-seeded shuffling."""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset

from ptycho.loader import PtychoDataContainer


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
        self.train_set = to_tensors(self.train_data, self.scale, self.with_y)
        self.val_set = None if self.test_data is None else to_tensors(self.test_data, self.scale, self.with_y)

    def train_dataloader(self):
        sampler = EpochSeededSampler(len(self.train_set), self.seed)
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=sampler, **self.loader_kwargs)

    def val_dataloader(self):
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False, **self.loader_kwargs)
