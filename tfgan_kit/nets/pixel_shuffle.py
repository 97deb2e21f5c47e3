"""Pixel shuffling: trading image size for channels, so a network's convolutions run on
fewer, deeper pixels.

On a CPU a step's cost grows with the pixels the convolutions see: at 64 px the
blocks by the image cost 3-4x a whole 32 px network. `PixelShuffle` lets a
generator end at half size with 4x the channels and unfold them into the full
image, each feature vector becoming a 2x2 block of pixels (ESPCN, Shi et al.
2016); `PixelUnshuffle` folds a discriminator's input back the same way, so it
reads every pixel through a half-size network.
"""

import keras
import tensorflow as tf


class _Rearrange(keras.layers.Layer):
    """What both directions share: the factor, checked, and the config."""

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
            raise ValueError(f"{type(self).__name__} received factor={factor!r}; expected an int >= 2.")
        self.factor = factor

    def _scaled(self, input_shape, side, channels):
        batch, height, width, depth = input_shape
        return (batch, *(None if n is None else side(n) for n in (height, width)), channels(depth))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="tfgan_kit")
class PixelShuffle(_Rearrange):
    """Unfolds `(h, w, c * factor**2)` features into a `(h * factor, w * factor, c)` image.

    Each position's `factor**2` groups of `c` channels become a `factor x factor`
    block of pixels (`tf.nn.depth_to_space`), so the layer before it, a convolution
    at the smaller size, chooses every output pixel: sharp detail at the cost of a
    half-size network.

    Args:
        factor: how many times larger the output is on each side. Defaults to 2.

    Examples:

    ```python
    features = keras.Input((32, 32, 12))
    image = tfgan_kit.nets.PixelShuffle(2)(features)  # (None, 64, 64, 3)
    ```
    """

    def build(self, input_shape):
        if input_shape[-1] % self.factor**2:
            raise ValueError(
                f"PixelShuffle(factor={self.factor}) received {input_shape[-1]} channels; "
                f"expected a multiple of factor**2 = {self.factor**2}."
            )

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        return self._scaled(input_shape, lambda n: n * self.factor, lambda c: c // self.factor**2)


@keras.saving.register_keras_serializable(package="tfgan_kit")
class PixelUnshuffle(_Rearrange):
    """Folds a `(h, w, c)` image into `(h / factor, w / factor, c * factor**2)` features.

    The inverse of `PixelShuffle` (`tf.nn.space_to_depth`): every `factor x factor`
    block of pixels becomes one position's channels, nothing averaged away.

    Args:
        factor: how many times smaller the output is on each side. Defaults to 2.

    Examples:

    ```python
    images = keras.Input((64, 64, 3))
    features = tfgan_kit.nets.PixelUnshuffle(2)(images)  # (None, 32, 32, 12)
    ```
    """

    def build(self, input_shape):
        if any(n is not None and n % self.factor for n in input_shape[1:3]):
            raise ValueError(
                f"PixelUnshuffle(factor={self.factor}) received images of "
                f"{input_shape[1]}x{input_shape[2]}; expected sides divisible by {self.factor}."
            )

    def call(self, inputs):
        return tf.nn.space_to_depth(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        return self._scaled(input_shape, lambda n: n // self.factor, lambda c: c * self.factor**2)
