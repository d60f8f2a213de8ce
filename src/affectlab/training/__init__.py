"""Losses, samplers and the one Trainer shared by every modality."""
from .data import ArrayDataset
from .losses import LOSSES, build_loss, class_weights
from .seed import seed_everything
from .trainer import Trainer, TrainingConfig, TrainResult

__all__ = ["ArrayDataset", "LOSSES", "build_loss", "class_weights", "seed_everything",
           "Trainer", "TrainingConfig", "TrainResult"]
