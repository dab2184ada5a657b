"""Whole-photo super-resolution (the general-image model behind ``sr upscale``'s background): data, experiment."""

from srgan_wgan.apps.photo_sr.data import PhotoPatches, Photos, centre_patches, load_photos, photo_folder_splits
from srgan_wgan.apps.photo_sr.experiment import (
    PHOTO_ARCHS,
    PhotoExperiment,
    export_photo_run,
    is_photo_release,
    photo_finetune_experiment,
)
from srgan_wgan.apps.photo_sr.inference import PHOTO_MODELS, PhotoUpscaler, resolve_photo_model

__all__ = ["PHOTO_ARCHS", "PHOTO_MODELS", "PhotoExperiment", "PhotoUpscaler", "resolve_photo_model", "PhotoPatches",
           "Photos", "centre_patches", "export_photo_run", "is_photo_release", "load_photos",
           "photo_finetune_experiment", "photo_folder_splits"]
