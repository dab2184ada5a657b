"""srgan-wgan: conditional Wasserstein GANs for face super-resolution and style-conditioned painting generation."""

from srgan_wgan.archs import CondGenerator, CondGeneratorConfig, ConvCritic, CriticConfig
from srgan_wgan.errors import ConfigError, UserError, WeightsError
from srgan_wgan.io.weights import load_pretrained, save_pretrained
from srgan_wgan.training import GANTask, GANTrainConfig, GANTrainer
from srgan_wgan.utils.seed import seed_everything
from srgan_wgan.version import __version__

__all__ = [
    "CondGenerator",
    "CondGeneratorConfig",
    "ConfigError",
    "ConvCritic",
    "CriticConfig",
    "GANTask",
    "GANTrainConfig",
    "GANTrainer",
    "UserError",
    "WeightsError",
    "__version__",
    "load_pretrained",
    "save_pretrained",
    "seed_everything",
]
