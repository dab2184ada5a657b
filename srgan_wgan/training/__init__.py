"""The shared training engine and its configuration."""

from srgan_wgan.training.config import AMP_MODES, OPTIMIZERS, GANTrainConfig
from srgan_wgan.training.engine import GANTrainer
from srgan_wgan.training.tasks import GANTask

__all__ = ["AMP_MODES", "GANTask", "GANTrainConfig", "GANTrainer", "OPTIMIZERS"]
