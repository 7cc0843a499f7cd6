"""The network both engines build, written down once: block sizes and the neutral weight names.

Weights move between the engines as a neutral ``{name: array}`` mapping with these names and layouts:

- ``encoder/block{i}/conv{j}/kernel`` ``(3, 3, in, out)`` (HWIO) and ``…/bias`` ``(out,)``: encoder block
  ``i`` = (3×3 conv, ReLU, 3×3 conv, ReLU, 2×2 max-pool).
- ``decoder_amp/block{i}/conv{j}/…`` and ``decoder_phase/…``: (conv, ReLU, conv, ReLU, nearest 2× upsample).
- ``decoder_{amp,phase}/centre/kernel|bias``: the last 3×3 conv at ``N/2`` (zero-padded to ``N`` with
  ``pad_object``; at ``N`` after one more upsample without it).
- ``decoder_{amp,phase}/ring/kernel|bias`` (only with ``pad_object`` and ``probe_big``): a 3×3 conv at ``N``
  after an upsample, kept outside the central ``N/2`` square.
- ``intensity_scaler/log_scale`` ``()``: log of the intensity scale.
- ``probe/real``, ``probe/imag`` ``(modes, N, N)``: the (normalised) probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The object amplitude the network starts from: the probe is normalised so that an object of this RMS
# amplitude reproduces the data's mean power (ptycho.probe), and the amplitude head's bias is set so its
# activation outputs this value at the start (sigmoid(0) = 0.5 already; swish(0) = 0 would start dark).
AMPLITUDE_WORKING_POINT = 0.5
BASE_FILTERS = 32
MAX_BASE_FILTERS = 256
BOTTLENECK = 8  # encoder output side: N / 2**blocks


@dataclass(frozen=True)
class Architecture:
    """Sizes derived from a model config; both engines build from this and nothing else."""

    N: int
    gridsize: int
    n_filters_scale: int
    object_big: bool
    probe_big: bool
    pad_object: bool
    amp_activation: str
    # > 0: the encoder also sees the real and imaginary parts of each pattern's object estimate after this
    # many probe-constrained projections (ptycho.physics.projection), so its first conv takes 3·C channels
    projection_iterations: int = 0
    # True: the decoded patch is a complex gain on that estimate (object = estimate · decoded / working
    # point), its last kernels start at zero so the untrained network returns the estimate itself
    estimate_gain: bool = False

    @classmethod
    def from_model_config(cls, model) -> Architecture:
        return cls(
            model.N,
            model.gridsize,
            model.n_filters_scale,
            model.object_big,
            model.probe_big,
            model.pad_object,
            model.amp_activation,
            model.projection_iterations,
            model.estimate_gain,
        )

    @property
    def channels(self) -> int:
        """Patches per group ``C``."""
        return self.gridsize**2

    @property
    def input_channels(self) -> int:
        """Encoder input channels: the ``C`` amplitudes, and with projections their estimates' real and
        imaginary parts."""
        return self.channels * (3 if self.projection_iterations else 1)

    @property
    def output_channels(self) -> int:
        """Object patches the decoder predicts: one per patch with ``object_big``, else one shared."""
        return self.channels if self.object_big else 1

    @property
    def encoder_filters(self) -> list[int]:
        blocks = int(math.log2(self.N // BOTTLENECK))
        return [min(BASE_FILTERS * 2**i, MAX_BASE_FILTERS) * self.n_filters_scale for i in range(blocks)]

    @property
    def decoder_filters(self) -> list[int]:
        """One block per upsample from the bottleneck to ``N/2``."""
        return list(reversed(self.encoder_filters[:-1]))

    @property
    def has_ring(self) -> bool:
        return self.pad_object and self.probe_big

    def weight_shapes(self, probe_modes: int = 1) -> dict[str, tuple[int, ...]]:
        """Every neutral weight name with its shape."""
        shapes: dict[str, tuple[int, ...]] = {}

        def conv(prefix, cin, cout):
            shapes[f"{prefix}/kernel"] = (3, 3, cin, cout)
            shapes[f"{prefix}/bias"] = (cout,)

        cin = self.input_channels
        for i, f in enumerate(self.encoder_filters):
            conv(f"encoder/block{i}/conv0", cin, f)
            conv(f"encoder/block{i}/conv1", f, f)
            cin = f
        bottleneck = cin
        for head in ("decoder_amp", "decoder_phase"):
            cin = bottleneck
            for i, f in enumerate(self.decoder_filters):
                conv(f"{head}/block{i}/conv0", cin, f)
                conv(f"{head}/block{i}/conv1", f, f)
                cin = f
            conv(f"{head}/centre", cin, self.output_channels)
            if self.has_ring:
                conv(f"{head}/ring", cin, self.output_channels)
        shapes["intensity_scaler/log_scale"] = ()
        shapes["probe/real"] = shapes["probe/imag"] = (probe_modes, self.N, self.N)
        return shapes


def amplitude_bias(activation: str, amplitude: float = AMPLITUDE_WORKING_POINT) -> float:
    """The pre-activation at which ``activation`` outputs ``amplitude``: the amplitude head's initial bias.

    With a zero bias, swish and relu start at amplitude 0: the predicted patterns are dark, every patch
    looks alike and the network barely learns (phase SSIM 0.04-0.06 after 30 epochs with swish on the
    integration data, against 0.68-0.69 with softplus, which starts at 0.69)."""
    if activation == "sigmoid":
        return math.log(amplitude / (1.0 - amplitude))
    if activation == "softplus":
        return math.log(math.expm1(amplitude))
    if activation == "relu":
        return amplitude
    if activation == "swish":  # b·sigmoid(b) = amplitude, increasing for b > -1.28: Newton from b = amplitude
        b = amplitude
        for _ in range(50):
            s = 1.0 / (1.0 + math.exp(-b))
            b -= (b * s - amplitude) / (s + b * s * (1.0 - s))
        return b
    raise ValueError(f"amp_activation={activation!r} has no working point; choose sigmoid, swish, softplus or relu")


def initial_conv_weights(arch: Architecture, seed: int = 0) -> dict[str, np.ndarray]:
    """Every conv kernel and bias at initialisation, drawn once here so both engines start alike.

    Kernels are Glorot-uniform (``±sqrt(6 / (fan_in + fan_out))``, fans over the 3×3 window), biases zero:
    Keras' default. PyTorch's own default (Kaiming-uniform with ``a=√5`` and random biases) starts each
    layer √3 smaller, and the network's output then stays constant for longer at the start of training.
    The amplitude head's last biases start at :func:`amplitude_bias` (0 for the default sigmoid). With
    ``estimate_gain`` the heads' last kernels start at zero: a gain of exactly 1, so training starts from
    the projections' estimate rather than from a random multiple of it.
    """
    rng = np.random.default_rng(seed)
    start = amplitude_bias(arch.amp_activation)
    weights = {}
    for name, shape in arch.weight_shapes().items():
        if name.endswith("/kernel"):
            kh, kw, cin, cout = shape
            limit = math.sqrt(6.0 / (kh * kw * (cin + cout)))
            weights[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
            if arch.estimate_gain and name.split("/")[1] in ("centre", "ring"):
                weights[name][...] = 0.0  # drawn all the same, so the other layers' draws do not move
        elif name in ("decoder_amp/centre/bias", "decoder_amp/ring/bias"):
            weights[name] = np.full(shape, start, np.float32)
        elif name.endswith("/bias"):
            weights[name] = np.zeros(shape, np.float32)
    return weights


def ring_mask(N: int) -> np.ndarray:
    """1 outside the central ``N/2 × N/2`` square, 0 inside: where the ring branch may write."""
    mask = np.ones((N, N), np.float32)
    lo = N // 4
    mask[lo : lo + N // 2, lo : lo + N // 2] = 0
    return mask


def probe_support_mask(N: int) -> np.ndarray:
    """Circular mask of diameter ``N/2`` (``probe_mask=True``)."""
    y, x = np.mgrid[:N, :N] - N / 2
    return (np.hypot(x, y) <= N / 4).astype(np.float32)


def gaussian_transfer(N: int, sigma: float) -> np.ndarray:
    """FFT-domain transfer function of a Gaussian blur of ``sigma`` pixels (periodic), unshifted."""
    k = np.fft.fftfreq(N)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    return np.exp(-2 * np.pi**2 * sigma**2 * k2).astype(np.float32)


def check_neutral_weights(weights: dict, arch: Architecture) -> None:
    """Raise ``ValueError`` naming every missing, unexpected or mis-shaped neutral weight."""
    modes = weights["probe/real"].shape[0] if "probe/real" in weights else 1
    expected = arch.weight_shapes(modes)
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    wrong = [
        f"{k}: {tuple(np.shape(weights[k]))} != {expected[k]}"
        for k in sorted(set(expected) & set(weights))
        if tuple(np.shape(weights[k])) != expected[k]
    ]
    if missing or extra or wrong:
        raise ValueError(
            "neutral weights do not match the architecture "
            f"(N={arch.N}, gridsize={arch.gridsize}, n_filters_scale={arch.n_filters_scale}, "
            f"object_big={arch.object_big}, probe_big={arch.probe_big}, pad_object={arch.pad_object}): "
            f"missing {missing[:5]}, unexpected {extra[:5]}, wrong shapes {wrong[:5]}"
        )
