"""The shared training engine and its configuration."""

from srgan_wgan.training.config import AMP_MODES, DEFAULT_PENALTY_WEIGHT, OPTIMIZERS, GANTrainConfig
from srgan_wgan.training.engine import GANTask, GANTrainer

__all__ = ["AMP_MODES", "DEFAULT_PENALTY_WEIGHT", "GANTask", "GANTrainConfig", "GANTrainer", "OPTIMIZERS"]
