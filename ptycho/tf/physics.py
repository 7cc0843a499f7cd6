"""The physics of docs/design.md §2 in TensorFlow, mirroring :mod:`ptycho.physics` operation for operation.

Images are channels-first inside (``[B, H, W]``, ``[B, C, N, N]``) so FFTs act on the last two axes.
"""

from __future__ import annotations

import math

import tensorflow as tf

from ptycho.physics.forward import NLL_FLOOR
from ptycho.physics.group import WEIGHT_FLOOR
from ptycho.physics.projection import MODULUS_FLOOR


def _shift(images, k, axis: int):
    """``out[b, …, i, …] = images[b, …, i + k_b, …]`` along ``axis`` (1 rows, 2 columns), zero outside."""
    size = tf.shape(images)[axis]
    idx = tf.range(size)[None, :] + k[:, None]
    valid = tf.cast((idx >= 0) & (idx < size), images.dtype)
    picked = tf.gather(images, tf.clip_by_value(idx, 0, size - 1), axis=axis, batch_dims=1)
    return picked * (valid[:, :, None] if axis == 1 else valid[:, None, :])


def _lerp(images, start, axis: int):
    base = tf.floor(start)
    frac = tf.cast(start - base, images.dtype)[:, None, None]
    k = tf.cast(base, tf.int32)
    return (1 - frac) * _shift(images, k, axis) + frac * _shift(images, k + 1, axis)


def translate(images, offsets):
    """Bilinear, zero-filled shift of ``[B, H, W]`` images by ``[B, 2]`` ``(dx, dy)`` offsets."""
    offsets = tf.cast(offsets, tf.float32)
    rows = _lerp(images, -offsets[:, 1], axis=1)
    return _lerp(rows, -offsets[:, 0], axis=2)


def _as_complex(x):
    return tf.complex(x, tf.zeros_like(x))


def merge_group(patches, offsets):
    """``[B, C, N, N]`` complex patches at ``[B, 2, C]`` offsets -> ``[B, 2N, 2N]`` averaged canvas."""
    B, C, N = tf.shape(patches)[0], patches.shape[1], patches.shape[-1]
    pad = N // 2
    flat_offsets = tf.reshape(tf.transpose(offsets, [0, 2, 1]), [-1, 2])
    padded = tf.pad(tf.reshape(patches, [-1, N, N]), [[0, 0], [pad, pad], [pad, pad]])
    total = tf.reduce_sum(tf.reshape(translate(padded, flat_offsets), [B, C, 2 * N, 2 * N]), axis=1)
    ones = tf.pad(tf.ones([B * C, N, N]), [[0, 0], [pad, pad], [pad, pad]])
    weight = tf.reduce_sum(tf.reshape(translate(ones, flat_offsets), [B, C, 2 * N, 2 * N]), axis=1)
    return total / _as_complex(tf.where(weight > WEIGHT_FLOOR, weight, tf.ones_like(weight)))


def split_group(canvas, offsets, N: int):
    """Read ``C`` patches back from ``[B, 2N, 2N]`` canvases: ``[B, C, N, N]``."""
    C = offsets.shape[-1]
    pad = N // 2
    tiled = tf.reshape(tf.repeat(canvas[:, None], C, axis=1), [-1, 2 * N, 2 * N])
    flat_offsets = tf.reshape(tf.transpose(offsets, [0, 2, 1]), [-1, 2])
    moved = translate(tiled, -flat_offsets)[:, pad : pad + N, pad : pad + N]
    return tf.reshape(moved, [-1, C, N, N])


def object_patches(decoded, offsets, channels: int, object_big: bool):
    """``[B, C', N, N]`` decoded patches and ``[B, 1, 2, C]`` offsets -> ``[B, C, N, N]``."""
    if object_big and channels > 1:  # one patch at relative offset 0 is its own overlap: skip the work
        return split_group(merge_group(decoded, offsets[:, 0]), offsets[:, 0], decoded.shape[-1])
    if object_big:
        return decoded
    return tf.repeat(decoded, channels, axis=1)


def illuminate(probe, patches):
    """Exit waves ``P·O``: probe ``[M, N, N]``, patches ``[B, C, N, N]`` -> ``[B, M, C, N, N]``."""
    return probe[None, :, None] * patches[:, None]


def farfield_intensity(probe, patches):
    """``Σ_modes |fftshift(FFT2(P·O))|² / N²``: probe ``[M, N, N]``, patches ``[B, C, N, N]`` -> ``[B, C, N, N]``."""
    N = patches.shape[-1]
    waves = illuminate(probe, patches)
    far = tf.signal.fftshift(tf.signal.fft2d(waves), axes=(-2, -1))
    return tf.reduce_sum(tf.math.real(far * tf.math.conj(far)), axis=1) / float(N * N)


def effective_probe(probe, support=None, transfer=None):
    """Probe ``[M, N, N]`` after the optional support mask and periodic Gaussian smoothing."""
    if support is not None:
        probe = probe * _as_complex(support)
    if transfer is not None:
        probe = tf.signal.ifft2d(tf.signal.fft2d(probe) * _as_complex(transfer))
    return probe


def probe_projections(amplitude, probe, iterations: int, start: float):
    """:func:`ptycho.physics.projection.probe_projections` in float32: amplitude ``[B, C, N, N]``, probe
    ``[M, N, N]`` -> complex estimate ``[B, C, N, N]``."""
    N = amplitude.shape[-1]
    target = tf.signal.ifftshift(amplitude, axes=(-2, -1))[:, None]  # FFT order, a modes axis
    power = tf.reduce_sum(tf.math.real(probe * tf.math.conj(probe)), axis=0)
    step = (tf.math.conj(probe) / _as_complex(tf.reduce_max(power)))[None, :, None]
    obj = _as_complex(tf.fill(tf.shape(amplitude), start))
    for _ in range(iterations):
        waves = illuminate(probe, obj)  # [B, M, C, N, N]
        far = tf.signal.fft2d(waves) / float(N)
        modulus = tf.sqrt(tf.reduce_sum(tf.math.real(far * tf.math.conj(far)), axis=1, keepdims=True))
        projected = far * _as_complex(target / tf.maximum(modulus, MODULUS_FLOOR))
        obj = obj + tf.reduce_sum(step * (tf.signal.ifft2d(projected) * float(N) - waves), axis=1)
    return obj


def poisson_nll(predicted_counts, counts):
    """Mean ``λ − I·log λ`` (no ``log I!`` constant), ``λ ≥ 1e-12``: the same as the NumPy reference."""
    lam = tf.maximum(predicted_counts, NLL_FLOOR)
    return tf.reduce_mean(lam - counts * tf.math.log(lam))


PI = math.pi
