"""Choosing one engine never imports the other (checked with sys.modules in a fresh interpreter)."""

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("backend, module, forbidden", [
    ("tensorflow", "ptycho.tf.model", "torch"),
    ("pytorch", "ptycho_torch.workflows.components", "tensorflow"),
])
def test_engine_import_does_not_pull_the_other(backend, module, forbidden):
    pytest.importorskip("tensorflow" if backend == "tensorflow" else "torch")
    code = ("import sys, json; from ptycho.engines import get_engine; "
            f"get_engine({backend!r}); import {module}; print(json.dumps([m for m in ('tensorflow', 'torch', 'keras', 'lightning') "
            "if m in sys.modules]))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert forbidden not in loaded and (backend == "tensorflow") == ("tensorflow" in loaded)
