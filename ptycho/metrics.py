"""Reconstruction quality against a ground truth, for amplitude and phase.

Before comparing, a reconstruction is registered to the truth (sub-pixel, by cross-correlation),
its amplitude is scaled to the truth's mean (the PINN's amplitude scale is arbitrary), and its phase is
freed of a global offset and a linear ramp (both unobservable in ptychography). SSIM and PSNR take an
explicit data range: that of the truth.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def remove_phase_ramp(phase: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Subtract the least-squares plane ``a + b·x + c·y`` fitted over ``mask``."""
    y, x = np.mgrid[: phase.shape[0], : phase.shape[1]]
    mask = np.ones(phase.shape, bool) if mask is None else mask
    design = np.stack([np.ones(mask.sum()), x[mask], y[mask]], axis=1)
    coef, *_ = np.linalg.lstsq(design, phase[mask], rcond=None)
    return phase - (coef[0] + coef[1] * x + coef[2] * y)


def align_global_phase(recon: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``recon`` times the unit phase factor that best matches ``truth``."""
    return recon * np.exp(-1j * np.angle(np.vdot(truth, recon)))


def register_offset(moving: np.ndarray, reference: np.ndarray, upsample: int = 10) -> np.ndarray:
    """Sub-pixel ``(dy, dx)`` that, applied to ``moving`` with :func:`fourier_shift`, best matches ``reference``.

    Integer peak of the FFT cross-correlation, refined on an ``upsample``-times finer grid by a local DFT.
    """
    F_ref = np.fft.fft2(reference - reference.mean())
    F_mov = np.fft.fft2(moving - moving.mean())
    cross = F_ref * np.conj(F_mov)
    corr = np.abs(np.fft.ifft2(cross))
    peak = np.array(np.unravel_index(np.argmax(corr), corr.shape), dtype=float)
    shape = np.array(corr.shape)
    peak[peak > shape / 2] -= shape[peak > shape / 2]
    # local refinement: the cross-correlation evaluated on a fine grid of shifts around the peak
    fine = np.arange(-1.0, 1.0 + 1e-9, 1.0 / upsample)
    ky = np.fft.fftfreq(shape[0])
    kx = np.fft.fftfreq(shape[1])
    rows = np.exp(2j * np.pi * np.outer(peak[0] + fine, ky))  # (f, H)
    cols = np.exp(2j * np.pi * np.outer(kx, peak[1] + fine))  # (W, f)
    surface = np.abs(rows @ cross @ cols)
    i, j = np.unravel_index(np.argmax(surface), surface.shape)
    best = peak + np.array([fine[i], fine[j]])
    return best


def fourier_shift(image: np.ndarray, shift) -> np.ndarray:
    """``image`` moved by ``(dy, dx)`` pixels (periodic, sub-pixel)."""
    ky = np.fft.fftfreq(image.shape[0])[:, None]
    kx = np.fft.fftfreq(image.shape[1])[None, :]
    ramp = np.exp(-2j * np.pi * (ky * shift[0] + kx * shift[1]))
    out = np.fft.ifft2(np.fft.fft2(image) * ramp)
    return out if np.iscomplexobj(image) else out.real


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


def psnr(test: np.ndarray, truth: np.ndarray, data_range: float) -> float:
    mse = np.mean((test - truth) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(test: np.ndarray, truth: np.ndarray, data_range: float, sigma: float = 1.5) -> float:
    """Mean structural similarity with a Gaussian window (Wang et al. 2004 constants)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    blur = lambda a: ndimage.gaussian_filter(a, sigma, truncate=3.5)  # noqa: E731
    mu_x, mu_y = blur(test), blur(truth)
    sxx = blur(test * test) - mu_x**2
    syy = blur(truth * truth) - mu_y**2
    sxy = blur(test * truth) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(ssim_map.mean())


def frc(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Fourier ring correlation of two square images with the half-bit threshold.

    Returns ``(frequency, curve, threshold, resolution)``; frequencies in cycles/pixel (0 … 0.5) and the
    resolution is the first frequency where the curve falls below the threshold (0.5 if never).
    """
    if a.shape != b.shape or a.shape[0] != a.shape[1]:
        raise ValueError(f"FRC needs two square images of one shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    Fa, Fb = np.fft.fftshift(np.fft.fft2(a)), np.fft.fftshift(np.fft.fft2(b))
    y, x = np.indices(a.shape) - n // 2
    rings = np.hypot(x, y).astype(int).ravel()
    nrings = n // 2
    keep = rings < nrings
    num = np.bincount(rings[keep], (Fa * np.conj(Fb)).ravel()[keep].real, nrings)
    den = np.sqrt(
        np.bincount(rings[keep], (np.abs(Fa) ** 2).ravel()[keep], nrings)
        * np.bincount(rings[keep], (np.abs(Fb) ** 2).ravel()[keep], nrings)
    )
    curve = num / np.where(den > 0, den, 1)
    npix = np.maximum(np.bincount(rings[keep], minlength=nrings), 1)
    threshold = (0.2071 + 1.9102 / np.sqrt(npix)) / (1.2071 + 0.9102 / np.sqrt(npix))
    freq = np.arange(nrings) / n
    below = np.nonzero(curve[1:] < threshold[1:])[0]
    resolution = float(freq[below[0] + 1]) if below.size else 0.5
    return freq, curve, threshold, resolution


def _square_crop(image: np.ndarray) -> np.ndarray:
    n = min(image.shape)
    r0, c0 = (image.shape[0] - n) // 2, (image.shape[1] - n) // 2
    return image[r0 : r0 + n, c0 : c0 + n]


def compare(recon: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None, register: bool = True) -> dict:
    """MAE, PSNR, SSIM and FRC resolution of amplitude and phase over ``mask`` (a rectangular region).

    ``recon`` and ``truth`` are complex images of one shape; ``mask`` (default: all) marks the pixels the
    scan covered; its bounding box is compared.
    """
    if recon.shape != truth.shape:
        raise ValueError(f"reconstruction {recon.shape} and ground truth {truth.shape} must have one shape")
    mask = np.ones(truth.shape, bool) if mask is None else mask
    rows, cols = np.nonzero(mask)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    recon, truth = np.asarray(recon, complex)[box], np.asarray(truth, complex)[box]
    if register:
        shift = register_offset(np.abs(recon), np.abs(truth))
        recon = fourier_shift(recon, shift)
    else:
        shift = np.zeros(2)
    recon = align_global_phase(recon, truth)
    amp_t, amp_r = np.abs(truth), np.abs(recon)
    amp_r = amp_r * (amp_t.mean() / max(amp_r.mean(), 1e-12))
    phase_t = remove_phase_ramp(np.angle(truth))
    phase_r = remove_phase_ramp(np.angle(recon))
    result = {"registration_shift": [float(s) for s in shift]}
    for name, test, ref in (("amplitude", amp_r, amp_t), ("phase", phase_r, phase_t)):
        data_range = float(ref.max() - ref.min()) or 1.0
        *_, resolution = frc(_square_crop(test), _square_crop(ref))
        result[name] = {
            "mae": mae(test, ref),
            "psnr": psnr(test, ref, data_range),
            "ssim": ssim(test, ref, data_range),
            "frc_resolution": resolution,
            "data_range": data_range,
        }
    return result
