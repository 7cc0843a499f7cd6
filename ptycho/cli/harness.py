"""``ptycho harness plot HISTORY``: runtime over sessions per test, from ``--runtime-history`` JSONL."""

from __future__ import annotations

from pathlib import Path

from ptycho.cli.options import positive_int, writable_file
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


def add_parser(sub) -> None:
    p = sub.add_parser("harness", help="regression-harness tools (plot runtime history)")
    inner = p.add_subparsers(dest="harness_command", metavar="TOOL", required=True)
    plot = inner.add_parser("plot", help="draw runtime over time per test as a PNG")
    plot.add_argument("history", help="JSONL written by pytest --runtime-history")
    plot.add_argument("--output", "-o", default="runtime_history.png", help="PNG to write")
    plot.add_argument("--top", type=positive_int, default=10, help="how many of the slowest tests to draw")
    plot.set_defaults(run=run)
