"""docs/design.md names the constant behind every number it states (its last table); this reads both, so a
change to one without the other fails here (issue 26: the design document matches the code)."""

import ast
import importlib
import operator
import re
from pathlib import Path

import pytest

DESIGN = Path(__file__).resolve().parents[2] / "docs" / "design.md"
ROW = re.compile(r"^\|[^|]*\| `(?P<name>ptycho[\w.]+)` \| `(?P<value>[^`]+)` \|$")
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Pow: operator.pow}


def value_of(text: str):
    """A number, a tuple of numbers, or + - * ** between them (``8 * 2**30``): nothing else is evaluated."""

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(walk(e) for e in node.elts)
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"not a number in docs/design.md: {text!r}")

    return walk(ast.parse(text, mode="eval").body)


def rows() -> list[tuple[str, str]]:
    return [(m["name"], m["value"]) for line in DESIGN.read_text().splitlines() if (m := ROW.match(line))]


def test_the_table_lists_the_numbers():
    assert len(rows()) >= 25, "the design document's table of numbers lost its rows (or the row format changed)"


@pytest.mark.parametrize(("name", "text"), rows())
def test_each_number_in_the_design_document_is_the_code_s(name, text):
    module, _, constant = name.rpartition(".")
    actual = getattr(importlib.import_module(module), constant)
    assert actual == pytest.approx(value_of(text)) if isinstance(actual, float) else actual == value_of(text), (
        f"docs/design.md says {name} = {text}, the code holds {actual!r}: change both together"
    )
