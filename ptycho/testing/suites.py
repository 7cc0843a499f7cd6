"""Which component each test suite guards and what a failure there usually means (incidents, doctor, docs)."""

from __future__ import annotations

from pathlib import PurePosixPath

SUITES = {
    "unit": (
        "backend-neutral core (config bridge, data contract, physics reference, grouping, stitching, metrics, CLI)",
        "a convention or contract changed: read the known-answer test that broke",
    ),
    "backend_selection": (
        "dispatcher (POLICY-001 routing, CONFIG-001 ordering)",
        "an engine was imported too early, a fall-back crept in, or a message changed",
    ),
    "integration": (
        "both engines end to end through the CLI; checkpoint persistence",
        "an engine no longer learns, an archive or checkpoint is invalid, or a CLI flag broke",
    ),
    "tensorflow_engine": ("TensorFlow engine", "the Keras model, its physics layers or its persistence changed"),
    "pytorch_engine": (
        "PyTorch engine (model, Lightning wiring, config bridge, resume, DDP)",
        "the torch model, the Lightning wiring or the config bridge changed",
    ),
    "parity": (
        "agreement of the two engines (physics, config bridge, same-weights outputs, gradients, stitching)",
        "one engine changed without the other: compare the two sides of the failing check",
    ),
    "model_manager": (
        "checkpoint persistence across engines (archives, neutral weights, format versions)",
        "the neutral weight names or layouts drifted, or the archive format changed without a version bump",
    ),
    "client": (
        "the ptychodus application driving both engines' plugins headless (export, train, save, load, reconstruct)",
        "a name or call ptychodus makes changed, or the object it places moved: read the child's traceback",
    ),
    "harness": ("the test harness itself (pytester)", "the plugin's tiers, budgets, reports or validators changed"),
}

TIER_COMMANDS = {
    "per_pr": ".venv/bin/nox -s per_pr",
    "nightly": ".venv/bin/nox -s nightly",
    "weekly": ".venv/bin/nox -s weekly",
    "everything": "./run.sh test",
}


def suite_of(nodeid: str) -> str | None:
    """The suite folder of a test id such as ``tests/parity/test_x.py::test_y`` (``None`` outside ``tests/``)."""
    parts = PurePosixPath(nodeid.split("::", 1)[0]).parts
    for name in parts[:-1]:
        if name in SUITES:
            return name
    return None


def component_of(nodeid: str) -> tuple[str, str]:
    """(component guarded, what a failure usually means) for a test id."""
    suite = suite_of(nodeid)
    if suite is None:
        return "not a ptychopinn suite (a test outside tests/)", "read the test's docstring"
    return SUITES[suite]
