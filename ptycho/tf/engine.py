"""The TensorFlow engine behind :class:`ptycho.engines.Engine`: Keras model, custom training loop, Keras
weights file in the archive. Importing this module imports TensorFlow."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ptycho.engines import Fitted, TrainingRun
from ptycho.errors import ConfigError
from ptycho.tf.model import DiffractionToObject, create_model
from ptycho.tf.train import Trainer

KERAS_WEIGHTS = "model.weights.h5"


class TensorFlowEngine:
    name = "tensorflow"

    def check_options(self, execution, resume: bool) -> None:
        if execution is not None:
            raise ConfigError(
                "a PyTorchExecutionConfig was given but backend='tensorflow'; the TensorFlow engine "
                "has no such settings: drop it or choose backend='pytorch'"
            )
        if resume:
            raise ConfigError("resuming from a checkpoint is a PyTorch-engine feature; choose backend='pytorch'")

    def fit(self, run: TrainingRun) -> Fitted:
        if run.callbacks:
            raise ConfigError("Lightning callbacks were given but backend='tensorflow'; choose backend='pytorch'")
        config = run.config
        model = create_model(
            config.model,
            run.probe,
            run.intensity_scale,
            probe_trainable=config.probe_trainable,
            intensity_scale_trainable=config.intensity_scale_trainable,
            seed=run.seed,
        )
        if run.initial_weights is not None:
            model.import_weights(run.initial_weights)
        history = Trainer(model, config).fit(run.train, run.test, run.intensity_scale, seed=run.seed)
        return Fitted(model, history)

    def create_model(self, model_config, probe, intensity_scale: float):
        return create_model(model_config, probe, intensity_scale)

    def engine_files(self, model, checkpoint) -> dict[str, bytes]:
        """The Keras weights file, for Keras users (loading uses the neutral weights)."""
        with tempfile.TemporaryDirectory() as tmp:
            weights_file = Path(tmp) / KERAS_WEIGHTS
            model.save_weights(weights_file)
            return {KERAS_WEIGHTS: weights_file.read_bytes()}

    def predictor(self, model) -> DiffractionToObject:
        return DiffractionToObject(model)

    def place(self, model, accelerator: str | None) -> None:
        """TensorFlow places operations itself (a visible GPU is used); nothing to move."""


ENGINE = TensorFlowEngine()
