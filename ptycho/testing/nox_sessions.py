"""The sessions ``noxfile.py`` declares, read without importing nox: what the CI workflows may call
(``ptycho.testing.workflows``) and what ``ptycho doctor`` reports."""

from __future__ import annotations

import ast
from pathlib import Path


def nox_sessions(noxfile: Path) -> dict[str, set[str]]:
    """Session name -> the string constants in its body (which tier it runs), read without importing nox."""
    sessions = {}
    for node in ast.parse(noxfile.read_text()).body:
        names = [_session_name(d, node.name) for d in getattr(node, "decorator_list", [])]
        nodes = [n for statement in getattr(node, "body", []) for n in ast.walk(statement)]
        for name in filter(None, names):
            sessions[name] = {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return sessions


def _session_name(decorator: ast.expr, function: str) -> str | None:
    """The session a ``@nox.session`` / ``@nox.session(name=...)`` decorator declares, else ``None``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if not (isinstance(target, ast.Attribute) and target.attr == "session"):
        return None
    for keyword in getattr(decorator, "keywords", []):
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return function
