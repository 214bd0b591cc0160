"""Training: source-GAN pretraining and two-phase DeepI2I transfer, in one loop with exact resume.

from deepi2i.training import preset_config, pretrain, train
src = pretrain("shapes/source", "runs/src", preset_config("shapes64", "pretrain", "shapes/source")).export
config = preset_config("shapes64", "translate", "shapes/target")
train("shapes/target", "runs/i2i", config, source=src, class_map="names")
"""

from deepi2i.training.api import open_dataset, preset_config, pretrain, train
from deepi2i.training.config import PhaseConfig, TrainConfig, train_preset
from deepi2i.training.ema import EMA
from deepi2i.training.loop import NonFiniteLossError, RunResult, fit
from deepi2i.training.objectives import Batch, PretrainObjective, TrainingNetworks, TranslationObjective
from deepi2i.training.phases import Schedule
from deepi2i.training.tasks import PretrainTask, TranslationTask
from deepi2i.training.transfer import parse_class_map, resolve_transfer_config, transfer_weights

__all__ = [
    "EMA",
    "Batch",
    "NonFiniteLossError",
    "PhaseConfig",
    "PretrainObjective",
    "PretrainTask",
    "RunResult",
    "Schedule",
    "TrainConfig",
    "TrainingNetworks",
    "TranslationObjective",
    "TranslationTask",
    "fit",
    "open_dataset",
    "parse_class_map",
    "preset_config",
    "pretrain",
    "resolve_transfer_config",
    "train",
    "train_preset",
    "transfer_weights",
]
