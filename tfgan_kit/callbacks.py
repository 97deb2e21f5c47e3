"""Callbacks that watch GAN training: sample grids, generator EMA and the two monitors.

`ImbalanceMonitor` (in `tfgan_kit.monitors`) and `ModeCollapseMonitor` (in
`tfgan_kit.mode_collapse`) are re-exported here.
"""

import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfgan_kit import plotting
from tfgan_kit.mode_collapse import ModeCollapseMonitor  # noqa: F401
from tfgan_kit.monitors import ImbalanceMonitor, inner_optimizer  # noqa: F401


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

    Example:

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

    def _labels(self) -> Optional[np.ndarray]:
        classes = self.model.num_classes
        if classes is None:
            return None
        return np.arange(self.num_samples) % classes

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.generate(
            self.num_samples, seed=self.seed, labels=self._labels(), use_ema=self.use_ema
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


class GeneratorEMA(keras.callbacks.Callback):
    """Controls the exponential moving average of the generator's weights.

    Averaged generator weights (Polyak averaging) give smoother, often better
    samples than the last training step's. The average itself lives in-graph in
    `g_optimizer` (Keras' optimizer EMA, switched on by
    `gan.compile(generator_ema=...)`), so there is one copy, updated inside the
    train step: `gan.generate`, `SampleGrid` and `gan.ema_weights()` (export)
    use it. This callback adds what compile cannot:

    - `decay`: sets the decay before the train step is traced (the optimizer
      reads it as a Python number; if `fit` already traced the step with another
      decay, the step is re-traced once);
    - `start_step`: until the generator has taken `start_step` optimizer steps
      the average is reset to the current weights after every batch, so early,
      poor weights never enter it (counted with `g_optimizer.iterations`, so
      it continues across `fit` calls and resumed runs);
    - `finalize`: at the end of `fit`, copy the average into the generator's
      weights (what Keras' `finalize_variable_values` does for `model.optimizer`),
      for code that reads `gan.generator` directly. Off by default: the next
      `fit` would then resume the game from the averaged generator, not the
      trained one, and `generate`/`SampleGrid`/export already use the average.

    Only trainable weights are averaged; BatchNormalization moving statistics are
    the training generator's.

    Args:
        decay: EMA decay in (0, 1) (e.g. 0.999 averages ~1000 steps). Defaults to
            `None`: the decay given to `compile`.
        start_step: generator step at which averaging starts. Defaults to 0.
        finalize: copy the average into the generator at the end of `fit`.
            Defaults to False.

    Example:

    ```python
    gan.compile(generator_ema=0.999)
    gan.fit(dataset, epochs=20, callbacks=[tfgan_kit.GeneratorEMA(start_step=1000)])
    images = gan.generate(16, seed=0)  # drawn with the averaged weights
    ```
    """

    def __init__(self, decay: Optional[float] = None, start_step: int = 0, finalize: bool = False):
        super().__init__()
        if decay is not None and not 0.0 < decay < 1.0:
            raise ValueError(
                f"GeneratorEMA received decay={decay!r}; expected a value in (0, 1), e.g. 0.999."
            )
        if not isinstance(start_step, (int, np.integer)) or start_step < 0:
            raise ValueError(
                f"GeneratorEMA received start_step={start_step!r}; expected an int >= 0."
            )
        self.decay = decay
        self.start_step = int(start_step)
        self.finalize = finalize

    def _optimizer(self):
        optimizer = inner_optimizer(getattr(self.model, "g_optimizer", None))
        if optimizer is None or not getattr(optimizer, "use_ema", False) or not optimizer.built:
            raise ValueError(
                f"GeneratorEMA needs a GAN compiled with generator_ema, but model "
                f"{self.model.name!r} has g_optimizer={optimizer!r} without an EMA; "
                f"call gan.compile(..., generator_ema={self.decay or 0.999}) first (the average "
                "lives in the optimizer, whose variables are made when it is built)."
            )
        return optimizer

    def on_train_begin(self, logs=None):
        optimizer = self._optimizer()
        if self.decay is not None and self.decay != optimizer.ema_momentum:
            optimizer.ema_momentum = float(self.decay)
            self.model.generator_ema = float(self.decay)  # keeps the compile config true
            self.model.make_train_function(force=True)  # a traced step holds the old decay
        self._averages = list(optimizer._model_variables_moving_average)
        self._variables = list(self.model.generator.trainable_variables)
        step = int(optimizer.iterations.numpy())
        self._started = step >= self.start_step
        if step < self.start_step or 0 < step == self.start_step:
            self._reset()

    def on_train_batch_end(self, batch, logs=None):
        if self._started:
            return
        self._reset()
        self._started = int(self._optimizer().iterations.numpy()) >= self.start_step

    def on_train_end(self, logs=None):
        if self.finalize:
            for variable, average in zip(self._variables, self._averages):
                variable.assign(average)

    def _reset(self):
        """The average restarts from the current weights."""
        for variable, average in zip(self._variables, self._averages):
            average.assign(variable)

    def get_config(self):
        return {"decay": self.decay, "start_step": self.start_step, "finalize": self.finalize}
