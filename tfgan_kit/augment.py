"""Differentiable augmentation of what the discriminator sees: DiffAugment and adaptive (ADA).

With a few hundred images the discriminator memorises them and its verdicts stop
generalising. DiffAugment (Zhao et al. 2020) applies the same random, differentiable
transformations to real and generated images in every discriminator pass (and to the
generated ones in the generator's), so D never sees the raw training set and G's
gradient flows through the augmentation. ADA (Karras et al. 2020) applies each
transformation with a probability p steered by the overfitting heuristic
r_t = E[sign(D(x_real))]: p rises while r_t is above its target (0.6) and falls below it.

Randomness is stateless, from seeds the GAN draws per replica, so runs repeat and N
replicas augment like one device.
"""

from typing import Optional, Sequence, Union

import keras
import tensorflow as tf

from tfgan_kit._internal import sampling

POLICIES = ("color", "translation", "cutout")

__all__ = ["DiffAugment", "ADA", "color", "translation", "cutout", "get", "POLICIES"]


def _uniform(seed, salt: int, shape, low=0.0, high=1.0, dtype=tf.float32):
    """Per-image draws; under a strategy, this replica's rows of the global batch's draw, so
    N replicas augment exactly as one device does (the seed is the same on every replica)."""
    index, count = sampling.replica()
    n = shape[0]
    values = tf.random.stateless_uniform([n * count] + list(shape[1:]),
                                         tf.random.experimental.stateless_fold_in(seed, salt),
                                         minval=low, maxval=high, dtype=dtype)
    return values if count == 1 else values[index * n : (index + 1) * n]


def color(x: tf.Tensor, seed) -> tf.Tensor:
    """Random brightness (+-0.5), saturation (x0-2) and contrast (x0.5-1.5) per image."""
    n = tf.shape(x)[0]
    x = x + tf.cast(_uniform(seed, 0, [n, 1, 1, 1], -0.5, 0.5), x.dtype)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * tf.cast(_uniform(seed, 1, [n, 1, 1, 1], 0.0, 2.0), x.dtype) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * tf.cast(_uniform(seed, 2, [n, 1, 1, 1], 0.5, 1.5), x.dtype) + mean


def translation(x: tf.Tensor, seed, ratio: float = 0.125) -> tf.Tensor:
    """Shifts each image by up to `ratio` of its size in each direction, zero-filled (-1 is not
    black here: as in DiffAugment, the padding value is 0)."""
    n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    shift_h = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    shift_w = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    dy = _uniform(seed, 3, [n, 1], -shift_h, shift_h + 1, tf.int32)
    dx = _uniform(seed, 4, [n, 1], -shift_w, shift_w + 1, tf.int32)
    rows = tf.clip_by_value(tf.range(height)[None, :] + dy + 1, 0, height + 1)
    cols = tf.clip_by_value(tf.range(width)[None, :] + dx + 1, 0, width + 1)
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # index 0 and size+1 are the zeros
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def cutout(x: tf.Tensor, seed, ratio: float = 0.5) -> tf.Tensor:
    """Zeroes one random square of `ratio` times the image size in each image."""
    n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    size_h = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    size_w = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    top = _uniform(seed, 5, [n, 1, 1], 0, height + (1 - size_h % 2), tf.int32) - size_h // 2
    left = _uniform(seed, 6, [n, 1, 1], 0, width + (1 - size_w % 2), tf.int32) - size_w // 2
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * tf.cast(~inside, x.dtype)[..., None]


OPS = {"color": color, "translation": translation, "cutout": cutout}


@keras.saving.register_keras_serializable(package="tfgan_kit")
class DiffAugment(keras.layers.Layer):
    """The same random differentiable augmentation for real and generated images, in D's passes.

    Args:
        policy: comma-separated transformations, applied in this order: `"color"`
            (brightness, saturation, contrast), `"translation"` (1/8 of the size),
            `"cutout"` (a square of half the size). Defaults to
            `"color,translation,cutout"`, DiffAugment's choice for small data.
        probability: chance that each transformation is applied to each image; 1 is
            DiffAugment, less is what ADA steers. Defaults to 1.

    Examples:

    ```python
    gan.compile(augment="color,translation,cutout")   # or augment=tfgan_kit.DiffAugment()
    ```
    """

    adaptive = False

    def __init__(self, policy: Union[str, Sequence[str]] = "color,translation,cutout",
                 probability: float = 1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # images are augmented in float32 under any policy
        super().__init__(**kwargs)
        names = [p.strip() for p in (policy.split(",") if isinstance(policy, str) else policy) if p.strip()]
        unknown = [p for p in names if p not in OPS]
        if not names or unknown:
            raise ValueError(f"{type(self).__name__} received policy={policy!r}; expected a "
                             f"comma-separated subset of {POLICIES}.")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"{type(self).__name__} received probability={probability!r}; "
                             "expected [0, 1].")
        self.policy = ",".join(names)
        self.probability = float(probability)

    def _state(self, name: str, value, dtype="float32"):
        return self.add_weight(shape=(), dtype=dtype, name=name, trainable=False,
                               initializer=keras.initializers.Constant(value),
                               aggregation="only_first_replica")

    def build(self, input_shape=None) -> None:
        """Creates `p`: a variable, so ADA or a callback can change it inside the traced step,
        and saved with the model (a resumed run keeps its p)."""
        self._create_state()
        self.built = True

    def _create_state(self) -> None:
        self.p = self._state("augment_p", self.probability)

    def augment(self, x: tf.Tensor, seed) -> tf.Tensor:
        """`x` augmented: each transformation applied to each image with probability `p`."""
        n = tf.shape(x)[0]
        for i, name in enumerate(self.policy.split(",")):
            step_seed = tf.random.experimental.stateless_fold_in(seed, 100 + i)
            changed = OPS[name](x, step_seed)
            apply = _uniform(step_seed, 99, [n, 1, 1, 1]) < self.p
            x = tf.where(apply, changed, x)
        return x

    def update(self, real_logits: tf.Tensor) -> None:
        """Called after every D pass on real images; DiffAugment keeps `p` where it is."""

    def call(self, x, seed):
        return self.augment(x, seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "policy": self.policy, "probability": self.probability}


@keras.saving.register_keras_serializable(package="tfgan_kit")
class ADA(DiffAugment):
    """Adaptive augmentation: `p` follows D's overfitting, r_t = E[sign(D(x_real))].

    Every `interval` discriminator steps, r_t over them is compared with `target`: above
    it (D is sure of every training image: overfitting) p rises, below it p falls, by
    `batch * interval / (speed_kimg * 1000)` a time, so p can go from 0 to 1 in
    `speed_kimg` thousand images (ADA's 500k). `gan.fit` reports `augment_p` and
    `real_sign` (r_t) in the logs.

    Args:
        policy: the transformations, as in `DiffAugment`. Defaults to
            `"color,translation,cutout"`.
        target: the r_t ADA aims for. Defaults to 0.6.
        interval: D steps between adjustments. Defaults to 4.
        speed_kimg: thousands of images for p to go from 0 to 1. Defaults to 500; small
            data sets with few steps want less (e.g. 100).
        initial_p: p at the start. Defaults to 0.
        max_p: the largest p. Defaults to 1.
    """

    adaptive = True

    def __init__(self, policy="color,translation,cutout", target: float = 0.6, interval: int = 4,
                 speed_kimg: float = 500.0, initial_p: float = 0.0, max_p: float = 1.0, **kwargs):
        kwargs.pop("probability", None)
        super().__init__(policy, initial_p, **kwargs)
        if not 0.0 < target < 1.0 or interval < 1 or speed_kimg <= 0 or not 0.0 < max_p <= 1.0:
            raise ValueError(f"ADA received target={target!r}, interval={interval!r}, "
                             f"speed_kimg={speed_kimg!r}, max_p={max_p!r}; expected 0 < target < 1, "
                             "interval >= 1, speed_kimg > 0, 0 < max_p <= 1.")
        self.target, self.interval = float(target), int(interval)
        self.speed_kimg, self.max_p = float(speed_kimg), float(max_p)

    def _create_state(self) -> None:
        super()._create_state()
        self.sign_sum = self._state("ada_sign_sum", 0.0)
        self.seen = self._state("ada_seen", 0.0)
        self.steps = self._state("ada_steps", 0, "int64")
        self.real_sign = self._state("ada_real_sign", 0.0)

    def update(self, real_logits: tf.Tensor) -> None:
        signs = tf.sign(tf.cast(real_logits, tf.float32))
        context = tf.distribute.get_replica_context()
        total, count = tf.reduce_sum(signs), tf.cast(tf.size(signs), tf.float32)
        if context is not None and context.num_replicas_in_sync > 1:
            total, count = context.all_reduce("sum", total), context.all_reduce("sum", count)
        self.sign_sum.assign_add(total)
        self.seen.assign_add(count)
        self.steps.assign_add(1)

        def adjust():
            r_t = self.sign_sum / tf.maximum(self.seen, 1.0)
            step = self.seen / (self.speed_kimg * 1000.0)
            self.p.assign(tf.clip_by_value(self.p + tf.sign(r_t - self.target) * step, 0.0, self.max_p))
            self.real_sign.assign(r_t)
            self.sign_sum.assign(0.0)
            self.seen.assign(0.0)
            return tf.identity(self.p.value)

        tf.cond(self.steps.value % self.interval == 0, adjust, lambda: tf.identity(self.p.value))

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("probability")
        return {**config, "target": self.target, "interval": self.interval,
                "speed_kimg": self.speed_kimg, "initial_p": self.probability, "max_p": self.max_p}


def get(identifier) -> Optional[DiffAugment]:
    """`None`, `"ada"`, a DiffAugment policy string or an augmentation object, as an object."""
    if identifier is None or identifier in ("", "none"):
        return None
    if isinstance(identifier, DiffAugment):
        return identifier
    if identifier == "ada":
        return ADA()
    if isinstance(identifier, str):
        return DiffAugment(identifier)
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    raise ValueError(f"GAN.compile received augment={identifier!r}; expected None, 'ada', a policy "
                     f"such as 'color,translation,cutout', or a tfgan_kit.DiffAugment / ADA.")
