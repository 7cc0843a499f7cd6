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


def test_pytorch_inference_never_imports_lightning():
    """Lightning (2.5 s of imports) is for training; loading an archive and predicting needs torch alone."""
    pytest.importorskip("torch")
    archive = __import__("pathlib").Path(__file__).parents[1] / "fixtures" / "archives" / "v1" / "pytorch"
    code = ("import sys, numpy as np; from ptycho.workflows.models import load_predictor; "
            f"model, saved = load_predictor({str(archive)!r}, 'pytorch'); N = saved['N']; "
            "model.predict([np.ones((2, N, N, saved['gridsize'] ** 2), np.float32), "
            "np.zeros((2, 1, 2, saved['gridsize'] ** 2), np.float32)]); print('lightning' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
