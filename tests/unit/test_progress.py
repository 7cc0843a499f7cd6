"""Progress lines: the time left is estimated from the epochs this run trained."""

import logging

import pytest

from ptycho import progress

pytestmark = pytest.mark.per_pr


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(("first_epoch", "expected_eta"), [(0, "8s"), (6, "2s")])
def test_eta_counts_only_the_epochs_this_run_trained(monkeypatch, caplog, first_epoch, expected_eta):
    """10 epochs at 1 s each: after the second trained epoch, 8 remain from epoch 0 and 2 from a resume at 6
    (the old rate divided by the epoch number and promised 0.25 s/epoch after a resume at 6)."""
    clock = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    reporter = progress.EpochReporter(10, "pytorch")
    with caplog.at_level(logging.INFO, logger="ptycho.progress"):
        for epoch in (first_epoch, first_epoch + 1):
            clock.now += 1.0
            reporter.epoch_done(epoch, {"loss": 1.0})
    last = caplog.records[-1].getMessage()
    assert f"epoch {first_epoch + 2}/10" in last
    assert "(1.00 s/epoch, ETA " + expected_eta + ")" in last, last


@pytest.mark.parametrize(("seconds", "text"), [(59.4, "59s"), (61, "1m01s"), (3725, "1h02m"), (-3, "0s")])
def test_format_seconds(seconds, text):
    assert progress.format_seconds(seconds) == text


def test_pattern_rate_is_shown_when_known(monkeypatch, caplog):
    clock = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    reporter = progress.EpochReporter(3, "tensorflow", patterns=500)
    with caplog.at_level(logging.INFO, logger="ptycho.progress"):
        clock.now += 2.0
        reporter.epoch_done(0, {"loss": 1.0})
    assert "(250.0 patterns/s, 2.00 s/epoch, ETA 4s)" in caplog.records[-1].getMessage()
