"""ptychodus 1.7.0's PtychoPINN plugin (TensorFlow engine) driven headless through its own reconstructor
library: settings registry → reconstructor → export training data → train (its spawned child) → save model →
load the saved model into a fresh reconstructor (each bundle layout it uses) → reconstruct (its spawned child).

The product's object must be the stitched complex object in the scan's frame: read back through ptychodus's
own object geometry, it correlates with the ground truth over the scanned region, and clearly better than
the same region mirrored, transposed or moved by 4 pixels (which shows the check can fail).

Measured (AMD EPYC, 2 cores, this dataset and settings, PINN, 30 epochs): phase correlation 0.99 as placed
against <= 0.08 mirrored or transposed and 0.68 moved by 4 px; SSIM amplitude / phase 0.831 / 0.853 through
ptychodus against 0.827 / 0.851 with ``ptycho infer`` on the same archive (the integration gate's margin is
0.55). At 6 epochs: 0.84 correlation, SSIM 0.34 / 0.11.
"""

import zipfile

import numpy as np
import pytest

pytest.importorskip("ptychodus", reason="runs in .venv-ptychodus, started by test_client_environment.py (nox -s ptychodus)")

from ptycho.testing.checkpoints import assert_model_archive, assert_png_artifact  # noqa: E402

pytestmark = [pytest.mark.weekly, pytest.mark.tf]

PLUGIN = "tensorflow"
EPOCHS = 30  # the integration gate's training budget, so its SSIM margins apply
MODEL = {"GridSize": 1, "NumFiltersScale": 1}  # NumFiltersScale 2 (ptychodus's default) trains 2.5x slower
TRAINING = {"NumEpochs": EPOCHS, "BatchSize": 16}  # NumPhotons stays at ptychodus's 1e6: the data's counts
EXPORTED_KEYS = {"xcoords", "ycoords", "xcoords_start", "ycoords_start", "diff3d", "bad_pixels", "probeGuess",
                 "objectGuess", "scan_index"}
# Frame check thresholds (Pearson correlation over the scanned region; see the module docstring for values).
PHASE = {"PINN": 0.6, "Supervised": 0.35}
AMPLITUDE = {"PINN": 0.2, "Supervised": 0.4}


def configured(client, simulated, mode: str):
    """A fresh ptychodus session's reconstructor, set up for the suite; ``NumSamples`` = every scan point
    (ptychodus's default of 1 reconstructs a single patch)."""
    return client.configured(PLUGIN, mode, {
        "PtychoPINNModel": MODEL,
        "PtychoPINNTraining": TRAINING,
        "PtychoPINNInference": {"NumSamples": len(simulated["xcoords"])},
    })


def export_and_train(client, simulated, mode, tmp_path):
    recon = configured(client, simulated, mode)
    assert recon.is_trainable and recon.get_model_file_extension() == client.PLUGINS[PLUGIN].model_extension
    n = len(simulated["xcoords"])
    train_npz, test_npz = client.export_training_data(
        recon, tmp_path / "input", client.build_reconstruct_input(simulated),
        client.build_reconstruct_input(simulated, np.arange(0, n, 4)))
    with np.load(train_npz) as exported:
        assert set(exported.files) == EXPORTED_KEYS
        assert exported["diff3d"].dtype.kind == "i" and exported["probeGuess"].shape == (1, 64, 64)
    outputs = client.train(recon, tmp_path / "input", tmp_path / "output")
    assert outputs and recon.is_model_loaded()
    return recon


def reconstruct_with(client, simulated, mode, model_path, reconstruct_input):
    fresh = configured(client, simulated, mode)
    assert not fresh.is_model_loaded()
    fresh.load_model_from_file(model_path)
    return fresh, client.reconstruct(fresh, reconstruct_input)


@pytest.mark.runtime_budget(baseline=75, warn=150, ceiling=300, floor=5)  # measured ~75 s (2 cores, 30 epochs + 3 reconstructions)
def test_pinn_train_save_load_reconstruct_in_the_scans_frame(client, simulated, tmp_path):
    trained = export_and_train(client, simulated, "PINN", tmp_path)
    output = tmp_path / "output"
    assert_model_archive(output / "wts.h5.zip", backend="tensorflow")
    assert (output / "history.csv").read_text().count("\n") == EPOCHS + 1
    assert_png_artifact(output / "loss_curve.png")

    # Save: the plugin copies the archive it recorded; a bundle folder is zipped whole (upstream layout).
    trained.save_model(tmp_path / "saved.zip")
    assert (tmp_path / "saved.zip").read_bytes() == (output / "wts.h5.zip").read_bytes()
    from ptychodus.model.ptychopinn.reconstructor import _save_model_bundle

    _save_model_bundle(output, tmp_path / "bundle.zip")
    assert "wts.h5.zip" in zipfile.ZipFile(tmp_path / "bundle.zip").namelist()

    # Reconstruct a scan off the truth's centre, from the object ptychodus would create for it.
    indices = client.off_centre_indices(simulated)
    reconstruct_input = client.build_reconstruct_input(simulated, indices, initial_object="scan")
    layouts = {"training output": output / "wts.h5.zip", "saved zip": tmp_path / "saved.zip",
               "bundle zip": tmp_path / "bundle.zip"}
    objects = {}
    for layout, path in layouts.items():
        fresh, product = reconstruct_with(client, simulated, "PINN", path, reconstruct_input)
        client.check_product(product, reconstruct_input)
        objects[layout] = product.object_.get_array()
        if layout == "training output":
            client.check_frame(simulated, product, indices, PHASE["PINN"], AMPLITUDE["PINN"])
            client.check_scores_like_ptycho_infer(simulated, product, indices, output, "tensorflow",
                                                  client.GATE_SSIM)
        else:  # the same weights give the same object, whichever way they were packed
            np.testing.assert_allclose(objects[layout], objects["training output"], rtol=0, atol=1e-5)
    fresh.save_model(tmp_path / "resaved.zip")  # a model loaded from a zip is saved as that zip
    assert (tmp_path / "resaved.zip").read_bytes() == (tmp_path / "bundle.zip").read_bytes()


@pytest.mark.runtime_budget(baseline=50, warn=120, ceiling=300, floor=5)  # 30 epochs
def test_supervised_trains_on_the_exported_truth_and_reconstructs_in_frame(client, simulated, tmp_path):
    trained = export_and_train(client, simulated, "Supervised", tmp_path)
    trained.save_model(tmp_path / "supervised.zip")
    indices = client.off_centre_indices(simulated)
    reconstruct_input = client.build_reconstruct_input(simulated, indices, initial_object="scan")
    _, product = reconstruct_with(client, simulated, "Supervised", tmp_path / "supervised.zip", reconstruct_input)
    client.check_product(product, reconstruct_input)
    client.check_frame(simulated, product, indices, PHASE["Supervised"], AMPLITUDE["Supervised"])
