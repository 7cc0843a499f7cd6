"""The upstream PyTorch API (``ptycho_torch.api``) in the call sequence ptychodus 1.7.0's PtychoPINN-Torch
plugin makes (its ``_subprocess.run_train`` / ``run_reconstruct``), on a real tiny Lightning run.

The weekly tier drives the same sequence through the real ptychodus (tests/client); this one needs no
client and proves the contract on every pull request.
"""

import logging
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from lightning.pytorch.callbacks import Callback  # noqa: E402

from ptycho.errors import ConfigError  # noqa: E402
from ptycho.raw_data import RawData  # noqa: E402
from ptycho.workflows.inference import infer_with_backend  # noqa: E402
from ptycho_torch.api.base_api import (  # noqa: E402
    ConfigManager,
    DataloaderFormats,
    InferenceEngine,
    PtychoDataLoader,
    PtychoModel,
    Trainer,
)
from ptycho_torch.config_params import (  # noqa: E402
    DataConfig,
    DatagenConfig,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
)
from ptycho_torch.lightning_utils import find_best_checkpoint  # noqa: E402
from ptycho_torch.model import PtychoPINN_Lightning  # noqa: E402

EPOCHS = 2


def ptychodus_configs(N=64, grid=1, epochs=EPOCHS):
    """The five configs as ptychodus 1.7.0 builds them (its ``reconstructor._build_configs``, its defaults)
    for a small run: every keyword it passes."""
    data = DataConfig(N=N, C=grid * grid, normalize="Batch", neighbor_function="Nearest", scan_pattern="Isotropic",
                      probe_normalize=True, x_bounds=(0.1, 0.9), y_bounds=(0.1, 0.9), min_neighbor_distance=0.0,
                      max_neighbor_distance=3.0, K_quadrant=30, n_subsample=7, probe_scale=4.0, K=6,
                      grid_size=(grid, grid), probe_ramp_removal=False, data_scaling="Parseval",
                      phase_subtraction=True)
    model = ModelConfig(mode="Unsupervised", object_big=True, probe_big=True, loss_function="Poisson",
                        amp_activation="silu", cbam_encoder=True, decoder_last_amp_channels=grid * grid,
                        use_shared_decoder=False, intensity_scale_trainable=True, intensity_scale=10000.0,
                        max_position_jitter=10, num_datasets=1, C_model=grid * grid, C_forward=grid * grid,
                        amp_loss=None, phase_loss=None, amp_loss_coeff=1.0, phase_loss_coeff=1.0, n_filters_scale=1,
                        probe_mask=None, eca_decoder=False, batch_norm=False, edge_pad=10,
                        decoder_last_c_outer_fraction=0.125, cbam_bottleneck=False, cbam_decoder=False,
                        spatial_decoder=False, decoder_spatial_kernel=7, eca_encoder=False, offset=6,
                        probe_reference_coeff=0.0, amplitude_variance_loss=False, amplitude_variance_coeff=0.01)
    training = TrainingConfig(epochs=epochs, batch_size=16, learning_rate=1e-3, n_devices=1, num_workers=0,
                              accum_steps=1, epochs_fine_tune=0, fine_tune_gamma=0.1, gradient_clip_val=None,
                              nll=True, device="cuda", strategy="ddp_spawn", framework="Lightning",
                              orchestrator="Lightning", scheduler="Default", warmup_epochs=0, min_lr_ratio=0.0,
                              notes="", model_name="PtychoPINNv2", enable_staged_finetuning=False,
                              finetune_stage1_epochs=7, finetune_stage2_epochs=7, finetune_stage3_epochs=5,
                              finetune_stage1_lr_decoder=0.1, finetune_stage2_lr_encoder_top=0.01,
                              finetune_stage2_lr_decoder=0.05, finetune_stage2_lr_phase_head=0.1,
                              finetune_stage3_lr_encoder_bottom=0.005, finetune_stage3_lr_encoder_top=0.01,
                              finetune_stage3_lr_decoder=0.02, finetune_stage3_lr_phase_head=0.05,
                              finetune_skip_stage3=True, finetune_early_stop_patience=3, finetune_val_split=0.05)
    inference = InferenceConfig(batch_size=1000, middle_trim=32, experiment_number=0, patch_weighting="probe",
                                pad_eval=True, window=20)
    return data, model, training, inference, DatagenConfig()


class LossCollector(Callback):
    def __init__(self, name):
        self.name, self.values = name, []

    def on_train_epoch_end(self, trainer, pl_module):
        value = trainer.callback_metrics.get(self.name)
        if value is not None:
            self.values.append(float(value))


@pytest.fixture(scope="module")
def facade_run(torch_tiny_npz, tmp_path_factory):
    """ptychodus' ``run_train``: configs -> ConfigManager -> data loader -> new model -> Lightning trainer
    with a loss-collecting callback -> train -> best checkpoint of the run folder."""
    data_dir = tmp_path_factory.mktemp("exported")
    shutil.copy(torch_tiny_npz, data_dir / "train_data.npz")
    out = tmp_path_factory.mktemp("facade_out")
    data, model, training, inference, datagen = ptychodus_configs()
    cm = ConfigManager(data_config=data, model_config=model, training_config=training, inference_config=inference,
                       datagen_config=datagen)
    loader = PtychoDataLoader(data_dir=data_dir, config_manager=cm,
                              data_format=DataloaderFormats("lightning_only_module"), output_dir=out)
    ptycho_model = PtychoModel._new_model(model=PtychoPINN_Lightning, config_manager=cm)
    trainer = Trainer._from_lightning(model=ptycho_model, dataloader=loader, orchestration="lightning",
                                      config_manager=cm)
    collector = LossCollector(ptycho_model.model.loss_name)
    trainer._trainer.callbacks.append(collector)
    trainer.train(orchestration="lightning", experiment_name="")
    return {"loader": loader, "collector": collector, "checkpoint": find_best_checkpoint(loader.output_dir),
            "npz": torch_tiny_npz}


def test_training_reports_its_losses_and_leaves_a_checkpoint_in_the_run_folder(facade_run):
    assert len(facade_run["collector"].values) == EPOCHS and all(np.isfinite(facade_run["collector"].values))
    run_dir = facade_run["loader"].output_dir
    assert run_dir.name.startswith("run_") and facade_run["checkpoint"].is_relative_to(run_dir)
    assert (run_dir / "wts.h5.zip").is_file()


def load_like_ptychodus(checkpoint):
    """ptychodus' ``_load_ptycho_model``."""
    data, model, training, inference = PtychoModel._extract_configs_from_checkpoint(str(checkpoint))
    ptycho_model = PtychoModel(model_config=model, data_config=data, training_config=training,
                               inference_config=inference)
    ptycho_model.model = PtychoPINN_Lightning.load_from_checkpoint(
        checkpoint, model_config=model, data_config=data, training_config=training, inference_config=inference)
    cm = ConfigManager.from_loaded_model(ptycho_model)
    cm.validate_arch_compatibility(ptycho_model)
    return ptycho_model, cm


def test_checkpoint_configs_rebuild_the_network(facade_run):
    ptycho_model, cm = load_like_ptychodus(facade_run["checkpoint"])
    assert cm.model_config.mode == "Unsupervised" and cm.data_config.N == 64 and cm.data_config.grid_size == (1, 1)
    assert cm.model_config.amp_activation == "swish" and cm.training_config.epochs == EPOCHS
    wrong = DataConfig(N=128, grid_size=(1, 1))
    with pytest.raises(ConfigError, match="N: given 128, checkpoint 64"):
        PtychoPINN_Lightning.load_from_checkpoint(facade_run["checkpoint"], data_config=wrong,
                                                  model_config=cm.model_config)


def test_predict_and_stitch_equals_ptycho_infer_in_the_scan_frame(facade_run):
    """ptychodus' ``run_reconstruct``: positions as (y, x) object pixels; the object must be the one
    ``ptycho infer`` stitches from the run's archive (same engine, same frame), not a transposed one."""
    ptycho_model, cm = load_like_ptychodus(facade_run["checkpoint"])
    raw = RawData.from_file(facade_run["npz"])
    scan = PtychoDataLoader.from_np(diff_patterns=raw.diff3d, probe=raw.probeGuess,
                                    positions=np.column_stack([raw.ycoords, raw.xcoords]), config_manager=cm)
    obj = InferenceEngine(config_manager=cm, ptycho_model=ptycho_model).predict_and_stitch(scan)
    no_truth = RawData.from_coords_without_pc(raw.xcoords, raw.ycoords, raw.diff3d, raw.probeGuess, raw.scan_index)
    # the façade places the network like `ptycho infer` does by default (accelerator auto): same device
    expected = infer_with_backend(facade_run["loader"].output_dir, no_truth, "pytorch", accelerator="auto").obj
    assert obj.shape == expected.shape and np.iscomplexobj(obj)
    assert np.max(np.abs(obj - expected)) <= 1e-5 * np.max(np.abs(expected))
    swapped = PtychoDataLoader.from_np(raw.diff3d, raw.probeGuess, np.column_stack([raw.xcoords, raw.ycoords]), cm)
    other = InferenceEngine(cm, ptycho_model).predict_and_stitch(swapped)
    assert other.shape != expected.shape or np.max(np.abs(other - expected)) > 1e-2 * np.max(np.abs(expected))


def test_upstream_only_features_are_named_when_ignored(caplog):
    with caplog.at_level(logging.WARNING, logger="ptycho_torch.api"):
        ConfigManager(*ptychodus_configs()[:4])
    assert "ModelConfig.cbam_encoder=True" in caplog.text and "ModelConfig.edge_pad=10" in caplog.text


def test_configs_that_cannot_map_are_refused():
    data, model, training, inference, _ = ptychodus_configs()
    with pytest.raises(ConfigError, match="grid_size=\\(1, 2\\) is not square"):
        ConfigManager(DataConfig(grid_size=(1, 2)), model).canonical_model()
    with pytest.raises(ConfigError, match="C=4 but grid_size=\\(1, 1\\)"):
        ConfigManager(DataConfig(C=4), model).canonical_model()
    with pytest.raises(ConfigError, match="this engine trains with Lightning only"):
        Trainer._from_lightning(None, None, orchestration="mlflow")
