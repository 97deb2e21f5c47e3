"""`ModeCollapseMonitor`: notices when generated samples stop varying, says so, and acts."""

from typing import Callable, Dict, Optional, Union

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit import regularizers
from tfgan_kit._internal import batches
from tfgan_kit._internal.keras_access import ema_variables, inner_optimizer
from tfgan_kit._internal.logs import report
from tfgan_kit._internal.signals import check_gan, check_mode
from tfgan_kit.metrics.diversity import class_stats, diversity_stats
from tfgan_kit.nets.layers import Pack

COLLAPSE_MODES = ("warn", "stop", "restore_best")
UNITS = ("epoch", "batch")
FEATURES = ("pixels", "discriminator")


class ModeCollapseMonitor(keras.callbacks.Callback):
    """Detects mode collapse by comparing generated diversity with real diversity, and acts.

    Mode collapse is samples that stop varying with z. Every `every` epochs (or
    batches, with `unit="batch"`) the monitor draws `num_samples` generated
    images from fixed noise and compares them with `num_samples` real images in
    a feature space: raw pixels, the discriminator's penultimate features, or a
    model you give. It fires when

    - the mean pairwise distance of generated samples is below `min_diversity`
      times the real samples' (`diversity_ratio`; 0 when G ignores z), or
    - more than `max_duplicate_rate` of the generated samples have a near
      duplicate: a generated neighbour closer than `duplicate_distance` times the
      median nearest-neighbour distance among the real samples (partial collapse
      onto a few images), or
    - with a `classifier`, fewer than `min_class_coverage` of the classes present
      in the real batch appear among the generated samples (also reported:
      `class_kl`, KL(real class histogram || generated), add-half smoothed).

    Diversity in pixel space grows with training, so the thresholds catch
    collapse, not immaturity -- after a `warmup`: an untrained generator in
    inference mode draws nearly the same image for every z. The measurements
    behind the defaults are in `docs/concepts.md`, "Why the monitors' defaults".

    Per episode (consecutive collapsed checks): `mode="warn"` logs one line
    (logger `"tfgan_kit"`); `"stop"` ends `fit` and keeps the reason in
    `stop_reason`; `"restore_best"` puts back the generator weights (and the
    generator EMA, when on) of the most diverse healthy check seen, and carries
    on training (each later collapse restores again). Every episode is
    appended to `events` (`epoch` 1-based, `step` = batches since `fit` began,
    the statistics, the `action`); the epoch logs get `mode_collapse_events`,
    `diversity_ratio` and `duplicate_rate` (last measured), so `History` keeps
    them. Checks run eagerly outside the train step, so under a `tf.distribute`
    strategy they see the one global generator (behaviour to test: "monitors
    read global values under MirroredStrategy").

    Args:
        real_data: real images: a numpy array `(n, H, W, C)` in the data's
            range, an `(images, labels)` tuple, or a `tf.data.Dataset` yielding
            images or `(images, labels)` (batched or not); `num_samples` of them
            are taken once when `fit` begins.
        num_samples: generated and real samples per check. Defaults to 128.
        every: check every `every` epochs (or batches). Defaults to 1.
        unit: `"epoch"` or `"batch"`. Defaults to `"epoch"`.
        features: `"pixels"`, `"discriminator"` (penultimate layer, as D sees
            the images now) or a model/callable mapping images to features.
            Defaults to `"pixels"`.
        min_diversity: smallest healthy diversity ratio. Defaults to 0.05.
        max_duplicate_rate: largest healthy near-duplicate rate. Defaults to 0.25.
        duplicate_distance: near-duplicate radius as a fraction of the median
            real nearest-neighbour distance. Defaults to 0.1.
        classifier: optional model/callable mapping images to class
            probabilities or logits `(n, classes)`. Defaults to `None`.
        min_class_coverage: smallest healthy fraction of real classes covered
            (only with a classifier). Defaults to 0.5.
        mode: `"warn"`, `"stop"` or `"restore_best"`. Defaults to `"warn"`.
        use_ema: measure the generator's EMA weights (when `generator_ema` is
            on) instead of the training weights, which collapse first.
            Defaults to False.
        warmup: generator steps (`g_optimizer.iterations`, so resumed runs
            count from where they were) before a check may fire or save weights;
            earlier checks are measured and kept in `history` with
            `"warmup": True`. Defaults to 500.
        seed: seed of the fixed noise and of the real-sample choice. Defaults to 0.
        verbose: 0 silences the log lines. Defaults to 1.

    Examples:

    ```python
    x, _ = tfgan_kit.load_arrays("digits")
    monitor = tfgan_kit.ModeCollapseMonitor(x, mode="restore_best")
    gan.fit(dataset, epochs=50, callbacks=[monitor])
    print(monitor.events, monitor.history[-1])
    ```
    """

    def __init__(
        self,
        real_data,
        num_samples: int = 128,
        every: int = 1,
        unit: str = "epoch",
        features: Union[str, Callable] = "pixels",
        min_diversity: float = 0.05,
        max_duplicate_rate: float = 0.25,
        duplicate_distance: float = 0.1,
        classifier: Optional[Callable] = None,
        min_class_coverage: float = 0.5,
        mode: str = "warn",
        use_ema: bool = False,
        warmup: int = 500,
        seed: int = 0,
        verbose: int = 1,
    ):
        super().__init__()
        name = self.__class__.__name__
        check_mode(name, mode, COLLAPSE_MODES)
        if unit not in UNITS:
            raise ValueError(f"{name} received unit={unit!r}; expected one of {UNITS}.")
        if isinstance(features, str) and features not in FEATURES:
            raise ValueError(
                f"{name} received features={features!r}; expected one of {FEATURES} "
                "or a model mapping images to features."
            )
        if not (isinstance(features, str) or callable(features)):
            raise ValueError(f"{name} received features={features!r}; it is not callable.")
        if classifier is not None and not callable(classifier):
            raise ValueError(f"{name} received classifier={classifier!r}; it is not callable.")
        for key, value, low in (("num_samples", num_samples, 3), ("every", every, 1),
                                ("warmup", warmup, 0)):
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} received {key}={value!r}; expected an int >= {low}.")
        for key, value in (("min_diversity", min_diversity),
                           ("max_duplicate_rate", max_duplicate_rate),
                           ("min_class_coverage", min_class_coverage)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} received {key}={value!r}; expected a value in [0, 1].")
        if duplicate_distance <= 0.0:
            raise ValueError(
                f"{name} received duplicate_distance={duplicate_distance!r}; expected > 0."
            )
        if not isinstance(real_data, (np.ndarray, tuple, list, tf.data.Dataset)):
            raise ValueError(
                f"{name} received real_data of type {type(real_data).__name__}; expected a numpy "
                "array of images, an (images, labels) tuple or a tf.data.Dataset."
            )
        self.real_data = real_data
        self.num_samples = int(num_samples)
        self.every = int(every)
        self.unit = unit
        self.features = features
        self.min_diversity = float(min_diversity)
        self.max_duplicate_rate = float(max_duplicate_rate)
        self.duplicate_distance = float(duplicate_distance)
        self.classifier = classifier
        self.min_class_coverage = float(min_class_coverage)
        self.mode = mode
        self.use_ema = use_ema
        self.warmup = int(warmup)
        self.seed = seed
        self.verbose = verbose
        self.events = []
        self.history = []  # every check's statistics
        self.stop_reason = None
        self.best = None  # {"epoch", "step", "diversity_ratio"} of the saved healthy weights

    # ------------------------------------------------------------------ data

    def _take_real(self):
        """`num_samples` real examples (a seeded subset of an array), shape-checked."""
        shape = tuple(self.model.image_shape)
        images, labels = batches.take(self.real_data, self.num_samples, self.seed, len(shape))
        images = np.asarray(images, np.float32)
        if images.ndim < 2 or tuple(images.shape[1:]) != shape or len(images) < 3:
            raise ValueError(
                f"ModeCollapseMonitor received real_data of shape {images.shape}; expected at "
                f"least 3 images of shape {shape} (the generator's output)."
            )
        return images, (None if labels is None else labels.astype(np.int32))

    def _embed(self, images, labels) -> np.ndarray:
        if self.features == "pixels":
            return images.reshape(len(images), -1)
        if self.features == "discriminator":
            inputs = [images] if self.model.num_classes is None else [images, labels]
            return np.asarray(self._d_features(inputs, training=False)[1])
        return np.asarray(self.features(images)).reshape(len(images), -1)

    # ------------------------------------------------------------------ hooks

    def on_train_begin(self, logs=None):
        check_gan(self.__class__.__name__, self.model)
        self._real, self._real_labels = self._take_real()
        self._n = len(self._real)
        if self.model.num_classes is not None and self._real_labels is None:
            self._real_labels = np.random.default_rng(self.seed).integers(
                0, self.model.num_classes, self._n).astype(np.int32)
        if self.features == "discriminator":
            self._d_features = regularizers.feature_model(self.model.discriminator, -2)
        if self.classifier is not None:
            self._real_probs = np.asarray(self.classifier(self._real))
        self._step = 0
        self._episode = None
        self._saved = None
        self.best = None
        self.stop_reason = None
        self._last = {"diversity_ratio": float("nan"), "duplicate_rate": float("nan")}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._seen = 0
        self._epoch_events = 0

    def on_train_batch_end(self, batch, logs=None):
        seen = batch + 1
        if self.params and self.params.get("steps"):
            seen = min(seen, self.params["steps"])
        before, self._step = self._step, self._step + max(seen - self._seen, 0)
        self._seen = max(seen, self._seen)
        if self.unit == "batch" and self._step // self.every > before // self.every:
            self.check()

    def on_epoch_end(self, epoch, logs=None):
        if self.unit == "epoch" and (epoch + 1) % self.every == 0:
            self.check()
        if logs is not None:
            logs["mode_collapse_events"] = self._epoch_events
            logs.update(self._last)

    # ---------------------------------------------------------------- the check

    def measure(self) -> Dict[str, float]:
        """The statistics of the generator as it is now (no action taken)."""
        generated = self.model.generate(
            self._n, seed=self.seed, labels=self._real_labels if self.model.num_classes else None,
            use_ema=self.use_ema,
        )
        stats = diversity_stats(
            self._embed(generated, self._real_labels),
            self._embed(self._real, self._real_labels),
            self.duplicate_distance,
        )
        if self.classifier is not None:
            stats.update(class_stats(np.asarray(self.classifier(generated)), self._real_probs))
        return stats

    def collapsed(self, stats: Dict[str, float]) -> bool:
        return (
            stats["diversity_ratio"] < self.min_diversity
            or stats["duplicate_rate"] > self.max_duplicate_rate
            or stats.get("class_coverage", 1.0) < self.min_class_coverage
        )

    def check(self) -> bool:
        """Measures, records and acts; returns whether the generator looked collapsed."""
        stats = self.measure()
        self._last = {key: stats[key] for key in ("diversity_ratio", "duplicate_rate")}
        where = {"epoch": self._epoch + 1, "step": self._step}
        steps = int(inner_optimizer(self.model.g_optimizer).iterations.numpy())
        self.history.append({**where, **stats, "warmup": steps < self.warmup})
        if steps < self.warmup:
            return False
        if not self.collapsed(stats):
            self._episode = None
            if self.mode == "restore_best" and (
                self.best is None or stats["diversity_ratio"] >= self.best["diversity_ratio"]
            ):
                self._save()
                self.best = {**where, "diversity_ratio": stats["diversity_ratio"]}
            return False
        if self._episode is not None:
            return True  # the same episode: already reported and acted on
        event = {**where, **{k: round(v, 4) for k, v in stats.items()}}
        if self.mode == "stop":
            self.model.stop_training = True
            event["action"] = "stopped training"
        elif self.mode == "restore_best" and self._saved is not None:
            self._restore()
            event["action"] = (
                f"restored the generator from epoch {self.best['epoch']} "
                f"(diversity ratio {self.best['diversity_ratio']:.3f})"
            )
        elif self.mode == "restore_best":
            event["action"] = "no healthy weights to restore yet"
        else:
            event["action"] = "warned"
        # After a restore the generator is the healthy one: the next collapse is a new episode.
        self._episode = None if self.mode == "restore_best" else event
        self.events.append(event)
        self._epoch_events += 1
        message = self._describe(event)
        if self.mode == "stop":
            self.stop_reason = message
        report(message, self.verbose)
        return True

    def _ema_averages(self):
        return ema_variables(getattr(self.model, "g_optimizer", None))

    def _save(self):
        self._saved = (
            [np.array(w) for w in self.model.generator.get_weights()],
            [np.array(v.numpy()) for v in self._ema_averages()],
        )

    def _restore(self):
        weights, averages = self._saved
        self.model.generator.set_weights(weights)
        for variable, value in zip(self._ema_averages(), averages):
            variable.assign(value)

    def _describe(self, event: dict) -> str:
        reasons = []
        if event["diversity_ratio"] < self.min_diversity:
            reasons.append(f"diversity {event['diversity_ratio']:.3f} of the real data's "
                           f"(healthy >= {self.min_diversity:g})")
        if event["duplicate_rate"] > self.max_duplicate_rate:
            reasons.append(f"{event['duplicate_rate']:.0%} of samples have a near duplicate "
                           f"(healthy <= {self.max_duplicate_rate:.0%}; real data "
                           f"{event['real_duplicate_rate']:.0%})")
        if event.get("class_coverage", 1.0) < self.min_class_coverage:
            reasons.append(f"{event['classes_covered']} of {event['real_classes']} classes "
                           f"covered, KL {event['class_kl']:.2f}")
        return (
            f"ModeCollapseMonitor: epoch {event['epoch']}, batch {event['step']}: mode collapse "
            f"in {self.features if isinstance(self.features, str) else 'feature'} space over "
            f"{self._n} samples: {'; '.join(reasons)}. Action: {event['action']}.{self._remedy()}"
        )

    def _remedy(self) -> str:
        """The levers measured against early collapse that this GAN does not pull yet."""
        levers = []
        if not getattr(self.model, "r1_gamma", 0.0):
            levers.append("the R1 penalty (compile(r1_gamma=1.0), train_dcgan.py --r1_gamma=1)")
        discriminator = getattr(self.model, "discriminator", None)
        if (discriminator is not None and getattr(self.model, "num_classes", None) is None
                and not any(isinstance(layer, Pack) for layer in discriminator.layers)):
            levers.append("a discriminator that judges pairs of samples (PacGAN: pack=2 in "
                          "dcgan_discriminator / resnet_discriminator, --pack=2)")
        if self.model.image_shape[-1] >= 3 and getattr(self.model, "loss_name", None) != "hinge":
            levers.append("for color images, SNGAN's ResNet pair with the hinge loss "
                          "(resnet_generator / resnet_discriminator, compile(loss='hinge'); "
                          "train_dcgan.py --recipe=color, or color64 from 64 px)")
        if not levers:
            return ""
        return f" Measured against early collapse: {'; '.join(levers)} (docs: Small data, Your own images)."
