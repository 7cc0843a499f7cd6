"""One line per epoch with the time left: progress feedback shared by both engines."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("ptycho.progress")


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class EpochReporter:
    """Logs ``epoch k/n  loss …  val_loss …  (p patterns/s, t s/epoch, ETA …)`` at INFO level (the pattern
    rate when ``patterns`` per epoch is known). The rate counts the epochs this run trained, so a run
    resumed at epoch k is not credited with the k epochs it did not train."""

    def __init__(self, total_epochs: int, backend: str, patterns: int | None = None):
        self.total, self.backend, self.patterns = total_epochs, backend, patterns
        self.start = time.perf_counter()
        self.first_epoch: int | None = None

    def epoch_done(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch
        elapsed = time.perf_counter() - self.start
        per_epoch = elapsed / (epoch + 1 - self.first_epoch)
        values = "  ".join(f"{k} {v:.6g}" for k, v in metrics.items())
        rate = "" if not self.patterns else f"{self.patterns / per_epoch:.1f} patterns/s, "
        log.info(
            "[%s] epoch %d/%d  %s  (%s%.2f s/epoch, ETA %s)",
            self.backend,
            epoch + 1,
            self.total,
            values,
            rate,
            per_epoch,
            format_seconds(per_epoch * (self.total - epoch - 1)),
        )


class IterationReporter:
    """Logs ``[label] iteration k/n  poisson_nll …  r_factor …  (t s/it, ETA …)`` for iterative solvers."""

    def __init__(self, total: int, label: str):
        self.total, self.label = total, label

    def done(self, iteration: int, row: dict) -> None:
        per_iteration = row["seconds"] / (iteration + 1)
        log.info(
            "[%s] iteration %d/%d  poisson_nll %.6g  r_factor %.4f  (%.2f s/it, ETA %s)",
            self.label,
            iteration + 1,
            self.total,
            row["poisson_nll"],
            row["r_factor"],
            per_iteration,
            format_seconds(per_iteration * (self.total - iteration - 1)),
        )
