"""Upstream ``ptycho_torch.lightning_utils`` name: the best checkpoint of a run folder."""

from ptycho_torch.api.checkpoints import find_best_checkpoint

__all__ = ["find_best_checkpoint"]
