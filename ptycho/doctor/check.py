"""One line of the checklist: what was checked, ok / fail / skip, the detail, and for a failure the fix."""

from __future__ import annotations

from dataclasses import dataclass, field

OK, FAIL, SKIP = "ok", "fail", "skip"
INSTALL_FIX = "run ./run.sh test once (it sets up .venv with both engines), or pip install -c constraints.txt -e .[all]"
NO_ROOT_FIX = "run from the checkout or pass --root DIR"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    data: dict = field(default_factory=dict)
