"""Imports run one way (issue 26): the layer order, checked on the import graph of both packages (every
``import``, function-level ones included, read with ``ast``), so the next upward arrow fails CI.

Layers, lowest first: the core (data contract, physics, loader, shard stream, archives…) < the engines
(``ptycho.tf``, ``ptycho_torch`` outside its doors) < ``ptycho.workflows`` < the tools (``ptycho.testing``,
``ptycho.parity``) < ``ptycho.doctor`` < ``ptycho.cli``. Upstream-compatible doors (``ptycho.model_manager``,
``ptycho_torch.api``, ``ptycho_torch.lightning_utils``…, listed in tests/unit/test_entrances.py) sit on top
and may import anything below them.
"""

import ast
from pathlib import Path

import pytest
from test_entrances import ENTRANCES

ROOT = Path(__file__).resolve().parents[2]
DOORS = {p.removesuffix(".py").replace("/", ".") for p in ENTRANCES} | {
    "ptycho_torch.api",  # upstream's PtychoModel/Trainer/InferenceEngine surface (a package of doors)
    "ptycho_torch.lightning_utils",  # upstream name for find_best_checkpoint
}
# importer prefix -> prefixes it must not import (the layers above it)
RULES = {
    "ptycho.testing": ("ptycho.doctor", "ptycho.cli"),
    "ptycho.parity": ("ptycho.doctor", "ptycho.cli"),
    "ptycho.doctor": ("ptycho.cli",),
    "ptycho.workflows": ("ptycho.testing", "ptycho.parity", "ptycho.doctor", "ptycho.cli"),
    "ptycho.tf": ("ptycho.workflows", "ptycho.testing", "ptycho.parity", "ptycho.doctor", "ptycho.cli"),
    "ptycho_torch": ("ptycho_torch.api", "ptycho.testing", "ptycho.parity", "ptycho.doctor", "ptycho.cli"),
}
CORE = ("ptycho.data_contract", "ptycho.npz_reader", "ptycho.raw_data", "ptycho.loader", "ptycho.grouping",
        "ptycho.physics", "ptycho.shard_stream", "ptycho.training_data", "ptycho.archive", "ptycho.simulation",
        "ptycho.solver", "ptycho.metrics", "ptycho.checkpoint_file", "ptycho.config", "ptycho.engines")
for core in CORE:  # the core imports no layer above it
    RULES[core] = ("ptycho.tf", "ptycho_torch", "ptycho.workflows", "ptycho.testing", "ptycho.parity",
                   "ptycho.doctor", "ptycho.cli")


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports() -> dict[str, set[str]]:
    graph = {}
    for package in ("ptycho", "ptycho_torch"):
        for path in (ROOT / package).rglob("*.py"):
            found = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
                elif isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
            graph[module_name(path)] = found
    return graph


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        if any(_under(module, door) for door in DOORS):
            continue
        forbidden = [f for prefix, fs in RULES.items() if _under(module, prefix) for f in fs]
        found += [f"{module} -> {t}" for t in sorted(targets) if any(_under(t, f) for f in forbidden)]
    return found


@pytest.mark.per_pr
def test_imports_run_one_way():
    assert upward_imports(imports()) == []


@pytest.mark.per_pr
def test_the_check_has_teeth():
    """The arrows this issue found (testing -> doctor, an engine module -> ptycho_torch.api, the shard
    stream -> workflows) are caught when planted."""
    graph = imports()
    graph["ptycho.testing.workflows"] = graph["ptycho.testing.workflows"] | {"ptycho.doctor.checkout"}
    graph["ptycho_torch.lightning_module"] = graph["ptycho_torch.lightning_module"] | {"ptycho_torch.api.checkpoints"}
    graph["ptycho.shard_stream"] = graph["ptycho.shard_stream"] | {"ptycho.workflows.common"}
    assert upward_imports(graph) == ["ptycho.shard_stream -> ptycho.workflows.common",
                                     "ptycho.testing.workflows -> ptycho.doctor.checkout",
                                     "ptycho_torch.lightning_module -> ptycho_torch.api.checkpoints"]
