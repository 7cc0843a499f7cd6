"""The PyTorch engine: physics against the reference, shapes, Lightning checkpoints, archives."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ptycho import params  # noqa: E402
from ptycho.config.config import ModelConfig  # noqa: E402
from ptycho.errors import ArchiveError  # noqa: E402
from ptycho.physics import Translation  # noqa: E402
from ptycho.physics.pipeline import predicted_amplitude  # noqa: E402
from ptycho.probe import normalize_probe  # noqa: E402
from ptycho.simulation import make_probe  # noqa: E402
from ptycho.testing.checkpoints import assert_lightning_checkpoint, assert_model_archive  # noqa: E402
from ptycho_torch import physics as thp  # noqa: E402
from ptycho_torch.lightning_module import PtychoPINN_Lightning  # noqa: E402
from ptycho_torch.model import create_model  # noqa: E402
from ptycho_torch.workflows import components  # noqa: E402

RTOL = 1e-5
RNG = np.random.default_rng(11)
HPARAMS = ("model_config", "data_config", "training_config", "inference_config")


def max_relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def test_translate_matches_reference_float64():
    images = RNG.standard_normal((5, 30, 30)) + 1j * RNG.standard_normal((5, 30, 30))
    offsets = RNG.uniform(-6, 6, (5, 2))
    actual = thp.translate(torch.from_numpy(images), torch.from_numpy(offsets)).numpy()
    assert max_relative_error(actual, Translation(offsets).fwd(images)) <= 1e-12


@pytest.mark.parametrize("N, gridsize, object_big, modes", [(64, 1, True, 1), (64, 2, True, 2), (64, 2, False, 1),
                                                            (128, 2, True, 1)])
def test_forward_path_matches_reference(N, gridsize, object_big, modes):
    probe = normalize_probe(np.stack([make_probe("disk", N)] * modes) * (1 + 0.5j * np.arange(modes))[:, None, None], N)
    model = create_model(ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1, object_big=object_big), probe, 10.0)
    C = gridsize**2
    Cout = C if object_big else 1
    decoded = RNG.uniform(0.2, 1, (2, N, N, Cout)) * np.exp(1j * RNG.uniform(-3, 3, (2, N, N, Cout)))
    offsets = RNG.uniform(-6, 6, (2, 1, 2, C)) * (C > 1)
    with torch.no_grad():
        _, intensity = model.physics(torch.from_numpy(np.moveaxis(decoded, -1, 1).astype(np.complex64)),
                                     torch.from_numpy(offsets.astype(np.float32)))
    actual = np.sqrt(np.moveaxis(intensity.numpy(), 1, -1))
    expected = predicted_amplitude(decoded, offsets, probe.astype(np.complex128), channels=C, object_big=object_big)
    assert max_relative_error(actual, expected) <= RTOL


@pytest.mark.parametrize("N, gridsize", [(64, 1), (64, 2), (128, 1), (128, 2)])
def test_model_shapes(N, gridsize):
    C = gridsize**2
    model = create_model(ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1), normalize_probe(make_probe("disk", N), N), 5.0)
    out = model(torch.ones(2, C, N, N), torch.zeros(2, 1, 2, C))
    assert out["pred_intensity"].shape == (2, C, N, N) and out["object"].shape == (2, C, N, N)
    assert out["trimmed_obj"].shape == (2, C, N // 2, N // 2)
    assert set(model.export_weights()) == set(model.arch.weight_shapes())


def test_loss_decreases_and_history(trained_torch):
    history = trained_torch["results"]["history"]
    assert len(history["train_loss"]) == 3 and len(history["val_loss"]) == 3
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_checkpoint_loads_weights_only_with_four_hparam_dicts(trained_torch):
    last = trained_torch["dir"] / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    assert set(HPARAMS) <= set(ckpt["hyper_parameters"])
    assert all(isinstance(ckpt["hyper_parameters"][k], dict) and ckpt["hyper_parameters"][k] for k in HPARAMS)
    assert ckpt["state_dict"] and "pytorch-lightning_version" in ckpt
    assert_lightning_checkpoint(last, required_hparams=HPARAMS)
    tops = [p for p in (trained_torch["dir"] / "checkpoints").glob("epoch*.ckpt")]
    assert tops, "ModelCheckpoint should keep the best checkpoint besides last.ckpt"


def test_load_from_checkpoint_round_trip_identical_predictions(trained_torch):
    module = trained_torch["results"]["lightning_module"]
    reloaded = PtychoPINN_Lightning.load_from_checkpoint(trained_torch["dir"] / "checkpoints" / "last.ckpt",
                                                         map_location="cpu")
    x = torch.from_numpy(RNG.uniform(0, 5e3, (3, 4, 64, 64)).astype(np.float32))
    off = torch.from_numpy(RNG.uniform(-5, 5, (3, 1, 2, 4)).astype(np.float32))
    module.eval(), reloaded.eval()
    with torch.no_grad():
        a, b = module(x, off), reloaded(x, off)
    for key in ("pred_intensity", "object"):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_archive_checkpoint_is_slim_and_reloads_identically(trained_torch, tmp_path):
    """The archive's model.ckpt drops the optimizer state (resume uses last.ckpt) and still reloads exactly."""
    import zipfile

    with zipfile.ZipFile(trained_torch["archive"]) as archive:
        (tmp_path / "model.ckpt").write_bytes(archive.read("model.ckpt"))
    last = trained_torch["dir"] / "checkpoints" / "last.ckpt"
    slim = torch.load(tmp_path / "model.ckpt", map_location="cpu", weights_only=True)
    assert "optimizer_states" not in slim and "optimizer_states" in torch.load(last, weights_only=True)
    assert (tmp_path / "model.ckpt").stat().st_size < 0.5 * last.stat().st_size
    assert_lightning_checkpoint(tmp_path / "model.ckpt", required_hparams=HPARAMS)
    a = PtychoPINN_Lightning.load_from_checkpoint(last, map_location="cpu").eval()
    b = PtychoPINN_Lightning.load_from_checkpoint(tmp_path / "model.ckpt", map_location="cpu").eval()
    x = torch.from_numpy(RNG.uniform(0, 5e3, (2, 4, 64, 64)).astype(np.float32))
    off = torch.from_numpy(RNG.uniform(-5, 5, (2, 1, 2, 4)).astype(np.float32))
    with torch.no_grad():
        torch.testing.assert_close(a(x, off)["object"], b(x, off)["object"], rtol=0, atol=0)


def test_archive_save_load_predict(trained_torch):
    assert_model_archive(trained_torch["archive"], backend="pytorch")
    data = trained_torch["results"]["test_container"]
    scale = trained_torch["results"]["intensity_scale"]
    before = trained_torch["results"]["diffraction_to_obj"].predict([data.X * scale, data.local_offsets])
    params.reset()
    model, saved = components.load_inference_bundle_torch(trained_torch["dir"])
    assert params.get("intensity_scale") == pytest.approx(scale)
    after = model.predict([data.X * saved["intensity_scale"], data.local_offsets])
    np.testing.assert_array_equal(after, before)


def test_tensorflow_archive_is_refused_naming_both():
    # a genuine TensorFlow archive: a relabelled manifest is refused earlier, by its integrity record
    from pathlib import Path

    tf_archive = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v1" / "tensorflow"
    with pytest.raises(ArchiveError, match="written by the 'tensorflow' backend, but the 'pytorch' backend"):
        components.load_inference_bundle_torch(tf_archive)


def test_run_cdi_example_torch_returns_stitched_object(trained_torch):
    stitched, patches = components.reassemble_cdi_image_torch(
        trained_torch["results"]["test_container"], trained_torch["config"],
        diffraction_to_obj=trained_torch["results"]["diffraction_to_obj"])
    assert stitched.shape == trained_torch["raw"].objectGuess.shape and patches.shape[-1] == 4


@pytest.mark.parametrize("do_stitching", [False, True])
def test_real_run_cdi_example_torch_with_and_without_stitching(torch_tiny_npz, tmp_path, do_stitching):
    """``(None, None, results)`` without stitching, else the stitched amplitude and phase of the test data."""
    from ptycho.config.config import PyTorchExecutionConfig, TrainingConfig
    from ptycho.raw_data import RawData

    params.reset()
    raw = RawData.from_file(torch_tiny_npz)
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=1, n_filters_scale=1), nepochs=1, n_groups=8,
                            batch_size=4, output_dir=tmp_path, backend="pytorch")
    execution = PyTorchExecutionConfig(accelerator="cpu", enable_progress_bar=False, logger_backend="none")
    amplitude, phase, results = components.run_cdi_example_torch(raw, raw, config, do_stitching=do_stitching,
                                                                 execution_config=execution)
    assert results["backend"] == "pytorch" and len(results["history"]["train_loss"]) == 1
    if not do_stitching:
        assert amplitude is None and phase is None and "stitched_obj" not in results
        return
    assert amplitude.shape == phase.shape == raw.objectGuess.shape
    np.testing.assert_array_equal(amplitude, np.abs(results["stitched_obj"]))
    assert params.get("intensity_scale") == results["intensity_scale"]
