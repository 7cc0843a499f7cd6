"""Training loop of the TensorFlow engine: Adam on the configured loss, one progress line per epoch."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from ptycho.errors import ConfigError
from ptycho.loader import PtychoDataContainer
from ptycho.progress import EpochReporter
from ptycho.shard_stream import ShardStream, has_truth, model_channels
from ptycho.tf.model import PtychoPINN
from ptycho.tf.physics import poisson_nll
from ptycho.training_guard import check_loss

LEARNING_RATE = 1e-3


def _y_trimmed(data: PtychoDataContainer, N: int) -> np.ndarray | None:
    if data.Y_I is None:
        return None
    q = N // 4
    return data.Y[:, q : q + N // 2, q : q + N // 2]


def loss_terms(model: PtychoPINN, outputs: dict, x_scaled, counts, y_trimmed, config) -> dict:
    """Weighted loss terms per ``TrainingConfig`` (zero-weight terms are not computed)."""
    terms = {}
    if config.model.model_type == "supervised":
        decoded = outputs["object"]
        q, h = model.arch.N // 4, model.arch.N // 2
        dec = decoded[:, q : q + h, q : q + h]
        terms["supervised"] = tf.reduce_mean(tf.abs(tf.abs(dec) - tf.abs(y_trimmed))) + tf.reduce_mean(
            tf.abs(tf.math.angle(dec) - tf.math.angle(y_trimmed))
        )
        return terms
    if config.nll_weight:
        terms["nll"] = config.nll_weight * poisson_nll(outputs["pred_intensity"], counts)
    if config.mae_weight:
        terms["mae"] = config.mae_weight * tf.reduce_mean(tf.abs(outputs["pred_amp_scaled"] - x_scaled))
    if y_trimmed is not None and config.realspace_weight:
        terms["realspace"] = config.realspace_weight * tf.reduce_mean(tf.abs(outputs["trimmed_obj"] - y_trimmed) ** 2)
    if y_trimmed is not None and config.realspace_mae_weight:
        terms["realspace_mae"] = config.realspace_mae_weight * tf.reduce_mean(
            tf.abs(outputs["trimmed_obj"] - y_trimmed)
        )
    return terms


class Trainer:
    """Holds the optimiser and compiled steps for one model."""

    def __init__(self, model: PtychoPINN, config, learning_rate: float = LEARNING_RATE):
        self.model, self.config = model, config
        self.optimizer = tf.keras.optimizers.Adam(learning_rate)
        needs_y = config.model.model_type == "supervised" or config.realspace_weight or config.realspace_mae_weight
        self.needs_y = bool(needs_y)
        N, C = model.arch.N, model.arch.channels
        # one trace for every batch size (the last batch is smaller): tracing costs seconds per shape
        signature = [
            tf.TensorSpec([None, N, N, C], tf.float32),
            tf.TensorSpec([None, 1, 2, C], tf.float32),
            tf.TensorSpec([None, None, None, None], tf.complex64),
        ]
        self.train_step = tf.function(self._train_step, input_signature=signature)
        self.eval_step = tf.function(self._eval_step, input_signature=signature)

    def _loss(self, x_scaled, offsets, y, training):
        outputs = self.model([x_scaled, offsets], training=training)
        terms = loss_terms(self.model, outputs, x_scaled, tf.square(x_scaled), y, self.config)
        return tf.add_n(list(terms.values())), terms

    def _train_step(self, x_scaled, offsets, y):
        with tf.GradientTape() as tape:
            loss, _ = self._loss(x_scaled, offsets, y, True)
        variables = self.model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    def _eval_step(self, x_scaled, offsets, y):
        return self._loss(x_scaled, offsets, y, False)[0]

    def _batches(self, data: PtychoDataContainer, scale: float, order: np.ndarray):
        y_all = _y_trimmed(data, self.model.arch.N) if self.needs_y else None
        bs = self.config.batch_size
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            y = y_all[idx] if y_all is not None else np.zeros([len(idx), 1, 1, 1], np.complex64)
            yield (data.X[idx] * np.float32(scale)).astype(np.float32), data.local_offsets[idx].astype(np.float32), y

    def _epoch(self, data, scale: float, rng: np.random.Generator, epoch: int, shuffle: bool = True):
        """An epoch's batches: of one container in memory, or of a stream's chunks, read as they are reached.

        Not through ``tf.data``: ``Dataset.from_generator`` (prefetching the next shards) halved training
        speed on a 2-core CPU (0.47× of in memory, ``benchmarks/bench_stream.py``), while reading and grouping
        a shard costs about 4 % of training on it."""
        chunks = data.chunks(epoch) if isinstance(data, ShardStream) else [data]
        for chunk in chunks:
            yield from self._batches(chunk, scale, rng.permutation(len(chunk)) if shuffle else np.arange(len(chunk)))

    def evaluate(self, data, scale: float) -> float:
        losses, sizes = [], []
        for x, off, y in self._epoch(data, scale, np.random.default_rng(0), 0, shuffle=False):
            losses.append(float(self.eval_step(x, off, y)))
            sizes.append(len(x))
        return float(np.average(losses, weights=sizes))

    def fit(
        self,
        train: PtychoDataContainer,
        test: PtychoDataContainer | None,
        scale: float,
        seed: int = 0,
        epochs: int | None = None,
    ) -> dict:
        if self.needs_y and not has_truth(train):
            raise ConfigError(
                "this loss (supervised or real-space weights) needs ground-truth patches, but the "
                "training data has no objectGuess; use model_type='pinn' with zero real-space weights"
            )
        epochs = epochs or self.config.nepochs
        rng = np.random.default_rng(seed)
        history = {"train_loss": [], "val_loss": [], "epoch_seconds": []}
        reporter = EpochReporter(epochs, "tensorflow", len(train) * model_channels(train))
        for epoch in range(epochs):
            start = time.perf_counter()
            losses, sizes = [], []
            for step, (x, off, y) in enumerate(self._epoch(train, scale, rng, epoch), 1):
                losses.append(float(self.train_step(x, off, y)))
                check_loss(losses[-1], epoch=epoch + 1, step=step, backend="tensorflow",
                           intensity_scale=lambda: self.model.intensity_scale)
                sizes.append(len(x))
            history["train_loss"].append(float(np.average(losses, weights=sizes)))
            metrics = {"loss": history["train_loss"][-1]}
            if test is not None and len(test):
                history["val_loss"].append(self.evaluate(test, scale))
                metrics["val_loss"] = history["val_loss"][-1]
            history["epoch_seconds"].append(time.perf_counter() - start)
            reporter.epoch_done(epoch, metrics)
        return history
