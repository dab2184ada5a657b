"""File I/O: weights (safetensors + embedded config) and atomic writes."""

from srgan_wgan.io.atomic import atomic_write
from srgan_wgan.io.weights import load_pretrained, read_weights_metadata, save_pretrained

__all__ = ["atomic_write", "load_pretrained", "read_weights_metadata", "save_pretrained"]
