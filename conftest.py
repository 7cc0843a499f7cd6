"""Root conftest: load the ptychopinn regression-harness plugin (tiers, guardrails, validators)."""

pytest_plugins = ["ptycho.testing.plugin", "pytester"]
