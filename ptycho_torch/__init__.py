"""The PyTorch/Lightning engine of ptychopinn (under construction)."""
