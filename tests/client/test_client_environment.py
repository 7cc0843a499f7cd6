"""The client suite in its own environment: build (or reuse) ``.venv-ptychodus`` — this project's
environment plus ptychodus 1.7.0 (:mod:`client_env`) — and run the plugin tests of this folder there.

Skipped with the reason only when the package index cannot be reached; under ``--require-backends`` (the
README's test command, CI) that is an error instead.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
from client_env import INSIDE, IndexUnreachable, ensure

pytestmark = [pytest.mark.weekly]

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.mark.runtime_budget(baseline=210, warn=400, ceiling=600, floor=10)  # four plugin tests, 30 epochs each
def test_both_ptychodus_plugins_in_the_client_environment(request):
    if os.environ.get(INSIDE) == "1":
        pytest.skip("already inside the client environment")
    try:
        python = ensure(ROOT)
    except IndexUnreachable as exc:
        if request.config.getoption("ptycho_require_backends", None):
            pytest.fail(f"the client environment cannot be built and backends are required: {exc}")
        pytest.skip(f"the client environment cannot be built (no package index?): {exc}")
    env = dict(os.environ, **{INSIDE: "1", "CUDA_VISIBLE_DEVICES": ""})
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--require-backends", "tf,torch",
         str(HERE / "test_ptychodus_tensorflow.py"), str(HERE / "test_ptychodus_torch.py")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    counts = dict((word, int(n)) for n, word in re.findall(r"(?<!\d)(\d+) (passed|failed|skipped|errors?)\b", output))
    assert counts == {"passed": 4}, output[-3000:]  # exactly the four client tests, nothing skipped
