"""tfgan_kit: train GANs with Keras 3 on TensorFlow."""

from tfgan_kit import distribute, losses, metrics, regularizers
from tfgan_kit.architectures import (
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from tfgan_kit.callbacks import GeneratorEMA, ImbalanceMonitor, ModeCollapseMonitor, SampleGrid
from tfgan_kit.data import load_arrays, load_dataset
from tfgan_kit.evaluation import FIDMonitor, evaluate
from tfgan_kit.export import export_generator
from tfgan_kit.extractors import feature_extractor, load_digit_classifier
from tfgan_kit.gan import GAN
from tfgan_kit.layers import MinibatchDiscrimination, MinibatchStdDev
from tfgan_kit.plotting import plot_history, plot_mixture_samples, save_image_grid
from tfgan_kit.precision import set_precision
from tfgan_kit.recovery import CrashSafeBackup, NaNGuard, set_seed

__version__ = "0.1.0"
