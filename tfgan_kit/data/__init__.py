"""Data for GAN training: sources (`load_dataset`), 2-D mixtures and the checks `fit` applies."""

from tfgan_kit._internal.sampling import balanced_labels
from tfgan_kit.data.checks import check_data, check_writable_dir
from tfgan_kit.data.mixtures import MIXTURES, mixture_means, mixture_std, sample_mixture
from tfgan_kit.data.sources import load_arrays, load_dataset, write_image_folder

__all__ = [
    "load_dataset",
    "load_arrays",
    "write_image_folder",
    "balanced_labels",
    "check_data",
    "check_writable_dir",
    "MIXTURES",
    "mixture_means",
    "mixture_std",
    "sample_mixture",
]
