"""The TensorFlow engine end to end: shapes, training, archives, the ptychodus call sequence."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from ptycho import model_manager, params  # noqa: E402
from ptycho.archive import read_archive  # noqa: E402
from ptycho.config.config import ModelConfig, TrainingConfig  # noqa: E402
from ptycho.errors import ArchiveError  # noqa: E402
from ptycho.probe import normalize_probe  # noqa: E402
from ptycho.simulation import make_probe  # noqa: E402
from ptycho.tf.model import create_model  # noqa: E402
from ptycho.workflows import components  # noqa: E402


def test_factory_builds_right_shapes_one_after_another():
    for N, gridsize in ((64, 1), (128, 2), (64, 2), (128, 1)):
        C = gridsize**2
        model = create_model(ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1),
                             normalize_probe(make_probe("disk", N), N), 50.0)
        out = model([np.ones((2, N, N, C), np.float32), np.zeros((2, 1, 2, C), np.float32)])
        assert out["pred_intensity"].shape == (2, N, N, C)
        assert out["pred_amp_scaled"].shape == (2, N, N, C)
        assert out["trimmed_obj"].shape == (2, N // 2, N // 2, C)
        assert out["object"].shape == (2, N, N, C)
        assert set(model.export_weights()) == set(model.arch.weight_shapes())


def test_loss_decreases(trained_tf):
    history = trained_tf["results"]["history"]
    assert len(history["train_loss"]) == 3 and history["train_loss"][-1] < history["train_loss"][0]
    assert len(history["val_loss"]) == 3


def test_archive_contents(trained_tf):
    archive = read_archive(trained_tf["dir"])
    assert archive.backend == "tensorflow" and archive.manifest["format_version"] == 1
    assert set(archive.members) == {"manifest.json", "params.json", "neutral_weights.npz", "model.weights.h5"}
    assert archive.params["gridsize"] == 2 and archive.params["intensity_scale"] > 0
    assert "probe" not in archive.params  # arrays travel as weights, never as JSON or pickle


def test_save_load_predict_identical(trained_tf):
    data = trained_tf["results"]["test_container"]
    scale = trained_tf["results"]["intensity_scale"]
    before = trained_tf["results"]["diffraction_to_obj"].predict([data.X * scale, data.local_offsets])
    params.reset()
    model, saved = components.load_inference_bundle(trained_tf["dir"])
    assert params.get("intensity_scale") == pytest.approx(scale)
    after = model.predict([data.X * saved["intensity_scale"], data.local_offsets])
    np.testing.assert_array_equal(after, before)


def test_extracted_folder_loads_too(trained_tf, tmp_path):
    with zipfile.ZipFile(trained_tf["archive"]) as zf:
        zf.extractall(tmp_path)
    model, saved = components.load_inference_bundle(tmp_path)
    assert saved["gridsize"] == 2


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
        for name, data in change(members).items():
            zout.writestr(name, data)
    return dst


def test_tampered_checksum_is_refused(trained_tf, tmp_path):
    def tamper(m):
        m["params.json"] = m["params.json"].replace(b'"gridsize": 2', b'"gridsize": 1')
        return m
    bad = _rewrite(trained_tf["archive"], tmp_path / "wts.h5.zip", tamper)
    before = bad.read_bytes()
    with pytest.raises(ArchiveError, match="checksum mismatch for params.json"):
        components.load_inference_bundle(tmp_path)
    assert bad.read_bytes() == before


def test_path_traversal_member_is_refused(trained_tf, tmp_path):
    bad = _rewrite(trained_tf["archive"], tmp_path / "wts.h5.zip", lambda m: {**m, "../evil.txt": b"x"})
    with pytest.raises(ArchiveError, match=r"refused unsafe member path '../evil.txt'"):
        read_archive(bad)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_pickle_member_is_refused(trained_tf, tmp_path):
    import pickle

    bad = _rewrite(trained_tf["archive"], tmp_path / "wts.h5.zip", lambda m: {**m, "model.pkl": pickle.dumps(1)})
    with pytest.raises(ArchiveError, match="refused member 'model.pkl': pickle-based files are never loaded"):
        read_archive(bad)


def test_truncated_archive_is_refused(trained_tf, tmp_path):
    bad = tmp_path / "wts.h5.zip"
    bad.write_bytes(trained_tf["archive"].read_bytes()[:500])
    with pytest.raises(ArchiveError, match="not a readable zip archive .* truncated"):
        read_archive(bad)


def test_pytorch_archive_is_refused_naming_both_backends():
    # a genuine PyTorch archive: a relabelled manifest is refused earlier, by its integrity record
    torch_archive = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v1" / "pytorch"
    with pytest.raises(ArchiveError, match=r"written by the 'pytorch' backend, but the 'tensorflow' backend was "
                                           r"selected"):
        components.load_inference_bundle(torch_archive)


def test_run_cdi_example_stitches(trained_tf):
    raw = trained_tf["raw"]
    stitched, patches = components.reassemble_cdi_image(
        trained_tf["results"]["test_container"], trained_tf["config"], M=20,
        diffraction_to_obj=trained_tf["results"]["diffraction_to_obj"])
    assert stitched.shape == raw.objectGuess.shape and patches.shape[-1] == 4
    assert np.count_nonzero(stitched) > 0.3 * stitched.size


def test_ptychodus_call_sequence(tiny_npz, tmp_path):
    """The exact calls the ptychodus TF plugin makes: N set late, integer counts as diff3d, 3-D probe."""
    from ptycho.data_contract import read_npz
    from ptycho.probe import set_probe_guess
    from ptycho.raw_data import RawData
    from ptycho.tf_helper import reassemble_position

    params.reset()
    model_config = ModelConfig(N=0, gridsize=1, n_filters_scale=1)
    config = TrainingConfig(model=model_config, nepochs=1, n_groups=8, batch_size=4)
    ds = read_npz(tiny_npz)
    counts = np.round(ds.diffraction.astype(np.float64) ** 2).astype(np.int64)  # what a detector gives
    model_config.N = 64  # ptychodus assigns N after building the config
    params.update_legacy_dict(params.cfg, config)
    raw = RawData.from_coords_without_pc(ds.xcoords, ds.ycoords, counts, ds.probeGuess[None], ds.scan_index,
                                         objectGuess=ds.objectGuess)
    container = components.create_ptycho_data_container(raw, config)
    set_probe_guess(container.X, raw.probeGuess)
    results = components.train_cdi_model(container, None, config)
    model_manager.save(tmp_path)
    model, saved = components.load_inference_bundle(tmp_path)
    patches = model.predict([container.X * params.get("intensity_scale"), container.local_offsets])
    assert patches.shape == (8, 64, 64, 1) and np.iscomplexobj(patches)
    stitched = reassemble_position(patches, container.global_offsets, M=20)
    assert stitched.ndim == 3 and stitched.shape[-1] == 1 and np.isfinite(stitched).all()
    assert results["history"]["train_loss"]


@pytest.mark.parametrize("do_stitching", [False, True])
def test_real_run_cdi_example_with_and_without_stitching(tiny_npz, tmp_path, do_stitching):
    """Upstream's contract, which ptychodus relies on: ``(None, None, results)`` without stitching, else the
    stitched amplitude and phase of the test data in the truth's frame."""
    from ptycho.raw_data import RawData

    params.reset()
    raw = RawData.from_file(tiny_npz)
    config = TrainingConfig(model=ModelConfig(N=64, gridsize=1, n_filters_scale=1), nepochs=1, n_groups=8,
                            batch_size=4, output_dir=tmp_path)
    amplitude, phase, results = components.run_cdi_example(raw, raw, config, do_stitching=do_stitching)
    assert results["backend"] == "tensorflow" and len(results["history"]["train_loss"]) == 1
    if not do_stitching:
        assert amplitude is None and phase is None and "stitched_obj" not in results
        return
    assert amplitude.shape == phase.shape == raw.objectGuess.shape
    np.testing.assert_array_equal(amplitude, np.abs(results["stitched_obj"]))
    assert params.get("intensity_scale") == results["intensity_scale"]
