"""The PINN in Keras 3 (TensorFlow backend): a factory, no import-time state.

Inputs: scaled diffraction amplitude ``[B, N, N, C]`` (sqrt counts) and relative offsets ``[B, 1, 2, C]``.
``call`` returns the upstream outputs ``trimmed_obj`` (central ``N/2`` of the illuminated object patches,
``[B, N/2, N/2, C]`` complex), ``pred_amp_scaled`` and ``pred_intensity`` (``[B, N, N, C]``), plus the
decoded ``object`` ``[B, N, N, C']``. Layer names follow :mod:`ptycho.architecture`.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from ptycho.architecture import (
    AMPLITUDE_WORKING_POINT,
    Architecture,
    check_neutral_weights,
    gaussian_transfer,
    initial_conv_weights,
    probe_support_mask,
    ring_mask,
)
from ptycho.tf import physics

AMP_ACTIVATIONS = {"sigmoid": tf.sigmoid, "swish": tf.nn.silu, "softplus": tf.nn.softplus, "relu": tf.nn.relu}


def _conv(name: str, filters: int) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, 3, padding="same", name=name.replace("/", "_"))


class Decoder(keras.layers.Layer):
    """(conv, ReLU, conv, ReLU, 2× nearest upsample) blocks to ``N/2``, then the last stage."""

    def __init__(self, prefix: str, arch: Architecture, activation, **kwargs):
        super().__init__(name=prefix, **kwargs)
        self.arch, self.activation = arch, activation
        self.blocks = [
            (_conv(f"{prefix}/block{i}/conv0", f), _conv(f"{prefix}/block{i}/conv1", f))
            for i, f in enumerate(arch.decoder_filters)
        ]
        self.centre = _conv(f"{prefix}/centre", arch.output_channels)
        self.ring = _conv(f"{prefix}/ring", arch.output_channels) if arch.has_ring else None
        self.convs = {f"{prefix}/block{i}/conv{j}": pair[j] for i, pair in enumerate(self.blocks) for j in (0, 1)}
        self.convs[f"{prefix}/centre"] = self.centre
        if self.ring is not None:
            self.convs[f"{prefix}/ring"] = self.ring
        self._ring_mask = tf.constant(ring_mask(arch.N)[None, :, :, None])

    def call(self, x):
        for conv0, conv1 in self.blocks:
            x = tf.nn.relu(conv1(tf.nn.relu(conv0(x))))
            x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
        up = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
        if not self.arch.pad_object:
            return self.activation(self.centre(up))
        q = self.arch.N // 4
        out = tf.pad(self.activation(self.centre(x)), [[0, 0], [q, q], [q, q], [0, 0]])
        if self.ring is not None:
            out = out + self.activation(self.ring(up)) * self._ring_mask
        return out


class PtychoPINN(keras.Model):
    """Encoder, amplitude and phase decoders, and the differentiable forward model."""

    def __init__(
        self,
        arch: Architecture,
        probe: np.ndarray,
        intensity_scale: float,
        *,
        probe_trainable: bool = False,
        intensity_scale_trainable: bool = True,
        probe_mask: bool = False,
        gaussian_smoothing_sigma: float = 0.0,
        **kwargs,
    ):
        super().__init__(name="ptycho_pinn", **kwargs)
        self.arch = arch
        self.encoder_blocks = [
            (_conv(f"encoder/block{i}/conv0", f), _conv(f"encoder/block{i}/conv1", f))
            for i, f in enumerate(arch.encoder_filters)
        ]
        self.decoder_amp = Decoder("decoder_amp", arch, AMP_ACTIVATIONS[arch.amp_activation])
        self.decoder_phase = Decoder("decoder_phase", arch, lambda t: math.pi * tf.tanh(t))
        probe = np.asarray(probe, np.complex64).reshape((-1, arch.N, arch.N))
        self.log_scale = self.add_weight(
            name="log_scale",
            shape=(),
            trainable=intensity_scale_trainable,
            initializer=keras.initializers.Constant(math.log(intensity_scale)),
        )
        self.probe_real = self.add_weight(
            name="probe_real",
            shape=probe.shape,
            trainable=probe_trainable,
            initializer=keras.initializers.Constant(probe.real),
        )
        self.probe_imag = self.add_weight(
            name="probe_imag",
            shape=probe.shape,
            trainable=probe_trainable,
            initializer=keras.initializers.Constant(probe.imag),
        )
        self._support = tf.constant(probe_support_mask(arch.N)) if probe_mask else None
        self._transfer = (
            tf.constant(gaussian_transfer(arch.N, gaussian_smoothing_sigma)) if gaussian_smoothing_sigma > 0 else None
        )
        # build every weight now, so export/import work before the first call
        self([tf.zeros([1, arch.N, arch.N, arch.channels]), tf.zeros([1, 1, 2, arch.channels])])

    # -- pieces -------------------------------------------------------------------------------
    def probe(self):
        return physics.effective_probe(tf.complex(self.probe_real, self.probe_imag), self._support, self._transfer)

    def decode(self, x_scaled):
        """Scaled diffraction ``[B, N, N, C]`` -> complex decoded patches ``[B, N, N, C']``."""
        x = x_scaled / tf.exp(self.log_scale)
        estimate = self.projection_estimate(x) if self.arch.projection_iterations else None
        if estimate is not None:
            x = tf.concat([x, tf.math.real(estimate), tf.math.imag(estimate)], axis=-1)
        for conv0, conv1 in self.encoder_blocks:
            x = tf.nn.relu(conv1(tf.nn.relu(conv0(x))))
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        amp = self.decoder_amp(x)
        phase = self.decoder_phase(x)
        decoded = tf.complex(amp * tf.cos(phase), amp * tf.sin(phase))
        if self.arch.estimate_gain:
            return decoded * tf.cast(1.0 / AMPLITUDE_WORKING_POINT, tf.complex64) * estimate
        return decoded

    def projection_estimate(self, x):
        """Each pattern's complex estimate after the projections ``[B, N, N, C]`` (a fixed input: no
        gradient flows through it)."""
        amplitude = tf.stop_gradient(tf.transpose(x, [0, 3, 1, 2]))
        estimate = physics.probe_projections(
            amplitude, tf.stop_gradient(self.probe()), self.arch.projection_iterations, AMPLITUDE_WORKING_POINT
        )
        return tf.transpose(estimate, [0, 2, 3, 1])

    def physics(self, decoded, offsets):
        """Decoded patches ``[B, N, N, C']`` -> (illuminated object ``[B, C, N, N]``, intensity ``[B, C, N, N]``)."""
        patches = physics.object_patches(
            tf.transpose(decoded, [0, 3, 1, 2]), tf.cast(offsets, tf.float32), self.arch.channels, self.arch.object_big
        )
        return patches, physics.farfield_intensity(self.probe(), patches)

    def call(self, inputs, training=False):
        x_scaled, offsets = inputs
        decoded = self.decode(x_scaled)
        patches, intensity = self.physics(decoded, offsets)
        scale = tf.exp(self.log_scale)
        pred_intensity = tf.transpose(intensity, [0, 2, 3, 1]) * scale**2
        q = self.arch.N // 4
        trimmed = tf.transpose(patches, [0, 2, 3, 1])[:, q : q + self.arch.N // 2, q : q + self.arch.N // 2]
        return {
            "trimmed_obj": trimmed,
            "pred_amp_scaled": tf.sqrt(pred_intensity),
            "pred_intensity": pred_intensity,
            "object": decoded,
        }

    # -- neutral weights ----------------------------------------------------------------------
    def initialise(self, seed: int = 0) -> None:
        """Conv weights from :func:`ptycho.architecture.initial_conv_weights` (the same in both engines)."""
        for name, value in initial_conv_weights(self.arch, seed).items():
            conv_name, part = name.rsplit("/", 1)
            conv = self.named_convs()[conv_name]
            (conv.kernel if part == "kernel" else conv.bias).assign(value)

    def named_convs(self) -> dict:
        convs = {f"encoder/block{i}/conv{j}": pair[j] for i, pair in enumerate(self.encoder_blocks) for j in (0, 1)}
        convs.update(self.decoder_amp.convs)
        convs.update(self.decoder_phase.convs)
        return convs

    def export_weights(self) -> dict[str, np.ndarray]:
        """All weights as ``{neutral name: float32 array}`` (see :mod:`ptycho.architecture`)."""
        out = {}
        for name, conv in self.named_convs().items():
            out[f"{name}/kernel"] = conv.kernel.numpy()
            out[f"{name}/bias"] = conv.bias.numpy()
        out["intensity_scaler/log_scale"] = np.asarray(self.log_scale.numpy(), np.float32)
        out["probe/real"] = self.probe_real.numpy()
        out["probe/imag"] = self.probe_imag.numpy()
        return out

    def import_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Set every weight from a neutral mapping; a mismatch raises ``ValueError`` and changes nothing."""
        check_neutral_weights(weights, self.arch)
        if weights["probe/real"].shape != tuple(self.probe_real.shape):
            raise ValueError(
                f"probe has {weights['probe/real'].shape[0]} modes, the model "
                f"{self.probe_real.shape[0]}; build the model with the archive's probe"
            )
        for name, conv in self.named_convs().items():
            conv.kernel.assign(weights[f"{name}/kernel"])
            conv.bias.assign(weights[f"{name}/bias"])
        self.log_scale.assign(weights["intensity_scaler/log_scale"])
        self.probe_real.assign(weights["probe/real"])
        self.probe_imag.assign(weights["probe/imag"])

    @property
    def intensity_scale(self) -> float:
        return float(np.exp(self.log_scale.numpy()))


def create_model(
    model_config,
    probe: np.ndarray,
    intensity_scale: float,
    *,
    probe_trainable: bool = False,
    intensity_scale_trainable: bool = True,
    seed: int | None = None,
) -> PtychoPINN:
    """Build a fresh model for ``model_config`` (a ``ModelConfig``); nothing global is read or kept."""
    model = PtychoPINN(
        Architecture.from_model_config(model_config),
        probe,
        intensity_scale,
        probe_trainable=probe_trainable,
        intensity_scale_trainable=intensity_scale_trainable,
        probe_mask=model_config.probe_mask,
        gaussian_smoothing_sigma=model_config.gaussian_smoothing_sigma,
    )
    model.initialise(0 if seed is None else seed)
    return model


class DiffractionToObject:
    """The inference model: ``predict([X_scaled, local_offsets])`` -> complex patches ``[B, N, N, C']``."""

    def __init__(self, model: PtychoPINN):
        self.model = model
        arch = model.arch
        spec = tf.TensorSpec([None, arch.N, arch.N, arch.channels], tf.float32)
        self._decode = tf.function(model.decode, input_signature=[spec])

    def predict(self, inputs, batch_size: int = 64, verbose: int = 0) -> np.ndarray:
        x = np.asarray(inputs[0] if isinstance(inputs, (list, tuple)) else inputs, np.float32)
        parts = [self._decode(tf.constant(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0,) + x.shape[1:3] + (1,), np.complex64)

    __call__ = predict
