"""Fixtures of the client suite: the real ptychodus application driving this project's engines.

The plugin tests need ptychodus and run inside ``.venv-ptychodus`` (test_client_environment.py builds it); the
rest of the time they skip with that reason. The helpers live in ``ptychodus_client.py`` (shared by both plugins' tests).
"""

import os

import pytest
from client_env import INSIDE

PTYCHODUS_MISSING = "ptychodus is not installed: pip install ptychodus==1.7.0 (or run nox -s ptychodus)"


@pytest.fixture(scope="session")
def client():
    """The helper module :mod:`ptychodus_client` (imports ptychodus, so it is imported only when present).
    The plugin tests run inside the client environment only (test_client_environment.py starts them)."""
    if os.environ.get(INSIDE) != "1":
        pytest.skip("runs inside the client environment, started by test_client_environment.py")
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
