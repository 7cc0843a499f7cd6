"""The harness tests start pytest in subprocesses (pytester): those sessions load only the plugins under test.

Whatever else happens to be installed (hypothesis, pytest-benchmark, a leftover logfire...) would otherwise be
auto-loaded by every subprocess: it doubles their start-up time, and that time differs from one environment to
the next, which made the recorded baselines of these tests depend on the set-up of the machine recording them.
"""

import pytest

# Third-party plugins the plugin under test relies on: pytest-timeout enforces ceilings, xdist runs -n 2.
SUBPROCESS_PLUGINS = "pytest_timeout,xdist.plugin,xdist.looponfail"


@pytest.fixture(autouse=True)
def only_the_plugins_under_test(monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", SUBPROCESS_PLUGINS)
