"""Model-ready containers of grouped data (upstream ``ptycho.loader`` API). NumPy only: engines convert."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ptycho.physics import mean_photons


@dataclass
class PtychoDataContainer:
    """Arrays for training or inference, in the upstream names.

    ``X`` normalised amplitudes ``(n, N, N, C)`` float32 (mean pattern power ``(N/2)²``); ``Y_I``/``Y_phi``
    ground-truth amplitude/phase patches or ``None``; ``local_offsets`` ``(n, 1, 2, C)``; ``global_offsets``
    ``(n, 1, 2, 1)``; ``probe`` ``(N, N)`` or ``(modes, N, N)`` complex64; ``nphotons`` the measured mean
    total counts per pattern of the raw amplitudes.
    """

    X: np.ndarray
    Y_I: np.ndarray | None
    Y_phi: np.ndarray | None
    local_offsets: np.ndarray
    global_offsets: np.ndarray
    probe: np.ndarray
    nn_indices: np.ndarray
    nphotons: float
    objectGuess: np.ndarray | None = None

    @property
    def Y(self) -> np.ndarray | None:
        if self.Y_I is None:
            return None
        return (self.Y_I * np.exp(1j * self.Y_phi)).astype(np.complex64)

    def __len__(self) -> int:
        return len(self.X)

    @property
    def positions(self) -> np.ndarray:
        """``(n·C, 2)`` absolute ``(x, y)`` centre of every patch, channel-major within a group."""
        absolute = self.global_offsets + self.local_offsets  # (n, 1, 2, C)
        return np.moveaxis(absolute[:, 0], 1, -1).reshape(-1, 2)


def _patterns(grouped: np.ndarray) -> np.ndarray:
    """``(n, N, N, C)`` -> ``(n·C, N, N)``."""
    N = grouped.shape[1]
    return np.moveaxis(grouped, -1, 1).reshape(-1, N, N)


def _split(dset: dict, fraction: float, which: str) -> dict:
    n = len(dset["X_full"])
    cut = int(round(n * fraction))
    part = slice(0, cut) if which == "train" else slice(cut, n)
    return {
        k: (v[part] if isinstance(v, np.ndarray) and k != "objectGuess" and len(v) == n else v) for k, v in dset.items()
    }


def load(cb, probeGuess, which: str | None = None, create_split: bool = False) -> PtychoDataContainer:
    """Container from ``cb()``, a callable returning :meth:`RawData.generate_grouped_data`'s dict.

    With ``create_split=True``, ``cb()`` returns ``(dset, train_fraction)`` and ``which`` picks the part.
    """
    if create_split:
        if which not in ("train", "test"):
            raise ValueError(f"which={which!r}: with create_split=True choose 'train' or 'test'")
        dset, fraction = cb()
        dset = _split(dset, fraction, which)
    else:
        dset = cb()
    Y = dset.get("Y")
    return PtychoDataContainer(
        X=np.asarray(dset["X_full"], dtype=np.float32),
        Y_I=None if Y is None else np.abs(Y).astype(np.float32),
        Y_phi=None if Y is None else np.angle(Y).astype(np.float32),
        local_offsets=np.asarray(dset["coords_relative"], dtype=np.float32),
        global_offsets=np.asarray(dset["coords_offsets"], dtype=np.float32),
        probe=np.asarray(probeGuess, dtype=np.complex64),
        nn_indices=dset["nn_indices"],
        nphotons=mean_photons(_patterns(dset["diffraction"])),
        objectGuess=dset.get("objectGuess"),
    )


def group_scan(data, config) -> PtychoDataContainer:
    """One scan (``RawData``) grouped per ``config`` (subsample, ``n_groups`` groups of ``gridsize²``
    neighbours, a reproducible seed), normalised into a container."""
    from ptycho.errors import DataContractError

    if data.probeGuess is None:
        raise DataContractError(f"{data.dataset.source}: no 'probeGuess'; the PINN needs a probe guess in the NPZ")
    seed = 0 if config.subsample_seed is None else config.subsample_seed  # reproducible unless asked otherwise
    if config.n_subsample is not None and config.n_subsample < len(data):
        rng = np.random.default_rng(seed)
        data = data.subset(np.sort(rng.choice(len(data), config.n_subsample, replace=False)))
    n_groups = config.n_groups if config.n_groups is not None else len(data)
    grouped = data.generate_grouped_data(
        config.model.N,
        K=config.neighbor_count,
        nsamples=n_groups,
        seed=seed,
        sequential_sampling=getattr(config, "sequential_sampling", False),
        gridsize=config.model.gridsize,
    )
    return load(lambda: grouped, data.probeGuess)


def concatenate(containers: list[PtychoDataContainer]) -> PtychoDataContainer:
    """One container of several scans' groups (each scan grouped and normalised on its own), for training.

    The scans must share one probe (a corpus does); ``nphotons`` is their median, the photon scale the
    training starts from; there is no single ``objectGuess`` (each group keeps its ``Y`` patches).
    """
    if len(containers) == 1:
        return containers[0]
    first = containers[0]
    for other in containers[1:]:
        if other.probe.shape != first.probe.shape or not np.allclose(other.probe, first.probe, atol=1e-6):
            raise ValueError("scans trained together must share one probe; this corpus mixes probes")
    has_y = all(c.Y_I is not None for c in containers)
    offsets = np.cumsum([0] + [int(c.nn_indices.max()) + 1 for c in containers[:-1]])
    return PtychoDataContainer(
        X=np.concatenate([c.X for c in containers]),
        Y_I=np.concatenate([c.Y_I for c in containers]) if has_y else None,
        Y_phi=np.concatenate([c.Y_phi for c in containers]) if has_y else None,
        local_offsets=np.concatenate([c.local_offsets for c in containers]),
        global_offsets=np.concatenate([c.global_offsets for c in containers]),
        probe=first.probe,
        nn_indices=np.concatenate([c.nn_indices + o for c, o in zip(containers, offsets, strict=True)]),
        nphotons=float(np.median([c.nphotons for c in containers])),
    )
