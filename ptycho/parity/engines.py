"""Both engines behind one NumPy-in, NumPy-out interface in the reference layouts.

Reference layouts (:mod:`ptycho.physics`): patches ``(B, N, N, C)``, group offsets ``(B, 2, C)``, model
inputs ``x_scaled (B, N, N, C)`` and offsets ``(B, 1, 2, C)``. Each adapter converts to its engine's layout,
calls the engine's own code, and converts back; nothing here re-implements physics.
"""

from __future__ import annotations

import functools

import numpy as np

from ptycho.config.config import ModelConfig, TrainingConfig


class PhysicsPieces:
    """The engine's physics functions (``self.physics``) on NumPy inputs; ``tensor()`` converts (the
    TensorFlow engine runs float32 only, so it ignores ``dtype``)."""

    def tensor(self, array, dtype):
        raise NotImplementedError

    def translate(self, images, offsets, dtype="float32"):
        return self.physics.translate(self.tensor(images, dtype), self.tensor(offsets, dtype)).numpy()

    def merge_group(self, patches, offsets, dtype="float32"):
        canvas = self.physics.merge_group(self.tensor(np.moveaxis(patches, -1, 1), dtype), self.tensor(offsets, dtype))
        return canvas.numpy()

    def split_group(self, canvas, offsets, N, dtype="float32"):
        out = self.physics.split_group(self.tensor(canvas, dtype), self.tensor(offsets, dtype), N).numpy()
        return np.moveaxis(out, 1, -1)

    def illuminate(self, probe, patches, dtype="float32"):
        """probe ``(M, N, N)``, patches ``(B, N, N)`` -> ``(B, M, N, N)``."""
        waves = self.physics.illuminate(self.tensor(probe, dtype), self.tensor(patches[:, None], dtype))
        return waves.numpy()[:, :, 0]

    def diffraction_amplitude(self, probe, patches, dtype="float32"):
        intensity = self.physics.farfield_intensity(self.tensor(probe, dtype), self.tensor(patches[:, None], dtype))
        return np.sqrt(intensity.numpy()[:, 0])

    def probe_projections(self, amplitude, probe, iterations, start, dtype="float32"):
        """amplitude ``(B, N, N)``, probe ``(M, N, N)`` -> estimate ``(B, N, N)``."""
        estimate = self.physics.probe_projections(self.tensor(amplitude[:, None], dtype), self.tensor(probe, dtype),
                                                  iterations, start)
        return estimate.numpy()[:, 0]

    def poisson_nll(self, lam, counts, dtype="float32"):
        return float(self.physics.poisson_nll(self.tensor(lam, dtype), self.tensor(counts, dtype)))


class TensorFlowEngine(PhysicsPieces):
    name = "tensorflow"
    dtypes = ("float32",)

    def __init__(self):
        import tensorflow as tf

        from ptycho.tf import model as tf_model
        from ptycho.tf import physics, train

        self.tf, self.physics, self.model_module, self.train = tf, physics, tf_model, train

    def tensor(self, array, dtype):
        array = np.asarray(array)
        return self.tf.constant(array.astype(np.complex64 if np.iscomplexobj(array) else np.float32))

    # -- the model -----------------------------------------------------------------------------
    def build(self, model_config: ModelConfig, probe, intensity_scale: float, seed: int = 0, probe_trainable=False):
        return self.model_module.create_model(
            model_config, probe, intensity_scale, seed=seed, probe_trainable=probe_trainable
        )

    def intensity_scale(self, model) -> float:
        return model.intensity_scale

    def forward(self, model, x_scaled, offsets, config: TrainingConfig) -> dict:
        tf = self.tf
        x, off = tf.constant(x_scaled, tf.float32), tf.constant(offsets, tf.float32)
        out = model([x, off])
        terms = self.train.loss_terms(model, out, x, tf.square(x), None, config)
        return {
            "object": out["object"].numpy(),
            "pred_amp_scaled": out["pred_amp_scaled"].numpy(),
            "loss": float(tf.add_n(list(terms.values()))),
        }

    def gradients(self, model, x_scaled, offsets, config: TrainingConfig) -> dict[str, np.ndarray]:
        """Gradient of the engine's training loss for every trainable neutral weight."""
        tf = self.tf
        x, off = tf.constant(x_scaled, tf.float32), tf.constant(offsets, tf.float32)
        variables = self._neutral_variables(model)
        with tf.GradientTape() as tape:
            terms = self.train.loss_terms(model, model([x, off], training=True), x, tf.square(x), None, config)
            loss = tf.add_n(list(terms.values()))
        grads = tape.gradient(loss, list(variables.values()))
        return {name: g.numpy() for name, g in zip(variables, grads, strict=True) if g is not None}

    def sgd_step(self, model, gradients: dict, learning_rate: float) -> None:
        for name, variable in self._neutral_variables(model).items():
            if name in gradients:
                variable.assign_sub(learning_rate * gradients[name])

    def _neutral_variables(self, model) -> dict:
        out = {}
        for name, conv in model.named_convs().items():
            out[f"{name}/kernel"], out[f"{name}/bias"] = conv.kernel, conv.bias
        out["intensity_scaler/log_scale"] = model.log_scale
        out["probe/real"], out["probe/imag"] = model.probe_real, model.probe_imag
        return {k: v for k, v in out.items() if v.trainable}

    def inference_model(self, model):
        return self.model_module.DiffractionToObject(model)


class TorchEngine(PhysicsPieces):
    name = "pytorch"
    dtypes = ("float32", "float64")

    def __init__(self):
        import torch

        from ptycho_torch import lightning_module, physics
        from ptycho_torch import model as torch_model

        self.torch, self.physics, self.model_module, self.lightning = torch, physics, torch_model, lightning_module

    def tensor(self, array, dtype):
        array = np.asarray(array)
        if np.iscomplexobj(array):
            array = array.astype(np.complex128 if dtype == "float64" else np.complex64)
        else:
            array = array.astype(np.float64 if dtype == "float64" else np.float32)
        return self.torch.from_numpy(np.ascontiguousarray(array))

    # -- the model -----------------------------------------------------------------------------
    def build(self, model_config: ModelConfig, probe, intensity_scale: float, seed: int = 0, probe_trainable=False):
        self.torch.manual_seed(seed)
        return self.model_module.create_model(model_config, probe, intensity_scale, probe_trainable=probe_trainable)

    def intensity_scale(self, model) -> float:
        return model.intensity_scale

    def inputs(self, x_scaled, offsets):
        x = self.torch.from_numpy(np.ascontiguousarray(np.moveaxis(x_scaled, -1, 1), dtype=np.float32))
        return x, self.torch.from_numpy(np.ascontiguousarray(offsets, dtype=np.float32))

    def forward(self, model, x_scaled, offsets, config: TrainingConfig) -> dict:
        x, off = self.inputs(x_scaled, offsets)
        with self.torch.no_grad():
            out = model(x, off)
            loss = self.loss(model, out, x, config)
        return {
            "object": out["object"].permute(0, 2, 3, 1).numpy(),
            "pred_amp_scaled": out["pred_amp_scaled"].permute(0, 2, 3, 1).numpy(),
            "loss": float(loss),
        }

    def loss(self, model, outputs, x, config: TrainingConfig):
        terms = self.lightning.loss_terms(model, outputs, x, None, self.lightning.loss_weights(config))
        return self.torch.stack(list(terms.values())).sum()

    def gradients(self, model, x_scaled, offsets, config: TrainingConfig) -> dict[str, np.ndarray]:
        x, off = self.inputs(x_scaled, offsets)
        model.zero_grad()
        self.loss(model, model(x, off), x, config).backward()
        out = {}
        for name, conv in model.named_convs().items():
            if conv.weight.grad is not None:
                out[f"{name}/kernel"] = conv.weight.grad.permute(2, 3, 1, 0).numpy().copy()  # OIHW -> HWIO
                out[f"{name}/bias"] = conv.bias.grad.numpy().copy()
        for name, param in (("intensity_scaler/log_scale", model.log_scale), ("probe/real", model.probe_real),
                            ("probe/imag", model.probe_imag)):
            if param.requires_grad and param.grad is not None:
                out[name] = param.grad.numpy().copy()
        return out

    @staticmethod
    def sgd_step(model, gradients: dict, learning_rate: float) -> None:
        weights = model.export_weights()
        model.import_weights({k: v - learning_rate * gradients[k] if k in gradients else v for k, v in weights.items()})

    def inference_model(self, model):
        return self.model_module.DiffractionToObject(model)


@functools.cache
def engine(name: str):
    """The adapter of ``name`` ('tensorflow' or 'pytorch'), built once."""
    return {"tensorflow": TensorFlowEngine, "pytorch": TorchEngine}[name]()


ENGINES = ("tensorflow", "pytorch")
