"""The PyTorch engine behind :class:`ptycho.engines.Engine`: the network trained by Lightning, the Lightning
checkpoint (without optimizer state) in the archive, device placement from ``--accelerator``."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from ptycho.config.config import PyTorchExecutionConfig
from ptycho.engines import Fitted, TrainingRun
from ptycho_torch.devices import resolve_accelerator
from ptycho_torch.model import DiffractionToObject, create_model

# float32 means float32 on a GPU too: cuDNN's default TF32 convolutions (10-bit mantissa) made a GPU
# reconstruction differ from the CPU one by 8% of its peak; the parity tolerances assume float32.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False

CHECKPOINT_MEMBER = "model.ckpt"
TRAINING_STATE = ("optimizer_states", "lr_schedulers")


def inference_checkpoint(path: Path) -> bytes:
    """The Lightning checkpoint without optimizer and scheduler state (a third of the size).

    The archive is for inference and for ``load_from_checkpoint``; resuming training uses the run's own
    ``checkpoints/last.ckpt``, which keeps everything.
    """
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    for key in TRAINING_STATE:
        checkpoint.pop(key, None)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


class TorchEngine:
    name = "pytorch"

    def check_options(self, execution, resume: bool) -> None:
        if execution is not None and not isinstance(execution, PyTorchExecutionConfig):
            raise TypeError(
                f"torch_execution_config must be a PyTorchExecutionConfig, got {type(execution).__name__}"
            )

    def fit(self, run: TrainingRun) -> Fitted:
        from ptycho_torch.fitting import fit_model  # Lightning is imported to train, never to infer

        return fit_model(run)

    def create_model(self, model_config, probe, intensity_scale: float):
        return create_model(model_config, probe, intensity_scale).eval()

    def engine_files(self, model, checkpoint) -> dict[str, bytes]:
        return {CHECKPOINT_MEMBER: inference_checkpoint(Path(checkpoint))} if checkpoint else {}

    def predictor(self, model) -> DiffractionToObject:
        return DiffractionToObject(model)

    def place(self, model, accelerator: str | None) -> None:
        """``auto`` picks the GPU when there is one; ``gpu``/``cuda`` without CUDA is an error."""
        if accelerator is not None:
            model.to("cuda" if resolve_accelerator(accelerator) == "gpu" else "cpu")


ENGINE = TorchEngine()
