"""The ptychopinn regression-harness pytest plugin, loaded from the root ``conftest.py``
(``pytest_plugins``). This module only wires pytest's hooks; each step lives in its own module:

- ``options`` / ``settings``: what the plugin declares, and how ini < ``PTYCHO_*`` < command line resolve
- ``session``: the session's state (baselines, calibration), shared with xdist workers
- ``tiers`` / ``backends``: which tests run, which skip for a missing backend or GPU
- ``verdicts`` / ``budgets``: each test's budget, ceiling and runtime verdict
- ``checkpoints`` / ``artifacts`` / ``fixture_folders``: validate the checkpoints a test left in
  ``tmp_path`` or a fixture in its ``tmp_path_factory`` folders; keep what a test left
- ``recorder`` / ``incidents`` / ``rerun``: gather each record, file an incident per breach
- ``reports`` / ``history`` / ``trend``: the header, the closing summary, the files the session writes
- ``watchdog``: a deadline for every phase (collection, fixtures, teardown, call), hangs in C code included
"""

from __future__ import annotations

import pytest

from ptycho.testing import (
    artifacts,
    backends,
    checkpoints,
    fixture_folders,
    options,
    reports,
    session,
    tiers,
    verdicts,
    watchdog,
)
from ptycho.testing.recorder import Recorder
from ptycho.testing.session import is_worker, state_key
from ptycho.testing.settings import resolve_settings


def pytest_addoption(parser):
    options.add_options(parser)


def pytest_configure(config):
    options.register_markers(config)
    settings = resolve_settings(config)
    backends.require(settings.require_backends, backends.backend_modules(config))
    state = session.start(config, settings)
    config.pluginmanager.register(Recorder(state, config), "ptycho-runtime-recorder")
    watchdog.start(config, state)


def pytest_configure_node(node):  # xdist controller -> worker: one calibration for the whole session
    session.hand_to_worker(node)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):  # no `session` argument: the module has that name
    state = config.stash[session.state_key]
    backends.mark_by_folder(items)
    keep, drop = tiers.select(items, state.settings, config.rootpath, state.tier_counts, state.promoted)
    backends.skip_missing(keep, backends.backend_modules(config))
    verdicts.assign_budgets(keep, state)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config, start_path, items):
    return reports.header(config.stash[session.state_key], len(items))


def pytest_sessionstart(session):  # after pytest's own configure made the tmp_path_factory
    fixture_folders.watch(session.config)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A fixture that left an invalid checkpoint in a folder it made errors every test that uses it."""
    config = request.config
    before = len(fixture_folders.made_so_far(config))
    result = yield
    state = config.stash.get(session.state_key, None)
    validating = state is not None and state.settings.validate_checkpoints
    if validating and fixturedef.argname not in fixture_folders.TEST_FOLDERS:
        problem = fixture_folders.problems_in(fixture_folders.made_so_far(config)[before:])
        if problem:
            pytest.fail(f"fixture {fixturedef.argname!r} left an invalid checkpoint:\n{problem}", pytrace=False)
    return result


def pytest_runtest_setup(item):
    backends.skip_without_gpu(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    state = item.config.stash.get(session.state_key, None)
    if state is None or session.budget_key not in item.stash:
        return
    verdicts.observe(item, call, report)
    if call.when == "call" and report.passed and state.settings.validate_checkpoints:
        problem = checkpoints.check_checkpoints_under(artifacts.tmp_path_of(item))
        if problem:
            report.outcome, report.longrepr = "failed", problem
    verdicts.explain_ceiling(item, call, report)
    if call.when == "teardown":
        record = verdicts.record(item)
        if state.settings.keep_artifacts and artifacts.wanted(item):
            kept_in = state.settings.keep_artifacts / state.session_stamp
            record["artifacts"] = artifacts.keep_item(item, kept_in, item.stash.get(session.output_key, ""))
        verdicts.publish(report, record)


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    state = config.stash.get(state_key, None)
    if state is not None and state.settings.strict and not is_worker(config):
        reports.judge_strict(session, state)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not session.is_worker(config):
        reports.summary(terminalreporter, config.stash[session.state_key])
