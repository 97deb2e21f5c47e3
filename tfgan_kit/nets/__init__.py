"""Ready generators and discriminators, the layers that let D see a whole batch or a pack or
that trade pixels for channels, and growing a trained pair into a larger one."""

from tfgan_kit.nets.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_kit.nets.growing import copy_matching_weights
from tfgan_kit.nets.layers import MinibatchDiscrimination, MinibatchStdDev, Pack
from tfgan_kit.nets.mlp import mlp_discriminator, mlp_generator
from tfgan_kit.nets.pixel_shuffle import PixelShuffle, PixelUnshuffle
from tfgan_kit.nets.resnet import resnet_discriminator, resnet_generator

__all__ = [
    "dcgan_generator",
    "dcgan_discriminator",
    "mlp_generator",
    "mlp_discriminator",
    "resnet_generator",
    "resnet_discriminator",
    "MinibatchDiscrimination",
    "MinibatchStdDev",
    "Pack",
    "PixelShuffle",
    "PixelUnshuffle",
    "copy_matching_weights",
]
