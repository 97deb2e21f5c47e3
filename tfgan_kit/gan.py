"""`GAN`: a `keras.Model` that trains a generator against a discriminator with `fit()`."""

import contextlib
from typing import Optional, Union

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit import distribute
from tfgan_kit import losses as losses_lib
from tfgan_kit import regularizers, validation

METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake")
LATENT_DISTRIBUTIONS = ("normal", "uniform")
STEPS = ("shared", "alternating")


def _shape(model: keras.Model, index: int = 0):
    return tuple(model.inputs[index].shape) if getattr(model, "inputs", None) else None


def _default_optimizer() -> keras.optimizers.Optimizer:
    # The DCGAN paper's recipe (Radford et al. 2016): Adam, lr 2e-4, beta_1 0.5.
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="tfgan_kit")
class GAN(keras.Model):
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

    Example:

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
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(
                f"GAN received latent_distribution={latent_distribution!r}; "
                f"expected one of {LATENT_DISTRIBUTIONS}."
            )
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
        z = keras.KerasTensor(expected_z)
        inputs = z if self.num_classes is None else [z, keras.KerasTensor((None,), "int32")]
        try:
            out = self.generator.compute_output_spec(inputs)
        except Exception as e:
            raise ValueError(
                f"The generator {self.generator.name!r} cannot take noise of shape "
                f"{expected_z}{' with labels' if self.num_classes else ''}: {e}"
            ) from e
        image_shape = tuple(out.shape)
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
        feature_matching: Optional[Union[str, int]] = None,
        feature_matching_weight: float = 1.0,
        historical_averaging: float = 0.0,
        generator_ema: Optional[float] = None,
        **kwargs,
    ):
        """Configures both players' optimizers, the loss family and the stability tricks.

        Args:
            d_optimizer: the discriminator's optimizer. Defaults to Adam(2e-4, beta_1=0.5).
            g_optimizer: the generator's optimizer (a different object). Same default.
            loss: a name from `tfgan_kit.losses.LOSSES` (`"non_saturating"`,
                `"minimax"`, `"hinge"`, `"least_squares"`, `"wasserstein"`) or a
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
            r1_gamma: gamma of the R1 penalty (applied as gamma / 2). Defaults to 0.
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
        d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer else _default_optimizer()
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer else _default_optimizer()
        if d_optimizer is g_optimizer:
            raise ValueError(
                "GAN.compile received the same optimizer object for both networks; "
                "each network needs its own (its slots are per variable)."
            )
        # optimizer=None: no stray default optimizer for BackupAndRestore or LR callbacks.
        super().compile(optimizer=None, **kwargs)
        if self.dtype_policy.name == "mixed_float16":
            d_optimizer, g_optimizer = (
                opt if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
                for opt, name in ((d_optimizer, "d"), (g_optimizer, "g"))
            )
        if generator_ema is not None:
            if not 0.0 < generator_ema < 1.0:
                raise ValueError(
                    f"GAN.compile received generator_ema={generator_ema!r}; expected a decay "
                    "in (0, 1), e.g. 0.999."
                )
            inner = getattr(g_optimizer, "inner_optimizer", g_optimizer)
            inner.use_ema, inner.ema_momentum = True, float(generator_ema)
            inner.ema_overwrite_frequency = None
        self.generator_ema = generator_ema
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_fn, self.g_loss_fn = losses_lib.get(loss)
        self.loss_name = loss if isinstance(loss, str) else None
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.step = step
        self.label_smoothing = float(label_smoothing)
        self.gradient_penalty = float(gradient_penalty)
        self.r1_gamma = float(r1_gamma)
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
            "feature_matching": self.feature_matching,
            "feature_matching_weight": self.feature_matching_weight,
            "historical_averaging": self.historical_averaging,
            "generator_ema": self.generator_ema,
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
        """`keras.Model.fit`, once `tfgan_kit.validation.check_data` accepts the data.

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
            validation.check_data(self, x, y, "fit", kwargs.get("steps_per_epoch"))
            val = kwargs.get("validation_data")
            if val is not None:
                val_x, val_y = (tuple(val) + (None,))[:2] if isinstance(val, tuple) else (val, None)
                validation.check_data(self, val_x, val_y, "fit(validation_data=...)")
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, check_data: bool = True, **kwargs):
        if check_data and not kwargs.get("_use_cached_eval_dataset"):  # fit checked it.
            validation.check_data(self, x, y, "evaluate", kwargs.get("steps"))
        return super().evaluate(x, y, *args, **kwargs)

    # ---------------------------------------------------------------- the step

    def call(self, inputs, training=False):
        """The discriminator's logits on `inputs` (images, or `(images, labels)`).

        Keras builds a model by calling it on a batch (under a strategy `fit`
        does), so the GAN needs a forward pass; D's verdict is the natural one.
        """
        images, labels = self._unpack(inputs)
        return self._discriminate(images, labels, training)[0]

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        elif isinstance(data, dict):
            images, labels = data["images"], data.get("labels")
        else:
            images, labels = data, None
        if self.num_classes is None:
            labels = None
        elif labels is None:
            labels = tf.zeros(tf.shape(images)[:1], tf.int32)
        else:
            labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        return images, labels

    @staticmethod
    def _replica() -> tuple:
        """(index, count) of the current replica; (0, 1) outside `strategy.run`."""
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return 0, 1
        return context.replica_id_in_sync_group, context.num_replicas_in_sync

    def _draw_seed(self, per_replica: bool = True) -> tf.Tensor:
        """A fresh stateless seed, the same on every replica unless `per_replica`.

        `SeedGenerator.next()` advances identically on all replicas, so a replica
        that needs its own randomness folds its id in (`per_replica=True`).
        """
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        index, count = self._replica()
        if per_replica and count > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, index)
        return seed

    def sample_latent(self, batch_size, seed) -> tf.Tensor:
        """Noise from the model's prior, deterministic in `seed` (a [2] int tensor)."""
        shape = tf.stack([batch_size, self.latent_dim])
        if self.latent_distribution == "uniform":
            return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
        return tf.random.stateless_normal(shape, seed)

    def _sample_inputs(self, batch_size, labels=None):
        """Generator inputs for one step: noise, plus labels for a conditional GAN.

        Under a strategy each replica draws the noise one device would draw for
        the global batch and keeps its own slice: replicas get different noise,
        and N replicas train exactly like one device on the same global batch.
        """
        seed = self._draw_seed(per_replica=False)
        index, count = self._replica()
        z = self.sample_latent(batch_size * count, seed)
        if labels is None and self.num_classes is not None:
            labels = tf.random.stateless_uniform(
                [batch_size * count], tf.random.experimental.stateless_fold_in(seed, 1),
                minval=0, maxval=self.num_classes, dtype=tf.int32,
            )
            if count > 1:
                labels = labels[index * batch_size : (index + 1) * batch_size]
        if count > 1:
            z = z[index * batch_size : (index + 1) * batch_size]
        return z, labels

    def _generate(self, z, labels, training):
        inputs = z if labels is None else [z, labels]
        return self.generator(inputs, training=training)

    def _discriminate(self, images, labels, training):
        """(logits, features) of D; features only when feature matching is on."""
        inputs = images if labels is None else [images, labels]
        if self._d_features is None:
            return self.discriminator(inputs, training=training), None
        return self._d_features(inputs, training=training)

    def _d_loss(self, real, fake, real_logits, fake_logits, labels):
        loss = self.d_loss_fn(real_logits, fake_logits, 1.0 - self.label_smoothing)
        if self.gradient_penalty:
            loss += self.gradient_penalty * regularizers.gradient_penalty(
                self.discriminator, real, fake, self._draw_seed(), labels
            )
        if self.r1_gamma:
            loss += 0.5 * self.r1_gamma * regularizers.r1_penalty(
                self.discriminator, real, labels
            )
        if self._d_history is not None:
            loss += self.historical_averaging * self._d_history.penalty()
        return loss

    def _g_loss(self, fake_logits, real_features, fake_features):
        loss = self.g_loss_fn(fake_logits)
        if self._d_features is not None:
            loss += self.feature_matching_weight * regularizers.feature_matching_loss(
                real_features, fake_features
            )
        if self._g_history is not None:
            loss += self.historical_averaging * self._g_history.penalty()
        return loss

    def _apply(self, optimizer, tape, loss, network, history):
        """Gradients of `loss` for `network` only, applied by its own optimizer.

        The optimizer sums gradients across replicas, so each replica's gradient
        is divided by the replica count here (once) and the loss logged unscaled.
        Under mixed_float16 the factor also carries the optimizer's loss scale.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        factor = optimizer.scale_loss(tf.constant(1.0)) / replicas
        variables = network.trainable_variables
        grads = tape.gradient(loss, variables, output_gradients=tf.cast(factor, loss.dtype))
        optimizer.apply_gradients(zip(grads, variables))
        if history is not None:
            history.update()

    def train_step(self, data):
        real, labels = self._unpack(data)
        if self.step == "shared" and self.d_steps == 1 and self.g_steps == 1:
            d_loss, g_loss, real_logits, fake_logits = self._shared_step(real, labels)
        else:
            for _ in range(self.d_steps):
                d_loss, real_logits, fake_logits = self._discriminator_step(real, labels)
            for _ in range(self.g_steps):
                g_loss = self._generator_step(real, labels)
        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _shared_step(self, real, labels):
        """One forward pass watched by both tapes; each tape updates its own network."""
        z, fake_labels = self._sample_inputs(tf.shape(real)[0])
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = self._generate(z, fake_labels, training=True)
            real_logits, real_features = self._discriminate(real, labels, training=True)
            fake_logits, fake_features = self._discriminate(fake, fake_labels, training=True)
            d_loss = self._d_loss(real, fake, real_logits, fake_logits, labels)
            g_loss = self._g_loss(fake_logits, real_features, fake_features)
        self._apply(self.d_optimizer, d_tape, d_loss, self.discriminator, self._d_history)
        self._apply(self.g_optimizer, g_tape, g_loss, self.generator, self._g_history)
        return d_loss, g_loss, real_logits, fake_logits

    def _discriminator_step(self, real, labels):
        z, fake_labels = self._sample_inputs(tf.shape(real)[0])
        fake = self._generate(z, fake_labels, training=True)
        with tf.GradientTape() as tape:
            real_logits, _ = self._discriminate(real, labels, training=True)
            fake_logits, _ = self._discriminate(fake, fake_labels, training=True)
            loss = self._d_loss(real, fake, real_logits, fake_logits, labels)
        self._apply(self.d_optimizer, tape, loss, self.discriminator, self._d_history)
        return loss, real_logits, fake_logits

    def _generator_step(self, real, labels):
        """A fresh pass against the discriminator as it is after its update."""
        z, fake_labels = self._sample_inputs(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self._generate(z, fake_labels, training=True)
            fake_logits, fake_features = self._discriminate(fake, fake_labels, training=True)
            real_features = None
            if self._d_features is not None:
                real_features = self._discriminate(real, labels, training=True)[1]
            loss = self._g_loss(fake_logits, real_features, fake_features)
        self._apply(self.g_optimizer, tape, loss, self.generator, self._g_history)
        return loss

    def test_step(self, data):
        real, labels = self._unpack(data)
        z, fake_labels = self._sample_inputs(tf.shape(real)[0])
        fake = self._generate(z, fake_labels, training=False)
        real_logits, real_features = self._discriminate(real, labels, training=False)
        fake_logits, fake_features = self._discriminate(fake, fake_labels, training=False)
        d_loss = self.d_loss_fn(real_logits, fake_logits, 1.0 - self.label_smoothing)
        g_loss = self._g_loss(fake_logits, real_features, fake_features)
        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _update_trackers(self, d_loss, g_loss, real_logits, fake_logits):
        real_logits = tf.cast(real_logits, tf.float32)
        fake_logits = tf.cast(fake_logits, tf.float32)
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
            "d_acc_real": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if distribute.is_multi_worker():
            # Keras reduces multi-worker step outputs with a mean over axis 0, which a
            # scalar lacks (keras #20585); a 1-element vector reduces to the global mean.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    # ------------------------------------------------------------- generation

    @contextlib.contextmanager
    def ema_weights(self):
        """Within the block the generator holds its EMA weights (when `generator_ema` is on).

        The training weights are put back on exit, so the block is safe mid-`fit`
        (sample grids, metrics) and around export.
        """
        optimizer = getattr(self, "g_optimizer", None)
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if inner is None or not inner.use_ema or not inner.built:
            yield self.generator
            return
        variables = self.generator.trainable_variables
        saved = [v.numpy() for v in variables]
        for v, average in zip(variables, inner._model_variables_moving_average):
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
        seed_tensor = tf.constant([seed, 0], tf.int64)
        z = self.sample_latent(num_samples, seed_tensor)
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
        from tfgan_kit.export import export_generator  # export imports this module.

        return export_generator(self, export_root, name, **kwargs)

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
