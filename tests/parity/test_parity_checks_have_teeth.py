"""The parity checks fail when an engine is wrong (fakes inject the faults), and the report command works."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ptycho.config.config import ModelConfig
from ptycho.parity import config_checks, error_model, model_checks, physics_checks, registry
from ptycho.parity.error_model import physics_tolerance
from ptycho.parity.result import Check, relative_error

pytestmark = pytest.mark.per_pr


class MirroredEngine:
    """The reference physics with the offset sign flipped: the classic cross-engine bug."""

    from ptycho.physics import group as _group

    def split_group(self, canvas, offsets, N, dtype="float32"):
        return self._group.split_group(canvas, -offsets, N)

    def translate(self, images, offsets, dtype="float32"):
        from ptycho.physics import Translation

        return Translation(-offsets).fwd(images)


def test_a_mirrored_offset_fails_the_sign_and_translation_checks():
    error, detail = physics_checks.offset_sign(MirroredEngine(), 64, "float64")
    assert error > 0.1 and "mirrored" in detail
    assert physics_checks.translation(MirroredEngine(), 64, "float64") > 0.1


def _pairs(change):
    """``training_pair`` with ``change(expected, bridged, variant)`` applied to every pair it makes."""
    def make(variant):
        expected, bridged = config_checks.training_pair(variant)
        change(expected, bridged, variant)
        return expected, bridged
    return make


def test_a_changed_legacy_key_is_counted_and_named():
    def change(expected, bridged, variant):
        bridged.mae_weight = 0.75

    error, detail = config_checks.compare(_pairs(change), "non_default")
    assert error == 1 and "mae_weight (0.5 vs 0.75)" in detail


def test_a_field_left_at_its_default_is_flagged_in_the_non_default_pair():
    def change(expected, bridged, variant):
        expected.nepochs = bridged.nepochs = 50  # the default: that field would go untested

    error, detail = config_checks.compare(_pairs(change), "non_default")
    assert error == 1 and "left at the default: nepochs" in detail


def test_a_field_only_one_variant_changes_counts_as_tested_and_none_as_untested():
    assert config_checks.compare(config_checks.training_pair, "non_default")[0] == 0  # object_big: the other one

    def change(expected, bridged, variant):  # the gain variant without its gain: no variant changes it
        expected.model.estimate_gain = bridged.model.estimate_gain = False

    error, detail = config_checks.compare(_pairs(change), "non_default_gain")
    assert error == 1 and "left at the default: model.estimate_gain" in detail


def test_tensor_errors_scale_by_layer():
    expected = {"a/kernel": np.array([100.0, -50.0]), "a/bias": np.array([0.01]), "b/bias": np.array([2.0])}
    actual = {"a/kernel": np.array([100.0, -50.0]), "a/bias": np.array([0.02]), "b/bias": np.array([2.2])}
    errors = model_checks.tensor_errors(actual, expected)
    assert errors == pytest.approx({"a/kernel": 0.0, "a/bias": 1e-4, "b/bias": 0.1})


def test_relative_error_and_a_raising_check_is_a_failed_row():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0 and relative_error([1.0, 2.2], [1.0, 2.0]) == pytest.approx(0.1)

    def broken():
        raise RuntimeError("engine exploded")

    (result,) = registry.run([Check("x/broken", "physics", physics_tolerance(64, "float32"), broken)])
    assert not result.passed and "RuntimeError: engine exploded" in result.detail


def test_the_same_weights_combinations_cover_every_flag():
    combos = list(model_checks.combinations())
    assert len(combos) == 2 * 2 * 2 * 2 * 2 * 4
    assert {(c.N, c.gridsize, c.object_big, c.probe_big, c.pad_object, c.amp_activation) for c in combos}.__len__() == 128
    assert ModelConfig(N=64, gridsize=2, n_filters_scale=1) in [
        ModelConfig(N=c.N, gridsize=c.gridsize, n_filters_scale=1) for c in combos]


@pytest.mark.torch
def test_parity_command_prints_the_table_and_writes_json(tmp_path):
    report = tmp_path / "parity.json"
    result = subprocess.run([sys.executable, "-m", "ptycho.cli.main", "parity", "--group", "config", "--report",
                             str(report)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "config/training/non_default/legacy_dict" in result.stdout and "6/6 parity checks pass" in result.stdout
    records = json.loads(report.read_text())
    assert len(records) == 6  # default and two non-default variants, training and inference
    assert set(records[0]) == {"name", "group", "error", "tolerance", "detail", "seconds", "passed"}
    assert all(r["passed"] and r["error"] == 0 for r in records)


def test_tolerances_come_from_the_rounding_model():
    """ε·√n with n the terms summed: N=64, width 1, one channel sums 2,889 terms in the encoder (9 + 288 +
    288 + 576 + 576 + 1,152) and 2,880 in one decoder (1,152 + 576 + 576 + 288 + 288 for the centre)."""
    mc = ModelConfig(N=64, gridsize=1, n_filters_scale=1)
    assert error_model.forward_terms(mc) == 2889 + 2880
    assert error_model.tolerance(5769) == pytest.approx(4 * np.finfo(np.float32).eps * np.sqrt(5769))
    assert error_model.gradient_terms(mc, 2) == 2 * 5769 + 2 * (2 * 64 * 64)
    assert error_model.physics_tolerance(128, "float64") < 1e-12 < error_model.physics_tolerance(64, "float32")


def test_no_derived_tolerance_lets_a_real_engine_bug_through():
    """A wrong engine is off by 1e-3 or far more (a mirrored offset by 0.1+); every float32 tolerance stays
    an order of magnitude below that, and every float64 one below float32 rounding."""
    for check in physics_checks.checks() + model_checks.checks():
        limit = 1e-7 if "/float64/" in check.name else 1.5e-4
        assert 0 <= check.tolerance <= limit, (check.name, check.tolerance)
