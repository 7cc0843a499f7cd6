"""Nightly parity suite: every declared check of ``ptycho.parity`` (the table ``ptycho parity`` prints),
each as its own test. Promoted into a per-PR run when a change touches an engine or the shared physics."""

import pytest

from ptycho.parity import registry

pytestmark = [
    pytest.mark.nightly,
    pytest.mark.tf,
    pytest.mark.torch,
    pytest.mark.promote_on(
        "ptycho_torch/**", "ptycho/tf/**", "ptycho/parity/**", "ptycho/physics/**", "ptycho/architecture.py",
        "ptycho/params.py", "ptycho/config/**", "ptycho/workflows/**",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def engines_imported():
    """Import both engines in set-up: the first check of each engine must not be charged the import."""
    from ptycho.parity.engines import ENGINES, engine

    for name in ENGINES:
        engine(name)


@pytest.mark.parametrize("check", registry.all_checks(tier="nightly"), ids=lambda check: check.name)
def test_engines_agree(check):
    result = check.run()
    assert result.passed, result.describe()
