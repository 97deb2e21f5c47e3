"""`GAN`: a `keras.Model` that trains a generator against a discriminator with `fit()`."""

import contextlib
from typing import Optional, Union

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit import augment as augment_lib
from tfgan_kit import export, regularizers
from tfgan_kit import losses as losses_lib
from tfgan_kit._internal import keras_access, networks, optimizers, sampling
from tfgan_kit._internal.signals import METRIC_NAMES
from tfgan_kit.data import checks
from tfgan_kit.trainer import GANTrainer

STEPS = ("shared", "alternating")


def _shape(model: keras.Model, index: int = 0):
    return tuple(model.inputs[index].shape) if getattr(model, "inputs", None) else None


@keras.saving.register_keras_serializable(package="tfgan_kit")
class GAN(GANTrainer, keras.Model):
    """A generator and a discriminator trained against each other with `fit()`.

    The discriminator outputs logits (no sigmoid: the losses are computed from
    logits for numerical stability). Each network has its own optimizer and its
    own `tf.GradientTape`, so gradients only ever reach the network they belong to.
    Every step reports `d_loss`, `g_loss`, `d_real` (mean D(x) as a probability),
    `d_fake` (mean D(G(z))), `d_acc_real` and `d_acc_fake` (D's accuracy on each
    half); the monitors in `tfgan_kit.callbacks` read these names.

    For a class-conditional GAN pass `num_classes`: the generator then takes
    `[z, labels]`, the discriminator `[images, labels]`, and the data yields
    `(images, labels)`.

    Args:
        generator: maps `(batch, latent_dim)` noise (and labels) to images.
        discriminator: maps images (and labels) to `(batch, 1)` logits.
        latent_dim: size of the noise vector.
        num_classes: number of classes for a conditional GAN. Defaults to `None`.
        latent_distribution: `"normal"` (standard normal) or `"uniform"` (on
            [-1, 1]): the prior used by training, `generate` and export.
            Defaults to `"normal"`.
        seed: seed of the model's noise generator. Defaults to `None` (random).

    Examples:

    ```python
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator((28, 28, 1), latent_dim=100),
        tfgan_kit.dcgan_discriminator((28, 28, 1)),
        latent_dim=100,
    )
    gan.compile()
    gan.fit(tfgan_kit.load_dataset("mnist", batch_size=128), epochs=20)
    images = gan.generate(16, seed=0)
    ```
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_classes: Optional[int] = None,
        latent_distribution: str = "normal",
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        sampling.check_latent_distribution("GAN", latent_distribution)
        if not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
            raise ValueError(f"GAN received latent_dim={latent_dim!r}; expected a positive int.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.latent_distribution = latent_distribution
        self.seed = seed
        self.image_shape = self._validate_networks()
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed_generator")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}
        self.augment, self._d_features, self._g_loss_reads_real = None, None, False  # compile sets them
        self.built = True

    def _validate_networks(self) -> tuple:
        """Checks the networks fit together here, rather than deep inside `fit`."""
        expected_z = (None, self.latent_dim)
        z_shape = _shape(self.generator)
        if z_shape is not None and tuple(z_shape[1:]) != expected_z[1:]:
            raise ValueError(
                f"The generator {self.generator.name!r} takes inputs of shape {z_shape}, "
                f"but latent_dim={self.latent_dim} needs {expected_z}."
            )
        image_shape = networks.generator_output_shape(
            self.generator, self.latent_dim, self.num_classes is not None, "GAN"
        )
        d_shape = _shape(self.discriminator)
        if d_shape is not None and tuple(d_shape[1:]) != image_shape[1:]:
            raise ValueError(
                f"The generator {self.generator.name!r} outputs shape {image_shape}, but the "
                f"discriminator {self.discriminator.name!r} takes inputs of shape {d_shape}."
            )
        return image_shape[1:]

    # ------------------------------------------------------------------ compile

    def compile(
        self,
        d_optimizer: Optional[keras.optimizers.Optimizer] = None,
        g_optimizer: Optional[keras.optimizers.Optimizer] = None,
        loss: Union[str, tuple] = "non_saturating",
        d_steps: int = 1,
        step: str = "shared",
        g_steps: int = 1,
        label_smoothing: float = 0.0,
        gradient_penalty: float = 0.0,
        r1_gamma: float = 0.0,
        r2_gamma: float = 0.0,
        feature_matching: Optional[Union[str, int]] = None,
        feature_matching_weight: float = 1.0,
        historical_averaging: float = 0.0,
        generator_ema: Optional[float] = None,
        augment=None,
        **kwargs,
    ):
        """Configures both players' optimizers, the loss family and the stability tricks.

        Args:
            d_optimizer: the discriminator's optimizer. Defaults to Adam(2e-4, beta_1=0.5).
            g_optimizer: the generator's optimizer (a different object). Same default.
            loss: a name from `tfgan_kit.losses.LOSSES` (`"non_saturating"`,
                `"minimax"`, `"hinge"`, `"least_squares"`, `"wasserstein"`, `"relativistic"`) or a
                `(d_loss, g_loss)` pair of functions. Defaults to `"non_saturating"`.
            d_steps: discriminator updates per training step. Defaults to 1.
            g_steps: generator updates per training step, after D's; with
                `d_steps` it sets the ratio (e.g. `g_steps=2` when D wins too
                easily). For TTUR give the two optimizers different learning
                rates. Defaults to 1.
            step: `"shared"`: with `d_steps=1` both tapes watch one forward pass and
                G learns against D before D's update (the TF tutorial's loop, fastest);
                `"alternating"`: G takes a fresh pass against the updated D.
                Defaults to `"shared"`.
            label_smoothing: one-sided: real targets become `1 - label_smoothing`,
                fake targets stay 0. Defaults to 0.
            gradient_penalty: weight of the WGAN-GP penalty. Defaults to 0 (off).
            r1_gamma: gamma of the R1 penalty on real images (applied as gamma / 2).
                Defaults to 0.
            r2_gamma: gamma of the R2 penalty, R1's twin on generated images; with
                `loss="relativistic"` and R1 it is R3GAN's recipe. Defaults to 0.
            feature_matching: name or index of a discriminator layer whose mean
                activation the generator matches between real and fake. Defaults
                to `None` (off).
            feature_matching_weight: weight of that term in G's loss. Defaults to 1.
            historical_averaging: weight of the historical-averaging penalty on both
                networks. Defaults to 0 (off).
            generator_ema: decay of an exponential moving average of the
                generator's weights (e.g. 0.999), kept in-graph by `g_optimizer`
                (Keras' `use_ema`); `generate` and export then use the average.
                Defaults to `None` (off).
            augment: what D sees of real and generated images in training:
                `None`, a DiffAugment policy (`"color,translation,cutout"`), `"ada"`
                (adaptive: p steered by D's overfitting), or a `tfgan_kit.DiffAugment`
                / `ADA`. For a few hundred images. Defaults to `None`.
            **kwargs: passed to `keras.Model.compile` (`steps_per_execution`,
                `jit_compile`, `run_eagerly`); `optimizer`, `loss` and `metrics` are
                not accepted.
        """
        for key in ("optimizer", "metrics"):
            if key in kwargs:
                raise ValueError(
                    f"GAN.compile received {key}=...; a GAN takes d_optimizer= and "
                    "g_optimizer= and reports its own metrics."
                )
        if d_steps < 1 or int(d_steps) != d_steps:
            raise ValueError(f"GAN.compile received d_steps={d_steps!r}; expected an int >= 1.")
        if g_steps < 1 or int(g_steps) != g_steps:
            raise ValueError(f"GAN.compile received g_steps={g_steps!r}; expected an int >= 1.")
        if step not in STEPS:
            raise ValueError(f"GAN.compile received step={step!r}; expected one of {STEPS}.")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"GAN.compile received label_smoothing={label_smoothing!r}; expected [0, 1)."
            )
        d_optimizer, g_optimizer = optimizers.player_optimizers(
            d_optimizer, g_optimizer, self.dtype_policy.name, generator_ema)
        # optimizer=None: no stray default optimizer for BackupAndRestore or LR callbacks.
        super().compile(optimizer=None, **kwargs)
        self.generator_ema = generator_ema
        self.augment = augment_lib.get(augment)
        if self.augment is not None and not self.augment.built:  # a deserialized one is built
            self.augment.build()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_fn, self.g_loss_fn = losses_lib.get(loss)
        self._g_loss_reads_real = losses_lib.takes_real_logits(self.g_loss_fn)
        self.loss_name = loss if isinstance(loss, str) else None
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.step = step
        self.label_smoothing = float(label_smoothing)
        self.gradient_penalty = float(gradient_penalty)
        self.r1_gamma = float(r1_gamma)
        self.r2_gamma = float(r2_gamma)
        self.feature_matching = feature_matching
        self.feature_matching_weight = float(feature_matching_weight)
        self.historical_averaging = float(historical_averaging)
        self._d_features = (
            regularizers.feature_model(self.discriminator, feature_matching)
            if feature_matching is not None
            else None
        )
        self._d_history = self._g_history = None
        if historical_averaging:
            self._d_history = regularizers.HistoricalAverage(
                self.discriminator.trainable_variables, "d_history"
            )
            self._g_history = regularizers.HistoricalAverage(
                self.generator.trainable_variables, "g_history"
            )
        # Built here so checkpoints and BackupAndRestore see the slots from the start.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if self.loss_name is None:
            return None  # A custom loss pair cannot be serialized by name.
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "step": self.step,
            "label_smoothing": self.label_smoothing,
            "gradient_penalty": self.gradient_penalty,
            "r1_gamma": self.r1_gamma,
            "r2_gamma": self.r2_gamma,
            "feature_matching": self.feature_matching,
            "feature_matching_weight": self.feature_matching_weight,
            "historical_averaging": self.historical_averaging,
            "generator_ema": self.generator_ema,
            "augment": None if self.augment is None
            else keras.saving.serialize_keras_object(self.augment),
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ------------------------------------------------------- checked fit/evaluate

    def fit(self, x=None, y=None, *args, check_data: bool = True, **kwargs):
        """`keras.Model.fit`, once `tfgan_kit.data.checks.check_data` accepts the data.

        Wrong image shapes, channels or dtypes, pixels outside the generator's
        range, missing or unexpected labels and empty or endless datasets raise a
        `ValueError` here, before any callback runs or any file is written. The
        check reads one batch, which fills the dataset's shuffle buffer once;
        `check_data=False` skips it. A `tf.data.Dataset` shuffles itself, so
        Keras' default `shuffle=True` (and its warning on every call) is dropped.
        """
        if isinstance(x, tf.data.Dataset) and len(args) < 7:  # shuffle not given positionally
            kwargs.setdefault("shuffle", False)
        if check_data:
            checks.check_data(self, x, y, "fit", kwargs.get("steps_per_epoch"))
            val = kwargs.get("validation_data")
            if val is not None:
                val_x, val_y = (tuple(val) + (None,))[:2] if isinstance(val, tuple) else (val, None)
                checks.check_data(self, val_x, val_y, "fit(validation_data=...)")
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, check_data: bool = True, **kwargs):
        if check_data and not kwargs.get("_use_cached_eval_dataset"):  # fit checked it.
            checks.check_data(self, x, y, "evaluate", kwargs.get("steps"))
        return super().evaluate(x, y, *args, **kwargs)

    # ---------------------------------------------------------------- the step

    def call(self, inputs, training=False):
        """The discriminator's logits on `inputs` (images, or `(images, labels)`).

        Keras builds a model by calling it on a batch (under a strategy `fit`
        does), so the GAN needs a forward pass; D's verdict is the natural one.
        """
        images, labels = self._unpack(inputs)
        return self._discriminate(images, labels, training)[0]

    # ------------------------------------------------------------- generation

    @contextlib.contextmanager
    def ema_weights(self):
        """Within the block the generator holds its EMA weights (when `generator_ema` is on).

        The training weights are put back on exit, so the block is safe mid-`fit`
        (sample grids, metrics) and around export.
        """
        averages = keras_access.ema_variables(getattr(self, "g_optimizer", None))
        if not averages:
            yield self.generator
            return
        variables = self.generator.trainable_variables
        saved = [v.numpy() for v in variables]
        for v, average in zip(variables, averages):
            v.assign(average)
        try:
            yield self.generator
        finally:
            for v, value in zip(variables, saved):
                v.assign(value)

    def generate(
        self,
        num_samples: int,
        seed: Optional[int] = None,
        labels=None,
        batch_size: int = 256,
        use_ema: bool = True,
    ) -> np.ndarray:
        """`num_samples` images in the data's range ([-1, 1] for tanh generators).

        The same `seed` gives the same images (the noise is stateless); `labels`
        chooses the classes of a conditional GAN (random classes otherwise). With
        `generator_ema` on, the averaged weights draw them unless `use_ema=False`.
        """
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        z = self.sample_latent(num_samples, sampling.generation_seed(seed))
        if self.num_classes is not None:
            if labels is None:
                labels = np.random.default_rng(seed).integers(0, self.num_classes, num_samples)
            labels = np.asarray(labels, np.int32).reshape(-1)
            if labels.shape[0] != num_samples:
                raise ValueError(
                    f"generate received {labels.shape[0]} labels for num_samples={num_samples}."
                )
        elif labels is not None:
            raise ValueError("generate received labels, but this GAN is not conditional.")
        out = []
        with self.ema_weights() if use_ema else contextlib.nullcontext():
            for start in range(0, num_samples, batch_size):
                z_part = z[start : start + batch_size]
                l_part = None if labels is None else tf.constant(labels[start : start + batch_size])
                out.append(np.asarray(self._generate(z_part, l_part, training=False), np.float32))
        return np.concatenate(out) if out else np.zeros((0,) + self.image_shape, np.float32)

    def export_generator(
        self, export_root: str = "saved_models", name: str = "generator", **kwargs
    ) -> str:
        """Writes the generator for TF Serving: see `tfgan_kit.export_generator`."""
        return export.export_generator(self, export_root, name, **kwargs)

    # ------------------------------------------------------------ serialization

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim,
                "num_classes": self.num_classes,
                "latent_distribution": self.latent_distribution,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
