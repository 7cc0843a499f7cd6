"""``ptycho harness plot HISTORY``: runtime over sessions per test, from ``--runtime-history`` JSONL;
``ptycho harness trend HISTORY``: which tests became slower (or faster), by a rank test over that history."""

from __future__ import annotations

from pathlib import Path

from ptycho.cli.options import positive_float, positive_int, writable_file
from ptycho.testing.history import load_history


def run(args) -> int:
    from ptycho.plotting import pyplot, save_figure

    writable_file(args.output, "--output")
    sessions = load_history(Path(args.history))
    if not sessions:
        raise ValueError(f"{args.history} holds no sessions yet")
    totals: dict[str, float] = {}
    for session in sessions:
        for nodeid, seconds in session["tests"].items():
            totals[nodeid] = max(totals.get(nodeid, 0.0), seconds)
    slowest = sorted(totals, key=totals.get, reverse=True)[: args.top]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 6), layout="constrained")
    for nodeid in slowest:
        xs = [i for i, s in enumerate(sessions) if nodeid in s["tests"]]
        ax.plot(xs, [sessions[i]["tests"][nodeid] for i in xs], marker="o", label=nodeid.split("::", 1)[-1][:60])
    ax.set_xlabel("session (oldest first)")
    ax.set_ylabel("seconds")
    ax.set_title(f"runtime of the {len(slowest)} slowest tests over {len(sessions)} sessions")
    ax.legend(fontsize=7, loc="upper left")
    out = save_figure(fig, args.output)
    print(f"wrote {out}")
    return 0


def run_trend(args) -> int:
    from ptycho.testing.trend import report

    lines, slower = report(load_history(Path(args.history)), args.recent, args.alpha, 1 + args.min_change)
    print("\n".join(lines))
    return 1 if slower else 0


def add_parser(sub) -> None:
    p = sub.add_parser("harness", help="regression-harness tools (plot runtime history, judge its trend)")
    inner = p.add_subparsers(dest="harness_command", metavar="TOOL", required=True)
    plot = inner.add_parser("plot", help="draw runtime over time per test as a PNG")
    plot.add_argument("history", help="JSONL written by pytest --runtime-history")
    plot.add_argument("--output", "-o", default="runtime_history.png", help="PNG to write")
    plot.add_argument("--top", type=positive_int, default=10, help="how many of the slowest tests to draw")
    plot.set_defaults(run=run)
    trend = inner.add_parser("trend", help="tests that became slower: exit 1 when one did",
                             description="Judge each test's last runs against its earlier ones (one-sided "
                             "Mann-Whitney U on calibrated durations); print 'slower since <run>' with the "
                             "median change; exit 1 when a test became slower.")
    trend.add_argument("history", help="JSONL written by pytest --runtime-history")
    trend.add_argument("--recent", type=positive_int, default=5, help="runs judged against the earlier ones")
    trend.add_argument("--alpha", type=positive_float, default=0.01, help="significance level")
    trend.add_argument("--min-change", type=positive_float, default=0.10,
                       help="smallest relative change of the median worth reporting")
    trend.set_defaults(run=run_trend)
