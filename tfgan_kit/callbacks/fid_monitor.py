"""`FIDMonitor`: a sample-quality metric (FID by default) in the logs every few epochs."""

import logging
import time
from typing import Optional, Union

import keras

from tfgan_kit._internal.arrays import check_images
from tfgan_kit._internal.logs import report
from tfgan_kit.metrics.evaluation import (
    ALL_METRICS,
    LOWER_IS_BETTER,
    check_metrics,
    generate_images,
    real_images,
    resolve_extractor,
    score_features,
)
from tfgan_kit.metrics.extractors import FeatureExtractor, choose_features


class FIDMonitor(keras.callbacks.Callback):
    """Computes FID (or another sample-quality metric) every `every` epochs into the logs.

    GAN losses say little about sample quality; this puts a real quality number in
    the logs as `val_<metric>` so `ModelCheckpoint(monitor="val_fid", mode="min",
    save_best_only=True)`, `EarlyStopping` and TensorBoard can use it (list this
    callback before them). The real features are computed once; the generated
    images come from the same fixed noise every time, so the values are
    comparable across epochs. Each evaluation costs a forward pass over
    `num_samples` images plus the metric; the cost is logged. Epochs that are
    skipped get no value (a checkpoint watching it then skips those epochs).

    Args:
        real_dataset: real images in [-1, 1] (array, dataset or `load_dataset` name).
        metric: one of `ALL_METRICS`. Defaults to `"fid"`.
        every: evaluate every `every` epochs. Defaults to 1.
        num_samples: generated images per evaluation. Defaults to 1000.
        num_real: real images used. Defaults to all.
        extractor: the former name of `features`; give one of them. Defaults to `None`.
        seed: seed of the fixed noise. Defaults to 0.
        verbose: 0 silences the line with the value and its cost. Defaults to 1.
        features: the feature space, as in `evaluate`: `"mnist28"`, `"digits8"`,
            `"inception"` or a `FeatureExtractor`. Defaults to `None`: the bundled
            classifier that fits the shape, else InceptionV3.

    Examples:

    ```python
    real = tfgan_kit.load_arrays("idx:../shared/data/mnist", split="test")[0]
    gan.fit(dataset, epochs=20, callbacks=[
        tfgan_kit.FIDMonitor(real, every=2),
        keras.callbacks.ModelCheckpoint("best.keras", monitor="val_fid", mode="min",
                                        save_best_only=True),
    ])
    ```
    """

    def __init__(self, real_dataset, metric: str = "fid", every: int = 1, num_samples: int = 1000,
                 num_real: Optional[int] = None, extractor: Union[None, str, FeatureExtractor] = None,
                 seed: int = 0, verbose: int = 1, features: Union[None, str, FeatureExtractor] = None):
        super().__init__()
        if metric not in ALL_METRICS:
            raise ValueError(f"FIDMonitor received metric={metric!r}; expected one of {ALL_METRICS}.")
        if every < 1 or num_samples < 2:
            raise ValueError(f"FIDMonitor received every={every}, num_samples={num_samples}; "
                             "expected every >= 1 and num_samples >= 2.")
        self.real_dataset, self.metric, self.every = real_dataset, metric, every
        self.extractor = choose_features(features, extractor, "FIDMonitor")
        self.num_samples, self.num_real = num_samples, num_real
        self.seed, self.verbose = seed, verbose
        self.log_name = f"val_{metric}"
        self.mode = "min" if metric in LOWER_IS_BETTER else "max"
        self.history = []  # (epoch, value, seconds)
        self._real = None

    def on_train_begin(self, logs=None):
        if self._real is None:
            real = check_images(real_images(self.real_dataset, self.num_real), "FIDMonitor (real images)")
            self._extractor = resolve_extractor(self.extractor, real.shape[1:])
            check_metrics([self.metric], self._extractor, "FIDMonitor")
            self._real = self._extractor(real)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.time()
        fake = self._extractor(generate_images(self.model, self.num_samples, self.seed))
        value = score_features(self._real, fake, [self.metric], self.seed)[self.metric]
        seconds = time.time() - start
        self.history.append((epoch + 1, float(value), seconds))
        if logs is not None:
            logs[self.log_name] = float(value)
        report(f"FIDMonitor: epoch {epoch + 1}: {self.log_name}={value:.4g} "
               f"({self.num_samples} generated vs {len(self._real[0])} real, "
               f"{self._extractor.name} features, {seconds:.1f} s)", self.verbose, logging.INFO)
