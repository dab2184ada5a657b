"""Data: resumable seeded sampling, image folders, bundled toy data."""

from srgan_wgan.data.sampler import ResumableBatchSampler

__all__ = ["ResumableBatchSampler"]
