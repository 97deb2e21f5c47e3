"""tfgan_kit: train GANs with Keras 3 on TensorFlow.

Importing it has no side effects: no dtype policy, seed, logging handler or
matplotlib backend is set until you call something that asks for it.
"""

from tfgan_kit import (
    augment,
    callbacks,
    data,
    distribute,
    losses,
    metrics,
    nets,
    plotting,
    regularizers,
)
from tfgan_kit.augment import ADA, DiffAugment
from tfgan_kit.callbacks import (
    CrashSafeBackup,
    FIDMonitor,
    GeneratorEMA,
    ImbalanceMonitor,
    ModeCollapseMonitor,
    NaNGuard,
    SampleGrid,
)
from tfgan_kit.data import load_arrays, load_dataset
from tfgan_kit.export import export_generator
from tfgan_kit.gan import GAN
from tfgan_kit.metrics import evaluate, feature_extractor, load_digit_classifier
from tfgan_kit.nets import (
    MinibatchDiscrimination,
    MinibatchStdDev,
    Pack,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
    resnet_discriminator,
    resnet_generator,
)
from tfgan_kit.plotting import plot_history, plot_mixture_samples, save_image_grid
from tfgan_kit.runtime import set_precision, set_seed

__version__ = "0.2.0"

__all__ = [
    "GAN",
    "DiffAugment",
    "ADA",
    "load_dataset",
    "load_arrays",
    "dcgan_generator",
    "dcgan_discriminator",
    "mlp_generator",
    "mlp_discriminator",
    "resnet_generator",
    "resnet_discriminator",
    "MinibatchDiscrimination",
    "MinibatchStdDev",
    "Pack",
    "SampleGrid",
    "GeneratorEMA",
    "ImbalanceMonitor",
    "ModeCollapseMonitor",
    "FIDMonitor",
    "CrashSafeBackup",
    "NaNGuard",
    "evaluate",
    "feature_extractor",
    "load_digit_classifier",
    "export_generator",
    "plot_history",
    "plot_mixture_samples",
    "save_image_grid",
    "set_precision",
    "set_seed",
    "augment",
    "callbacks",
    "data",
    "distribute",
    "losses",
    "metrics",
    "nets",
    "plotting",
    "regularizers",
]
