"""Objectives, datasets, samplers and the one Trainer shared by every modality and model."""
from .callbacks import Ramp
from .data import ArrayDataset, CollatedDataset
from .losses import LOSSES, build_loss, class_weights
from .objectives import MISSING, Objective, Task
from .seed import seed_everything
from .trainer import Trainer, TrainingConfig, TrainResult

__all__ = ["ArrayDataset", "CollatedDataset", "LOSSES", "MISSING", "Objective", "Ramp", "Task",
           "build_loss", "class_weights", "seed_everything", "Trainer", "TrainingConfig", "TrainResult"]
