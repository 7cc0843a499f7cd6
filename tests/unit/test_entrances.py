"""The upstream-compatible entrances are labelled as such and stay thin; docs/design.md lists each one."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# entrance module -> the most lines it may grow to (a wrapper that needs more is doing the real path's work)
ENTRANCES = {
    "ptycho/workflows/backend_selector.py": 80,
    "ptycho/workflows/components.py": 80,
    "ptycho_torch/workflows/components.py": 100,
    "ptycho_torch/train.py": 20,
    "ptycho_torch/inference.py": 20,
    "ptycho/model_manager.py": 60,
    "ptycho_torch/model_manager.py": 40,
    "ptycho_torch/api/base_api.py": 260,
}


@pytest.mark.parametrize("module", sorted(ENTRANCES))
def test_an_entrance_says_so_and_names_the_real_path(module):
    source = (ROOT / module).read_text()
    doc = " ".join(ast.get_docstring(ast.parse(source)).split())  # line breaks do not matter
    assert doc.startswith("Upstream-compatible surface:") and "The real path is" in doc, module
    assert len(source.splitlines()) <= ENTRANCES[module], f"{module} is no longer a thin wrapper"


def test_design_lists_every_entrance():
    design = (ROOT / "docs" / "design.md").read_text()
    missing = [m for m in ENTRANCES if f"`{m}`" not in design]
    assert not missing, f"docs/design.md's entrance table lacks {missing}"
