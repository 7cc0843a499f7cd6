"""``ptycho parity [--report PATH.json] [--group G ...]``: the two engines' agreement, check by check."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ptycho.cli.options import writable_file


def table(results) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  {'error':>10}  {'tolerance':>9}  result"]
    for r in results:
        lines.append(f"{r.name:<{width}}  {r.error:>10.3g}  {r.tolerance:>9.2g}  {'pass' if r.passed else 'FAIL'}"
                     + (f"  {r.detail}" if r.detail and not r.passed else ""))
    return "\n".join(lines)


def summary(results) -> str:
    by_group: dict[str, list] = {}
    for r in results:
        by_group.setdefault(r.group, []).append(r)
    parts = []
    for group, rs in by_group.items():
        worst = max(rs, key=lambda r: r.error / r.tolerance if r.tolerance else (0 if r.error == 0 else float("inf")))
        parts.append(f"{group}: {sum(r.passed for r in rs)}/{len(rs)} pass, worst {worst.error:.2g} "
                     f"(tolerance {worst.tolerance:.2g}, {worst.name})")
    return "\n".join(parts)


def run(args) -> int:
    from ptycho.atomic import atomic_path
    from ptycho.parity import registry

    if args.report:
        writable_file(args.report, "--report")
    checks = registry.all_checks(tuple(args.group) if args.group else None)
    start = time.perf_counter()

    def progress(i, n, result):
        if not args.quiet_progress and (i % 20 == 0 or i == n or not result.passed):
            print(f"[{i}/{n}] {result.describe()}", file=sys.stderr, flush=True)

    results = registry.run(checks, progress)
    print(table(results))
    print(f"\n{summary(results)}")
    failed = [r for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)}/{len(results)} parity checks pass in {time.perf_counter() - start:.0f} s")
    if args.report:
        with atomic_path(Path(args.report)) as tmp:
            tmp.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        print(f"wrote {args.report}")
    return 1 if failed else 0


def add_parser(sub) -> None:
    from ptycho.parity.registry import GROUPS

    p = sub.add_parser("parity", help="check that the TensorFlow and PyTorch engines compute the same thing")
    p.add_argument("--report", metavar="PATH.json", help="also write the results as a JSON list of records")
    p.add_argument("--group", action="append", choices=GROUPS, help="only this group of checks (repeatable)")
    p.add_argument("--quiet-progress", action="store_true", help="no progress lines on stderr")
    p.set_defaults(run=run)
