"""PyTorch-engine workflows (see :mod:`ptycho_torch.workflows.components`)."""
