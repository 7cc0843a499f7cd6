"""``ptycho doctor [--smoke] [--json]``: is this machine ready to run ptychopinn and its test tiers?"""

from __future__ import annotations

import json
from pathlib import Path

MARKS = {"ok": "✓", "fail": "✗", "skip": "–"}


def run(args) -> int:
    from ptycho import doctor

    project = Path(args.project).resolve() if args.project else doctor.find_project()
    if not args.json:
        print(f"ptycho doctor: checking {project or 'an installed ptychopinn (no checkout found)'}"
              + (" with smoke runs (about a minute)" if args.smoke else ""), flush=True)
    checks = doctor.run_checks(project, Path(args.baselines) if args.baselines else None, args.smoke)
    if args.json:
        print(json.dumps(doctor.as_json(project, checks), indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            print(f" {MARKS[check.status]} {check.name:<{width}}  {check.detail}")
            if check.fix:
                print(f"   {'':<{width}}  fix: {check.fix}")
        failed = [c.name for c in checks if c.status == "fail"]
        print(f"{len(failed)} problem(s): {', '.join(failed)}" if failed else "ready: every check passed")
    return 1 if any(c.status == "fail" for c in checks) else 0


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="readiness checklist: engines, accelerators, test data, baselines, tiers")
    p.add_argument("--smoke", action="store_true", help="also train, save, load and infer a tiny set per engine")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--project", metavar="DIR", help="the ptychopinn checkout (default: found from the cwd)")
    p.add_argument("--baselines", metavar="PATH", help="runtime baselines file (default: tests/runtime_baselines.json)")
    p.set_defaults(run=run)
