"""Upstream-compatible surface: ``ConfigManager``, ``PtychoDataLoader``, ``PtychoModel``, ``Trainer``,
``InferenceEngine``, upstream's PyTorch API (ptychodus's PtychoPINN-Torch plugin). The real path is
:func:`ptycho.workflows.models.train_model` (see :mod:`ptycho_torch.api`).

Training goes through :func:`ptycho.workflows.models.train_model` (the photon scale is measured from the
data, initial weights come from the seed, checkpoints land in the run folder with their four configs);
inference through the shared stitching, so a reconstruction here equals ``ptycho infer``'s.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import Enum
from pathlib import Path

import numpy as np

from ptycho import params
from ptycho.config.config import ModelConfig as CanonicalModelConfig
from ptycho.data_contract import read_npz
from ptycho.errors import ConfigError
from ptycho.raw_data import RawData
from ptycho.workflows import models
from ptycho.workflows.inference import reconstruct
from ptycho_torch import config_bridge
from ptycho_torch.api.checkpoints import check_same_network, find_best_checkpoint, read_hyperparameters
from ptycho_torch.config_params import DataConfig, DatagenConfig, InferenceConfig, ModelConfig, TrainingConfig
from ptycho_torch.engine import ENGINE
from ptycho_torch.fitting import hyperparameters
from ptycho_torch.lightning_module import PtychoPINN_Lightning

log = logging.getLogger("ptycho_torch.api")

MEASURED_NPHOTONS = 1e9  # the canonical default: use the data's measured mean counts per pattern
TRAIN_FILE, TEST_FILE = "train_data.npz", "test_data.npz"


class DataloaderFormats(Enum):
    """How the data reach Lightning; this engine always feeds a ``LightningDataModule``."""

    LIGHTNING_MODULE = "lightning_only_module"


class ConfigManager:
    """The engine configs of one run, and their translation into the canonical ones (one bridge)."""

    def __init__(self, data_config=None, model_config=None, training_config=None, inference_config=None,
                 datagen_config=None):
        self.data_config = data_config or DataConfig()
        self.model_config = model_config or ModelConfig()
        self.training_config = training_config or TrainingConfig()
        self.inference_config = inference_config or InferenceConfig()
        self.datagen_config = datagen_config or DatagenConfig()
        ignored = config_bridge.ignored_options(self.data_config, self.model_config, self.training_config,
                                                self.inference_config)
        if ignored:
            log.warning("these options select upstream features this engine does not have and are ignored: %s",
                        ", ".join(f"{k}={v!r}" for k, v in ignored.items()))

    @classmethod
    def from_loaded_model(cls, ptycho_model: PtychoModel) -> ConfigManager:
        return cls(ptycho_model.data_config, ptycho_model.model_config, ptycho_model.training_config,
                   ptycho_model.inference_config)

    def validate_arch_compatibility(self, ptycho_model: PtychoModel) -> None:
        """``ConfigError`` when these configs describe another network than the model's checkpoint."""
        check_same_network(ptycho_model.model.hparams,
                           {"data_config": self.data_config, "model_config": self.model_config}, "the loaded model")

    def canonical_model(self) -> CanonicalModelConfig:
        return config_bridge.to_model_config(self.data_config, self.model_config)

    def canonical_training(self, train_file: Path, n_groups: int, output_dir: Path):
        overrides = {
            "train_data_file": train_file,
            "n_groups": n_groups,
            "output_dir": Path(output_dir),
            "n_subsample": None,  # upstream's n_subsample is a coordinate subsampling factor: every position is used
        }
        if self.data_config.nphotons == DataConfig.nphotons:  # not set by the client: measure it from the data
            overrides["nphotons"] = MEASURED_NPHOTONS
        return config_bridge.to_training_config(self.canonical_model(), self.data_config, self.model_config,
                                                self.training_config, overrides)

    def execution(self):
        return config_bridge.to_execution_config(self.training_config, self.inference_config)


def _training_files(data_dir: Path) -> tuple[Path, Path | None]:
    if (data_dir / TRAIN_FILE).is_file():
        test = data_dir / TEST_FILE
        return data_dir / TRAIN_FILE, test if test.is_file() else None
    found = sorted(data_dir.glob("*.npz"))
    if len(found) != 1:
        raise ConfigError(
            f"{data_dir}: expected {TRAIN_FILE} (and optionally {TEST_FILE}) or exactly one .npz, found "
            f"{[p.name for p in found] or 'none'}; name the training file {TRAIN_FILE}"
        )
    return found[0], None


class PtychoDataLoader:
    """The scan(s) of a run: ``data_dir`` with ``train_data.npz`` [+ ``test_data.npz`` for validation] or one
    NPZ; the run's outputs go to ``output_dir/run_<timestamp>`` (:attr:`output_dir`)."""

    def __init__(self, data_dir, config_manager: ConfigManager,
                 data_format: DataloaderFormats = DataloaderFormats.LIGHTNING_MODULE, output_dir=None):
        DataloaderFormats(data_format)
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"training data folder not found: {data_dir}")
        train_file, test_file = _training_files(data_dir)
        stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
        self._set(config_manager, RawData(read_npz(train_file)), RawData(read_npz(test_file)) if test_file else None,
                  train_file, Path(output_dir or data_dir) / f"run_{stamp}")

    @classmethod
    def from_np(cls, diff_patterns, probe, positions, config_manager: ConfigManager, output_dir=None):
        """A scan from arrays: patterns ``(n, N, N)`` (integer counts or float amplitudes), the probe
        ``(N, N)`` or ``(modes, N, N)``, ``positions`` ``(n, 2)`` in object pixels, columns ``(y, x)``."""
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[1] != 2:
            raise ConfigError(f"positions must be (n, 2) pixel coordinates (y, x), got shape {positions.shape}")
        raw = RawData.from_coords_without_pc(
            xcoords=positions[:, 1],
            ycoords=positions[:, 0],
            diff3d=diff_patterns,
            probeGuess=probe,
            scan_index=np.zeros(len(positions), dtype=int),
        )
        loader = cls.__new__(cls)
        loader._set(config_manager, raw, None, None, Path(output_dir) if output_dir else None)
        return loader

    def _set(self, config_manager, train: RawData, test: RawData | None, train_file, output_dir) -> None:
        self.config_manager, self.train, self.test = config_manager, train, test
        self.train_file, self.output_dir = train_file, output_dir


class PtychoModel:
    """Configs and the Lightning module (:attr:`model`) of one network."""

    def __init__(self, model_config=None, data_config=None, training_config=None, inference_config=None,
                 model: PtychoPINN_Lightning | None = None):
        self.model_config, self.data_config = model_config, data_config
        self.training_config, self.inference_config = training_config, inference_config
        self.model = model

    @classmethod
    def _new_model(cls, model=PtychoPINN_Lightning, config_manager: ConfigManager | None = None) -> PtychoModel:
        """An untrained network for ``config_manager``. Its photon scale and probe are placeholders until
        :meth:`Trainer.train` builds the network from the data (scale measured, probe from the scan)."""
        cm = config_manager or ConfigManager()
        canonical = cm.canonical_training(Path("train_data.npz"), 1, Path("."))
        hp = hyperparameters(canonical, cm.execution(), 1, 1.0, False, 0)
        return cls(cm.model_config, cm.data_config, cm.training_config, cm.inference_config, model(**hp))

    @staticmethod
    def _extract_configs_from_checkpoint(path) -> tuple[DataConfig, ModelConfig, TrainingConfig, InferenceConfig]:
        """``(data, model, training, inference)`` engine configs saved in a checkpoint of this engine."""
        return config_bridge.from_hyperparameters(read_hyperparameters(path))


class _PendingTrainer:
    """Holds callbacks added before training; :meth:`Trainer.train` hands them to the Lightning ``Trainer``."""

    def __init__(self):
        self.callbacks: list = []


class Trainer:
    """Trains a :class:`PtychoModel` on a :class:`PtychoDataLoader` with Lightning (``_trainer`` is the
    Lightning ``Trainer`` once training has started; callbacks appended before then are used)."""

    def __init__(self, model: PtychoModel, dataloader: PtychoDataLoader, config_manager: ConfigManager):
        self.model, self.dataloader, self.config_manager = model, dataloader, config_manager
        self._trainer = _PendingTrainer()
        self.results: dict | None = None

    @classmethod
    def _from_lightning(cls, model: PtychoModel, dataloader: PtychoDataLoader, orchestration: str = "lightning",
                        config_manager: ConfigManager | None = None) -> Trainer:
        _check_orchestration(orchestration)
        return cls(model, dataloader, config_manager or dataloader.config_manager)

    def train(self, orchestration: str = "lightning", experiment_name: str = "") -> dict:
        """Train, write the checkpoints and ``wts.h5.zip`` (the best checkpoint's network, the one
        :func:`find_best_checkpoint` picks) into the run folder; returns the results dict."""
        _check_orchestration(orchestration)
        data, cm = self.dataloader, self.config_manager
        if data.output_dir is None or data.train_file is None:
            raise ConfigError("this PtychoDataLoader holds inference data (from_np); build one from a data folder")
        config = cm.canonical_training(data.train_file, len(data.train), data.output_dir)
        data.output_dir.mkdir(parents=True, exist_ok=True)
        results = models.train_model(ENGINE.name, data.train, data.test, config, cm.execution(),
                                     callbacks=tuple(self._trainer.callbacks))
        best = find_best_checkpoint(data.output_dir)
        if best is not None:  # the archive holds the network clients pick (the best checkpoint), not the last
            module = PtychoPINN_Lightning.load_from_checkpoint(best)
            results.update(lightning_module=module, model_instance=module.model.cpu().eval(), checkpoint=best)
        models.save_model(results, data.output_dir)
        self.model.model, self._trainer = results["lightning_module"], results["lightning_trainer"]
        self.results = results
        return results


def _check_orchestration(orchestration: str) -> None:
    if str(orchestration).lower() != "lightning":
        raise ConfigError(f"orchestration={orchestration!r}: this engine trains with Lightning only")


class InferenceEngine:
    """Reconstructs scans with a trained :class:`PtychoModel` (the engine's stitching, ``M`` from its
    inference config)."""

    def __init__(self, config_manager: ConfigManager, ptycho_model: PtychoModel):
        self.config_manager, self.ptycho_model = config_manager, ptycho_model

    def predict_and_stitch(self, data_loader: PtychoDataLoader) -> np.ndarray:
        """The stitched complex object ``(H, W)`` on the smallest canvas holding every window, centred on the
        scan (pixel ``[0, 0]`` at the positions' minimum minus half a window)."""
        module = self.ptycho_model.model
        hp = module.hparams
        network = module.model.eval()
        ENGINE.place(network, "auto")  # as `ptycho infer` does: the GPU when there is one
        saved = params.update_legacy_dict({}, CanonicalModelConfig(**hp["model_config"]))
        saved["intensity_scale"] = network.intensity_scale
        M = int(hp["inference_config"].get("M", 20))
        return reconstruct(ENGINE.predictor(network), saved, data_loader.train, None, M).obj
