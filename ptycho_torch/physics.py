"""The physics of docs/design.md §2 in PyTorch, mirroring :mod:`ptycho.physics` and :mod:`ptycho.tf.physics`.

Channels-first: images ``[B, H, W]``, patches ``[B, C, N, N]``, FFTs over the last two axes.
"""

from __future__ import annotations

import torch

from ptycho.physics.forward import NLL_FLOOR
from ptycho.physics.group import WEIGHT_FLOOR
from ptycho.physics.projection import MODULUS_FLOOR


def _shift(images: torch.Tensor, k: torch.Tensor, dim: int) -> torch.Tensor:
    """``out[b, …, i, …] = images[b, …, i + k_b, …]`` along ``dim`` (1 rows, 2 columns), zero outside."""
    size = images.shape[dim]
    idx = torch.arange(size, device=images.device)[None, :] + k[:, None]
    valid = ((idx >= 0) & (idx < size)).to(images.dtype)
    idx = idx.clamp(0, size - 1)
    if dim == 1:
        picked = torch.gather(images, 1, idx[:, :, None].expand(-1, -1, images.shape[2]))
        return picked * valid[:, :, None]
    picked = torch.gather(images, 2, idx[:, None, :].expand(-1, images.shape[1], -1))
    return picked * valid[:, None, :]


def _lerp(images: torch.Tensor, start: torch.Tensor, dim: int) -> torch.Tensor:
    base = torch.floor(start)
    frac = (start - base).to(images.dtype)[:, None, None]
    k = base.to(torch.long)
    return (1 - frac) * _shift(images, k, dim) + frac * _shift(images, k + 1, dim)


def translate(images: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Bilinear, zero-filled shift of ``[B, H, W]`` images by ``[B, 2]`` ``(dx, dy)`` offsets."""
    offsets = offsets.to(torch.float64 if images.dtype in (torch.float64, torch.complex128) else torch.float32)
    return _lerp(_lerp(images, -offsets[:, 1], 1), -offsets[:, 0], 2)


def merge_group(patches: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``[B, C, N, N]`` complex patches at ``[B, 2, C]`` offsets -> ``[B, 2N, 2N]`` averaged canvas."""
    B, C, N, _ = patches.shape
    pad = N // 2
    flat_offsets = offsets.permute(0, 2, 1).reshape(-1, 2)
    padded = torch.nn.functional.pad(patches.reshape(-1, N, N), (pad, pad, pad, pad))
    total = translate(padded, flat_offsets).reshape(B, C, 2 * N, 2 * N).sum(1)
    real = torch.float64 if patches.dtype == torch.complex128 else torch.float32
    ones = torch.nn.functional.pad(torch.ones(B * C, N, N, dtype=real, device=patches.device), (pad, pad, pad, pad))
    weight = translate(ones, flat_offsets).reshape(B, C, 2 * N, 2 * N).sum(1)
    return total / torch.where(weight > WEIGHT_FLOOR, weight, torch.ones_like(weight))


def split_group(canvas: torch.Tensor, offsets: torch.Tensor, N: int) -> torch.Tensor:
    """Read ``C`` patches back from ``[B, 2N, 2N]`` canvases: ``[B, C, N, N]``."""
    C = offsets.shape[-1]
    pad = N // 2
    tiled = canvas[:, None].expand(-1, C, -1, -1).reshape(-1, 2 * N, 2 * N)
    moved = translate(tiled, -offsets.permute(0, 2, 1).reshape(-1, 2))[:, pad : pad + N, pad : pad + N]
    return moved.reshape(-1, C, N, N)


def object_patches(decoded: torch.Tensor, offsets: torch.Tensor, channels: int, object_big: bool) -> torch.Tensor:
    """``[B, C', N, N]`` decoded patches and ``[B, 1, 2, C]`` offsets -> ``[B, C, N, N]``."""
    if object_big and channels > 1:
        return split_group(merge_group(decoded, offsets[:, 0]), offsets[:, 0], decoded.shape[-1])
    if object_big:
        return decoded  # one patch at relative offset 0: the overlap constraint is the identity
    return decoded.expand(-1, channels, -1, -1)


def illuminate(probe: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """Exit waves ``P·O``: probe ``[M, N, N]``, patches ``[B, C, N, N]`` -> ``[B, M, C, N, N]``."""
    return probe[None, :, None] * patches[:, None]


def farfield_intensity(probe: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """``Σ_modes |fftshift(FFT2(P·O))|² / N²``: probe ``[M, N, N]``, patches ``[B, C, N, N]`` -> ``[B, C, N, N]``."""
    N = patches.shape[-1]
    waves = illuminate(probe, patches)
    far = torch.fft.fftshift(torch.fft.fft2(waves), dim=(-2, -1))
    return (far.real**2 + far.imag**2).sum(1) / float(N * N)


def effective_probe(probe: torch.Tensor, support: torch.Tensor | None, transfer: torch.Tensor | None) -> torch.Tensor:
    if support is not None:
        probe = probe * support
    if transfer is not None:
        probe = torch.fft.ifft2(torch.fft.fft2(probe) * transfer)
    return probe


def probe_projections(amplitude: torch.Tensor, probe: torch.Tensor, iterations: int, start: float) -> torch.Tensor:
    """:func:`ptycho.physics.projection.probe_projections` in float32: amplitude ``[B, C, N, N]``, probe
    ``[M, N, N]`` -> complex estimate ``[B, C, N, N]``."""
    N = amplitude.shape[-1]
    target = torch.fft.ifftshift(amplitude, dim=(-2, -1))[:, None]  # FFT order, a modes axis
    power = (probe.real**2 + probe.imag**2).sum(0)
    step = (probe.conj() / power.max())[None, :, None]
    obj = torch.full_like(amplitude, start).to(probe.dtype)
    for _ in range(iterations):
        waves = illuminate(probe, obj)  # [B, M, C, N, N]
        far = torch.fft.fft2(waves) / N
        modulus = (far.real**2 + far.imag**2).sum(1, keepdim=True).sqrt()
        projected = far * (target / modulus.clamp(min=MODULUS_FLOOR))
        obj = obj + (step * (torch.fft.ifft2(projected) * N - waves)).sum(1)
    return obj


def poisson_nll(predicted_counts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean ``λ − I·log λ`` (no ``log I!`` constant), ``λ ≥ 1e-12``: as the NumPy and TensorFlow versions."""
    lam = torch.clamp(predicted_counts, min=NLL_FLOOR)
    return torch.mean(lam - counts * torch.log(lam))
