"""The ptychopinn regression-harness pytest plugin: tiers, backend requirements, runtime guardrails,
checkpoint validation and reports. Loaded from the root ``conftest.py`` (``pytest_plugins``).

Precedence of every setting: ini, then ``PTYCHO_*`` environment variable, then command-line option, then
(per test) the ``runtime_budget`` marker. State lives only in ``config.stash`` and ``item.stash``.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ptycho.testing import artifacts, budgets, incidents
from ptycho.testing import baselines as baselines_io
from ptycho.testing.calibration import machine_score, scale_factor
from ptycho.testing.environment import machine_description, snapshot
from ptycho.testing.suites import suite_of

# -- constants ---------------------------------------------------------------------------------
TIERS = ("per_pr", "nightly", "weekly")
BACKENDS = {"tf": "tensorflow", "torch": "torch"}
FOLDER_BACKENDS = {"tensorflow_engine": "tf", "pytorch_engine": "torch"}
USER_PROPERTY = "ptycho_runtime"
REPORT_THRESHOLD = 0.10  # list tests that used more than 10% of their ceiling
CEILING_MESSAGE = "runtime ceiling reached: the test was stopped"
INCOMPLETE_MESSAGE = "finished faster than its floor: it probably skipped part of the workflow"
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


# -- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    tier: str | None
    only_tier: str | None
    changed_since: str | None
    changed_paths: tuple[str, ...] | None
    require_backends: tuple[str, ...]
    baselines_path: Path
    record: bool
    calibrate: bool
    strict: bool
    report_path: Path | None
    history_path: Path | None
    validate_checkpoints: bool
    defaults: budgets.Budget
    incidents_dir: Path | None
    keep_artifacts: Path | None


@dataclass
class SessionState:
    settings: Settings
    baselines: baselines_io.Baselines | None
    score: float | None
    factor: float
    tier_counts: dict = field(default_factory=dict)
    promoted: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)
    incidents: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    session_stamp: str = ""


settings_key = pytest.StashKey[Settings]()
state_key = pytest.StashKey[SessionState]()
budget_key = pytest.StashKey[budgets.Budget]()
phase_key = pytest.StashKey[dict]()
skipped_key = pytest.StashKey[bool]()
output_key = pytest.StashKey[str]()


def _choice(value, allowed, where):
    if value is not None and value not in allowed:
        raise pytest.UsageError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _number(value, where):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: {value!r} is not a number of seconds") from None
    if number <= 0:
        raise pytest.UsageError(f"{where}: {value!r} must be > 0")
    return number


def _layer(config, name: str, env: str, option: str, flag: str):
    """(value, where) from ini, then environment, then command line."""
    value, where = config.getini(name), f"ini {name}"
    if os.environ.get(env):
        value, where = os.environ[env], f"environment {env}"
    cli = config.getoption(option)
    if cli not in (None, False):
        value, where = cli, f"option {flag}"
    return value, where


def resolve_settings(config) -> Settings:
    tier, where = _layer(config, "ptycho_tier", "PTYCHO_TIER", "ptycho_tier", "--tier")
    tier = _choice(tier or None, TIERS, where)
    only = _choice(config.getoption("ptycho_only_tier"), TIERS, "option --only-tier")
    if only and config.getoption("ptycho_tier"):
        raise pytest.UsageError("--tier and --only-tier exclude each other; choose one")
    if only:
        tier = None  # --only-tier on the command line overrides a tier from ini or PTYCHO_TIER
    required, where = _layer(
        config, "ptycho_require_backends", "PTYCHO_REQUIRE_BACKENDS", "ptycho_require_backends", "--require-backends"
    )
    required = tuple(b.strip() for b in (required or "").split(",") if b.strip())
    for backend in required:
        _choice(backend, tuple(BACKENDS), where)
    path, _ = _layer(
        config,
        "ptycho_runtime_baselines",
        "PTYCHO_RUNTIME_BASELINES",
        "ptycho_runtime_baselines",
        "--runtime-baselines",
    )
    defaults = budgets.default_budget(
        *(
            _number(config.getini(f"ptycho_runtime_default_{k}"), f"ini ptycho_runtime_default_{k}")
            for k in ("baseline", "warn", "ceiling", "floor")
        )
    )
    changed = config.getoption("ptycho_changed_paths")
    report = config.getoption("ptycho_runtime_report")
    history = config.getoption("ptycho_runtime_history")
    incidents = config.getoption("ptycho_runtime_incidents")
    keep = config.getoption("ptycho_keep_artifacts")
    calibrate = not config.getoption("ptycho_no_calibration") and not os.environ.get("PTYCHO_NO_RUNTIME_CALIBRATION")
    return Settings(
        tier,
        only,
        config.getoption("ptycho_changed_since"),
        tuple(changed) if changed else None,
        required,
        Path(config.rootpath, path),
        bool(config.getoption("ptycho_record")),
        calibrate,
        bool(config.getoption("ptycho_strict_runtime")),
        Path(report) if report else None,
        Path(history) if history else None,
        not config.getoption("ptycho_no_checkpoint_validation"),
        defaults,
        Path(incidents) if incidents else None,
        Path(keep).resolve() if keep else None,
    )


# -- options ------------------------------------------------------------------------------------
def pytest_addoption(parser):
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
        "--strict-runtime",
        dest="ptycho_strict_runtime",
        action="store_true",
        help="fail tests that finish below their floor (incomplete) instead of warning",
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


# -- configure -----------------------------------------------------------------------------------
def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def backend_modules(config) -> dict[str, str]:
    pairs = dict(BACKENDS)
    for entry in config.getini("ptycho_backend_modules").split(","):
        if ":" in entry:
            marker, module = entry.split(":", 1)
            pairs[marker.strip()] = module.strip()
    return pairs


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    settings = resolve_settings(config)
    modules = backend_modules(config)
    missing = [b for b in settings.require_backends if not _importable(modules[b])]
    if missing:
        raise pytest.UsageError(
            f"--require-backends {','.join(settings.require_backends)}: "
            f"{', '.join(modules[b] for b in missing)} cannot be imported; install "
            f"{' and '.join(modules[b] for b in missing)} (./run.sh test sets up everything)"
        )
    try:
        recorded = baselines_io.load(settings.baselines_path)
    except baselines_io.BaselinesError as exc:
        raise pytest.UsageError(str(exc)) from None
    if _is_worker(config):
        score, factor = config.workerinput.get("ptycho_score"), config.workerinput.get("ptycho_factor", 1.0)
        stamp = config.workerinput.get("ptycho_stamp", "")
    else:
        score = machine_score() if settings.calibrate or settings.record else None
        factor = scale_factor(recorded.calibration_score if recorded else None, score) if settings.calibrate else 1.0
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    config.stash[settings_key] = settings
    state = SessionState(settings, recorded, score, factor, session_stamp=stamp)
    state.history = incidents.recent_durations(settings.history_path)
    config.stash[state_key] = state
    config.pluginmanager.register(_Recorder(state, config), "ptycho-runtime-recorder")


def pytest_configure_node(node):  # xdist controller -> worker: one calibration for the whole session
    state = node.config.stash[state_key]
    node.workerinput["ptycho_score"] = state.score
    node.workerinput["ptycho_factor"] = state.factor
    node.workerinput["ptycho_stamp"] = state.session_stamp


# -- collection ----------------------------------------------------------------------------------
def tier_of(item) -> str:
    for tier in ("weekly", "nightly", "per_pr"):
        if item.get_closest_marker(tier):
            return tier
    return "per_pr"


def _changed_paths(settings: Settings, rootpath: Path) -> tuple[str, ...]:
    if settings.changed_paths is not None:
        return settings.changed_paths
    if settings.changed_since is None:
        return ()
    commands = (
        ["git", "diff", "--name-only", f"{settings.changed_since}...HEAD"],
        ["git", "diff", "--name-only", "HEAD"],
    )
    paths = set()
    for cmd in commands:
        result = subprocess.run(cmd, cwd=rootpath, capture_output=True, text=True)
        if result.returncode != 0:
            raise pytest.UsageError(f"--changed-since {settings.changed_since}: git failed: {result.stderr.strip()}")
        paths.update(line for line in result.stdout.splitlines() if line)
    return tuple(sorted(paths))


def _promotion(item, changed: tuple[str, ...]) -> str | None:
    marker = item.get_closest_marker("promote_on")
    if marker is None:
        return None
    for path in changed:
        for pattern in marker.args:
            if fnmatch.fnmatch(path, pattern):
                return f"{path} matches {pattern}"
    return None


def _selected(tier: str, settings: Settings) -> bool:
    if settings.only_tier:
        return tier == settings.only_tier
    if settings.tier:
        return TIERS.index(tier) <= TIERS.index(settings.tier)
    return True


def baseline_id(item) -> str:
    """The node id a baseline is recorded under: pytest-repeat's ``-i-n`` suffix removed."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "__pytest_repeat_step_number" not in callspec.params:
        return item.nodeid
    return re.sub(r"(\[|-)\d+-\d+\]$", lambda m: "]" if m.group(1) == "-" else "", item.nodeid)


def budget_for(item, state: SessionState) -> budgets.Budget:
    marker = item.get_closest_marker("runtime_budget")
    if marker is not None:
        try:
            return budgets.from_marker(marker.kwargs, state.factor)
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
    recorded = state.baselines.get(baseline_id(item)) if state.baselines else None
    if recorded is not None:
        return budgets.from_baseline(recorded, state.factor)
    return state.settings.defaults


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    state = config.stash[state_key]
    settings = state.settings
    changed = _changed_paths(settings, config.rootpath)
    modules = backend_modules(config)
    keep, drop = [], []
    for item in items:
        folder = Path(str(item.path)).parent.name
        if folder in FOLDER_BACKENDS and not item.get_closest_marker(FOLDER_BACKENDS[folder]):
            item.add_marker(FOLDER_BACKENDS[folder])
        tier = tier_of(item)
        state.tier_counts[tier] = state.tier_counts.get(tier, 0) + 1
        selected = _selected(tier, settings)
        if (
            not selected
            and tier == "nightly"
            and changed
            and (settings.tier == "per_pr" or settings.only_tier == "per_pr")
        ):
            reason = _promotion(item, changed)
            if reason:
                state.promoted[item.nodeid] = reason
                selected = True
        (keep if selected else drop).append(item)
        if not selected:
            continue
        for marker, module in modules.items():
            if item.get_closest_marker(marker) and not _importable(module):
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{module} is not installed (marker '{marker}'); install it or run ./run.sh test"
                    )
                )
        budget = budget_for(item, state)
        item.stash[budget_key] = budget
        if not item.get_closest_marker("timeout"):
            # func_only: a shared fixture's set-up is not charged to whichever test happens to run first
            item.add_marker(pytest.mark.timeout(budget.ceiling, func_only=True))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config, start_path, items):
    state = config.stash[state_key]
    s = state.settings
    ran = f"only {s.only_tier}" if s.only_tier else (f"{s.tier} (cumulative)" if s.tier else "all tiers")
    counts = ", ".join(f"{t}={state.tier_counts.get(t, 0)}" for t in TIERS)
    lines = [f"ptycho harness: tier {ran}; collected {counts}; selected {len(items)}"]
    if state.score:
        recorded = state.baselines.calibration_score if state.baselines else None
        lines.append(
            f"ptycho harness: machine score {state.score:.2f} (recorded {recorded or 'n/a'}), "
            f"budget factor {state.factor:.2f}"
        )
    else:
        lines.append("ptycho harness: runtime calibration off (factor 1.00)")
    for nodeid, reason in state.promoted.items():
        lines.append(f"ptycho harness: promoted {nodeid} to this run because {reason}")
    return lines


def pytest_runtest_setup(item):
    if item.get_closest_marker("gpu"):
        try:
            import torch

            has_gpu = torch.cuda.is_available()
        except ImportError:
            has_gpu = False
        if not has_gpu:
            pytest.skip("needs a CUDA device (marker 'gpu'); this machine has none. Run nox -s gpu on a GPU host")


# -- run and verdict -----------------------------------------------------------------------------
def _validate_checkpoints(item) -> str | None:
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if tmp_path is None:
        return None
    paths = sorted(Path(tmp_path).rglob("*.ckpt"))
    if not paths:
        return None
    from ptycho.testing.checkpoints import check_lightning_checkpoint

    problems = [msg for msg in (check_lightning_checkpoint(p) for p in paths) if msg]
    return "checkpoint validation failed:\n" + "\n".join(problems) if problems else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    state = item.config.stash.get(state_key, None)
    budget = item.stash.get(budget_key, None)
    if state is None or budget is None:
        return
    phases = item.stash.setdefault(phase_key, {})
    if report.skipped:
        item.stash[skipped_key] = True
    else:
        phases[call.when] = call.duration
    if call.when == "call":
        item.stash[output_key] = "\n".join(f"--- {name} ---\n{text}" for name, text in report.sections)
    if call.when == "call" and report.passed and state.settings.validate_checkpoints:
        problem = _validate_checkpoints(item)
        if problem:
            report.outcome, report.longrepr = "failed", problem
    if report.failed and "Timeout" in str(report.longrepr) and "pytest-timeout" in str(report.longrepr):
        phases["stopped"] = 0.0  # pytest-timeout fired: the ceiling, whatever the phase sums say
        report.longrepr = (
            f"{CEILING_MESSAGE} at {budget.ceiling:.1f} s (budget from {budget.source}: baseline "
            f"{budget.baseline:.1f} s, warn {budget.warn:.1f} s, factor {budget.factor:.2f}); "
            f"time went: setup {phases.get('setup', 0):.2f} s, call {call.duration:.2f} s "
            f"until stopped\n{report.longrepr}"
        )
    if call.when != "teardown":
        return
    total = phases.get("call", 0.0)  # the budget covers the test itself; set-up/teardown are reported apart
    if "stopped" in phases:
        status = budgets.CEILING
    elif "call" not in phases or item.stash.get(skipped_key, False):
        status = "skipped"  # nothing ran: no verdict on its time
    else:
        status = budgets.verdict(total, budget)
    record = {
        "nodeid": item.nodeid,
        "baseline_id": baseline_id(item),
        "tier": tier_of(item),
        "duration": round(total, 4),
        "phases": {k: round(v, 4) for k, v in phases.items()},
        "status": status,
        "budget": budget.as_dict(),
    }
    if state.settings.keep_artifacts and _keeps_artifacts(item):
        record["artifacts"] = _keep_artifacts(item, state, report)
    report.user_properties.append((USER_PROPERTY, json.dumps(record)))
    if status == budgets.INCOMPLETE and state.settings.strict and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{INCOMPLETE_MESSAGE}: {total:.2f} s < floor {budget.floor:.2f} s "
            f"(baseline {budget.baseline:.2f} s, factor {budget.factor:.2f})"
        )


def _keeps_artifacts(item) -> bool:
    return bool(item.get_closest_marker("keep_artifacts")) or suite_of(item.nodeid) in artifacts.KEPT_SUITES


def _keep_artifacts(item, state: SessionState, report) -> dict:
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    destination = state.settings.keep_artifacts / state.session_stamp / artifacts.folder_name(item.nodeid)
    files = artifacts.keep(item.nodeid, tmp_path, destination, item.stash.get(output_key, ""))
    return {"folder": str(destination), "files": files}


def rerun_options(config, settings: Settings) -> list[str]:
    """The options that shaped this run's behaviour (not its selection), for an incident's rerun command."""
    options = []
    if settings.require_backends:
        options += ["--require-backends", ",".join(settings.require_backends)]
    if config.getoption("ptycho_runtime_baselines") or os.environ.get("PTYCHO_RUNTIME_BASELINES"):
        options += ["--runtime-baselines", str(settings.baselines_path)]
    if not settings.calibrate:
        options.append("--no-runtime-calibration")
    if settings.strict:
        options.append("--strict-runtime")
    if not settings.validate_checkpoints:
        options.append("--no-checkpoint-validation")
    args = list(config.invocation_params.args)
    for i, arg in enumerate(args):  # plugins switched on or off (-p name / -pname)
        if arg == "-p" and i + 1 < len(args):
            options += ["-p", args[i + 1]]
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            options += ["-p", arg[2:]]
    return options


def rerun_environment(item_is_gpu: bool) -> dict[str, str]:
    env = {k: v for k, v in snapshot()["env"].items() if k != "PTYCHO_TIER"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PTYCHO_") and k != "PTYCHO_TIER"})
    if "CUDA_VISIBLE_DEVICES" not in env and not item_is_gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CI machine is CPU-only: reproduce it that way
    return env


def incidents_folder(config, settings: Settings) -> Path:
    if settings.incidents_dir:
        return settings.incidents_dir
    if settings.report_path:
        return settings.report_path.parent / "incidents"
    return Path(config.rootpath, ".pytest_cache", "ptycho-incidents")


class _Recorder:
    """Gathers per-test records from reports; registered per session so its state lives in the stash."""

    def __init__(self, state: SessionState, config):
        self.state = state
        self.config = config

    def pytest_runtest_logreport(self, report):  # runs in the controller under xdist too
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == USER_PROPERTY:
                record = json.loads(value)
                if record["status"] != "skipped":  # a skipped test has no duration worth recording
                    self.state.durations.setdefault(record["baseline_id"], []).append(record["duration"])
                self.state.records[record["nodeid"]] = record
                if record["status"] in budgets.BREACHES:
                    self._write_incident(record, report)

    def _write_incident(self, record: dict, report) -> None:
        state, config = self.state, self.config
        gpu = "gpu" in report.keywords
        command = incidents.rerun_command(
            record["nodeid"], record["tier"], config.rootpath, rerun_options(config, state.settings),
            rerun_environment(gpu),
        )
        text = incidents.render(
            record,
            command=command,
            environment=snapshot(),
            history=state.history.get(record["nodeid"]),
            score=state.score,
            recorded=state.baselines.calibration_score if state.baselines else None,
        )
        state.incidents.append(incidents.write(incidents_folder(config, state.settings), record, text))


# -- summary -------------------------------------------------------------------------------------
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config):
        return
    state = config.stash[state_key]
    records = [r for r in state.records.values() if r["status"] != "skipped"]
    breaches = [r for r in records if r["status"] in budgets.BREACHES]
    heavy = [r for r in records if r["duration"] > REPORT_THRESHOLD * r["budget"]["ceiling"] or r["status"] != "ok"]
    heavy = [
        r
        for r in heavy
        if r["status"] != budgets.UNRECORDED or r["duration"] > REPORT_THRESHOLD * r["budget"]["ceiling"]
    ]
    tr = terminalreporter
    tr.section("ptycho runtime guardrails")
    tr.write_line(f"{len(records)} tests timed, factor {state.factor:.2f}; {len(breaches)} breach(es)")
    if heavy:
        tr.write_line(f"{'status':<11} {'seconds':>8} {'floor':>7} {'base':>7} {'warn':>7} {'ceiling':>8}  test")
        for r in sorted(heavy, key=lambda r: -r["duration"]):
            b = r["budget"]
            label = "investigate" if r["status"] == budgets.WARN else r["status"]
            tr.write_line(
                f"{label:<11} {r['duration']:>8.2f} {b['floor']:>7.2f} {b['baseline']:>7.2f} "
                f"{b['warn']:>7.2f} {b['ceiling']:>8.2f}  {r['nodeid']}"
            )
    env = snapshot() if breaches else None
    if env:
        tr.write_line(f"environment at breach: {json.dumps(env)}")
    for path in state.incidents:
        tr.write_line(f"incident: {path}")
    kept = [{"nodeid": r["nodeid"], "status": r["status"], **r["artifacts"]} for r in state.records.values()
            if "artifacts" in r]
    if kept:
        index = artifacts.write_index(state.settings.keep_artifacts / state.session_stamp, kept)
        tr.write_line(f"kept artifacts of {len(kept)} test(s): {index}")
    if state.settings.report_path:
        _write_json(
            state.settings.report_path,
            {"factor": state.factor, "score": state.score, "tests": records, "environment": env},
        )
        tr.write_line(f"runtime report: {state.settings.report_path}")
    if state.settings.history_path:
        _append_history(state.settings.history_path, records, state)
    if state.settings.record:
        recorded = baselines_io.record(
            state.settings.baselines_path, state.durations, machine_description(), state.score, keep=state.baselines
        )
        tr.write_line(
            f"recorded {len(state.durations)} runtime baselines into {state.settings.baselines_path} "
            f"({len(recorded.tests)} in the file)"
        )


def _write_json(path: Path, payload) -> None:
    from ptycho.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))


def _append_history(path: Path, records: list, state: SessionState) -> None:
    line = {
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "factor": state.factor,
        "tests": {r["nodeid"]: r["duration"] for r in records},
        "median": statistics.median([r["duration"] for r in records]) if records else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(line) + "\n")
