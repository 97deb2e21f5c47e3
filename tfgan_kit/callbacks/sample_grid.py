"""`SampleGrid`: a PNG (and TensorBoard image) of generated samples after every epoch."""

import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfgan_kit import plotting
from tfgan_kit._internal.sampling import balanced_labels


def write_image_summary(writer, tag: str, image: np.ndarray, step: int) -> None:
    """One uint8 `(H, W, C)` image as a TensorBoard image summary.

    TensorBoard is not a TensorFlow dependency any more and `tf.summary.image`
    needs it, so this writes the image plugin's format (`[width, height, png]`
    strings with the `"images"` plugin metadata) through `tf.summary.write`,
    which TensorFlow has on its own. TensorBoard shows it under Images.
    """
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images"),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )
    height, width = image.shape[:2]
    tensor = tf.stack([tf.as_string(width), tf.as_string(height), tf.io.encode_png(image)])
    with writer.as_default():
        tf.summary.write(tag, tensor, step=step, metadata=metadata)
    writer.flush()


class SampleGrid(keras.callbacks.Callback):
    """Writes a PNG grid of generated images after every epoch, from fixed noise.

    The noise (and, for a conditional GAN, the labels: each row one class) is
    drawn once, so grids are comparable across epochs: the change you see is the
    generator's, not the noise's. With `generator_ema` on (see `GeneratorEMA`)
    the grid shows the averaged generator. With `log_dir`, the same grid also
    goes to TensorBoard as an image summary (tag `samples`, step = epoch); this
    needs no `tensorboard` package to write, only to view.

    Args:
        directory: folder for `epoch_XXX.png` files.
        num_samples: images per grid. Defaults to 64.
        seed: seed of the fixed noise. Defaults to 0.
        every: write every `every` epochs. Defaults to 1.
        scale: pixel magnification of the PNG. Defaults to 4.
        log_dir: TensorBoard log directory for the image summaries. Defaults to
            `None` (PNG files only).
        use_ema: draw with the generator's EMA weights when it has them.
            Defaults to True.

    Examples:

    ```python
    grids = tfgan_kit.SampleGrid("samples", log_dir="logs")
    gan.fit(dataset, epochs=10, callbacks=[grids])  # tensorboard --logdir logs
    ```
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        seed: int = 0,
        every: int = 1,
        scale: int = 4,
        log_dir: Optional[str] = None,
        use_ema: bool = True,
    ):
        super().__init__()
        if num_samples < 1 or every < 1 or scale < 1:
            raise ValueError(
                f"SampleGrid received num_samples={num_samples}, every={every}, "
                f"scale={scale}; expected each >= 1."
            )
        self.directory = directory
        self.num_samples = num_samples
        self.seed = seed
        self.every = every
        self.scale = scale
        self.log_dir = log_dir
        self.use_ema = use_ema
        self.paths = []
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.generate(
            self.num_samples, seed=self.seed, labels=balanced_labels(self.num_samples, self.model.num_classes), use_ema=self.use_ema
        )
        cols = self.model.num_classes or None
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        self.paths.append(plotting.save_image_grid(images, path, cols=cols, scale=self.scale))
        if self._writer is not None:
            grid = plotting.image_grid(images, cols)
            grid = grid.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
            write_image_summary(self._writer, "samples", grid, epoch + 1)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {
            "directory": self.directory,
            "num_samples": self.num_samples,
            "seed": self.seed,
            "every": self.every,
            "scale": self.scale,
            "log_dir": self.log_dir,
            "use_ema": self.use_ema,
        }
