"""Callbacks that watch GAN training."""

import os
from typing import Optional

import keras
import numpy as np

from tfgan_kit import plotting


class SampleGrid(keras.callbacks.Callback):
    """Writes a PNG grid of generated images after every epoch, from fixed noise.

    The noise (and, for a conditional GAN, the labels: each row one class) is
    drawn once, so grids are comparable across epochs: the change you see is the
    generator's, not the noise's.

    Args:
        directory: folder for `epoch_XXX.png` files.
        num_samples: images per grid. Defaults to 64.
        seed: seed of the fixed noise. Defaults to 0.
        every: write every `every` epochs. Defaults to 1.
        scale: pixel magnification of the PNG. Defaults to 4.

    Example:

    ```python
    gan.fit(dataset, epochs=10, callbacks=[tfgan_kit.SampleGrid("samples")])
    ```
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        seed: int = 0,
        every: int = 1,
        scale: int = 4,
    ):
        super().__init__()
        if num_samples < 1 or every < 1:
            raise ValueError(
                f"SampleGrid received num_samples={num_samples}, every={every}; expected >= 1."
            )
        self.directory = directory
        self.num_samples = num_samples
        self.seed = seed
        self.every = every
        self.scale = scale
        self.paths = []

    def _labels(self) -> Optional[np.ndarray]:
        classes = self.model.num_classes
        if classes is None:
            return None
        return np.arange(self.num_samples) % classes

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.generate(self.num_samples, seed=self.seed, labels=self._labels())
        cols = self.model.num_classes or None
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        self.paths.append(plotting.save_image_grid(images, path, cols=cols, scale=self.scale))

    def get_config(self):
        return {
            "directory": self.directory,
            "num_samples": self.num_samples,
            "seed": self.seed,
            "every": self.every,
            "scale": self.scale,
        }
