"""``ptycho doctor [--smoke] [--json] [--root DIR]``: is this machine ready to run ptychopinn and its test
tiers? The checkout is looked up from ``--root`` (default: the nearest folder upwards from the current one
whose pyproject.toml names ptychopinn), never from where the package is installed."""

from __future__ import annotations

import json
from pathlib import Path

MARKS = {"ok": "✓", "fail": "✗", "skip": "–"}


def _root(args) -> Path | None:
    """``--root`` (a usage error when it is not a folder), else the checkout found from the current folder."""
    from ptycho.doctor import find_root
    from ptycho.errors import ConfigError

    if not args.root:
        return find_root()
    root = Path(args.root).resolve()
    if not root.is_dir():
        raise ConfigError(f"--root {args.root}: not a folder")
    return root


def _header(root: Path | None, smoke: bool) -> str:
    from ptycho.doctor.checkout import NOT_FOUND

    where = f"checking {root}" if root else f"{NOT_FOUND} from {Path.cwd()} upwards; its checks fail (pass --root DIR)"
    return f"ptycho doctor: {where}" + (" with smoke runs (about a minute)" if smoke else "")


def run(args) -> int:
    from ptycho import doctor

    root = _root(args)
    if not args.json:
        print(_header(root, args.smoke), flush=True)
    checks = doctor.run_checks(root, Path(args.baselines) if args.baselines else None, args.smoke, args.expect_gpu)
    if args.json:
        print(json.dumps(doctor.as_json(root, checks), indent=2))
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
    p.add_argument(
        "--root",
        "--project",
        dest="root",
        metavar="DIR",
        help="the ptychopinn checkout (default: the nearest folder upwards whose pyproject.toml names ptychopinn)",
    )
    p.add_argument(
        "--baselines", metavar="PATH", help="runtime baselines file (default: ROOT/tests/runtime_baselines.json)"
    )
    p.add_argument(
        "--expect-gpu",
        action="store_true",
        help="a machine without a CUDA device torch can use fails the Accelerators check (also: PTYCHO_EXPECT_GPU=1)",
    )
    p.set_defaults(run=run)
