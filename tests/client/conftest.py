"""Fixtures of the client suite: the real ptychodus application driving this project's engines.

Every test here needs ptychodus (``pip install ptychodus==1.7.0``, or ``nox -s client``); without it the
suite is skipped with that remedy. The helpers live in ``ptychodus_client.py`` (shared by both plugins' tests).
"""

import pytest

PTYCHODUS_MISSING = "ptychodus is not installed: pip install ptychodus==1.7.0 (or run nox -s client)"


@pytest.fixture(scope="session")
def client():
    """The helper module :mod:`ptychodus_client` (imports ptychodus, so it is imported only when present)."""
    pytest.importorskip("ptychodus", reason=PTYCHODUS_MISSING)
    import ptychodus_client

    return ptychodus_client


@pytest.fixture(scope="session")
def simulated(client):
    """The arrays of the suite's simulated dataset (``ptychodus_client.SPEC``): 256 patterns of 64×64 integer
    counts, a ``(64, 64)`` probe and the 192×192 ground truth."""
    return client.simulated_arrays()


@pytest.fixture(autouse=True)
def cpu_only_children(monkeypatch):
    """ptychodus spawns a child per train/reconstruct call; the children inherit this environment (CPU)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
