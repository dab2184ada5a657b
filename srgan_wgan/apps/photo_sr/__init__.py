"""Whole-photo super-resolution (the general-image model behind ``sr upscale``'s background): data, experiment."""

from srgan_wgan.apps.photo_sr.data import PhotoPatches, Photos, centre_patches, load_photos, photo_folder_splits
from srgan_wgan.apps.photo_sr.experiment import PHOTO_ARCHS, PhotoExperiment, export_photo_run

__all__ = ["PHOTO_ARCHS", "PhotoExperiment", "PhotoPatches", "Photos", "centre_patches", "export_photo_run",
           "load_photos", "photo_folder_splits"]
