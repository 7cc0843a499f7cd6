"""What the plugin declares to pytest: its command-line options, ini keys and markers (``--help`` and
``--markers`` show them). How they resolve into one :class:`~ptycho.testing.settings.Settings` is in
``settings.py``."""

from __future__ import annotations

from ptycho.testing import budgets

MARKERS = {
    "per_pr": "per-PR tier (the default of an unmarked test): fast gates run on every change",
    "nightly": "nightly tier: slower suites (parity, distributed, resume); run with --tier nightly",
    "weekly": "weekly tier: the slowest suites (cross-backend model manager); run with --tier weekly",
    "tf": "needs TensorFlow; skipped without it unless --require-backends names tf",
    "torch": "needs PyTorch; skipped without it unless --require-backends names torch",
    "gpu": "needs a CUDA device; skipped with a reason on CPU machines (nox -s gpu runs them)",
    "runtime_budget(baseline=None, warn=None, ceiling=None, floor=None)": "this test's runtime budget in seconds",
    "promote_on(*patterns)": "changed paths (fnmatch) that promote this nightly test into a per-PR run",
    "keep_artifacts": "copy this test's tmp_path into --keep-artifacts DIR (integration and model_manager: always)",
}


def add_options(parser) -> None:
    """The ``ptycho`` option group and the ini keys with their defaults."""
    group = parser.getgroup("ptycho", "ptychopinn regression harness")
    group.addoption(
        "--tier",
        dest="ptycho_tier",
        default=None,
        metavar="TIER",
        help="run a tier and the ones below it: per_pr | nightly (+per_pr) | weekly (all)",
    )
    group.addoption("--only-tier", dest="ptycho_only_tier", default=None, metavar="TIER", help="run one tier alone")
    group.addoption(
        "--changed-since",
        dest="ptycho_changed_since",
        default=None,
        metavar="REF",
        help="promote nightly tests whose declared paths changed since git REF into this run",
    )
    group.addoption(
        "--changed-paths",
        dest="ptycho_changed_paths",
        nargs="+",
        default=None,
        metavar="PATH",
        help="like --changed-since, with the changed paths given directly",
    )
    group.addoption(
        "--require-backends",
        dest="ptycho_require_backends",
        default=None,
        metavar="tf,torch",
        help="a missing backend is an error instead of a skip",
    )
    group.addoption(
        "--watchdog-fixture",
        dest="ptycho_watchdog_fixture",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="deadline of a fixture's set-up or a test's teardown, × the calibration factor; past it the "
        "session watchdog writes an incident and ends the run with exit 8 (0: no watchdog)",
    )
    group.addoption(
        "--watchdog-collection",
        dest="ptycho_watchdog_collection",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="deadline of collection, × the calibration factor (session watchdog)",
    )
    group.addoption(
        "--runtime-baselines",
        dest="ptycho_runtime_baselines",
        default=None,
        metavar="PATH",
        help="recorded runtime baselines (JSON)",
    )
    group.addoption(
        "--record-runtime-baselines",
        dest="ptycho_record",
        action="store_true",
        help="write the measured durations (median of repeats) into the baselines file",
    )
    group.addoption(
        "--no-runtime-calibration",
        dest="ptycho_no_calibration",
        action="store_true",
        help="do not scale recorded budgets by this machine's speed",
    )
    group.addoption(
        "--machine-score",
        dest="ptycho_machine_score",
        default=None,
        metavar="SCORE",
        help="use SCORE as this machine's calibration score instead of measuring it (simulates another machine)",
    )
    group.addoption(
        "--strict-runtime",
        dest="ptycho_strict_runtime",
        action="store_true",
        help="CI verdicts: fail tests recorded at >= 5 s that finish below their floor (incomplete); "
        "shorter ones stay flagged",
    )
    group.addoption(
        "--runtime-report",
        dest="ptycho_runtime_report",
        default=None,
        metavar="PATH",
        help="write the per-test runtime report as JSON",
    )
    group.addoption(
        "--runtime-history",
        dest="ptycho_runtime_history",
        default=None,
        metavar="PATH",
        help="append one line per session to a JSONL history (plot: ptycho harness plot)",
    )
    group.addoption(
        "--no-checkpoint-validation",
        dest="ptycho_no_checkpoint_validation",
        action="store_true",
        help="do not validate the .ckpt files tests leave in tmp_path",
    )
    group.addoption(
        "--runtime-incidents",
        dest="ptycho_runtime_incidents",
        default=None,
        metavar="DIR",
        help="folder for one Markdown incident per guardrail breach (default: beside --runtime-report, "
        "else .pytest_cache/ptycho-incidents)",
    )
    group.addoption(
        "--keep-artifacts",
        dest="ptycho_keep_artifacts",
        default=None,
        metavar="DIR",
        help="copy what integration and model-manager tests produced into DIR/<UTC timestamp>/<test>/",
    )
    parser.addini("ptycho_tier", "default tier (empty: every tier)", default="")
    parser.addini("ptycho_require_backends", "backends that must be present (tf,torch)", default="")
    parser.addini("ptycho_runtime_baselines", "runtime baselines file", default="tests/runtime_baselines.json")
    parser.addini("ptycho_machine_score", "this machine's calibration score (empty: measure it)", default="")
    parser.addini(
        "ptycho_backend_modules", "marker:module pairs that provide each backend", default="tf:tensorflow,torch:torch"
    )
    for key, value in (
        ("baseline", budgets.PROFILE_BASELINE),
        ("warn", budgets.PROFILE_WARN),
        ("ceiling", budgets.PROFILE_CEILING),
        ("floor", budgets.PROFILE_FLOOR),
    ):
        parser.addini(f"ptycho_runtime_default_{key}", f"default {key} seconds", default=str(value))


def register_markers(config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
