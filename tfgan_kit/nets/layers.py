"""Discriminator layers that look at the whole batch, so a collapsed generator is visible.

A discriminator that judges one sample at a time cannot tell a generator that
emits the same plausible sample for every z from one that covers the data: each
fake looks real on its own. These layers give D a statistic of the batch, so a
lack of variety among the fakes becomes a feature D can use.

Keras already has the other normalisations the seeds list; reuse them:
`keras.layers.SpectralNormalization`, `keras.layers.GroupNormalization(groups=-1)`
(instance norm), `BatchNormalization`, `LayerNormalization`.
"""

from typing import Optional

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgan_kit")
class MinibatchDiscrimination(keras.layers.Layer):
    """Appends, for each sample, its closeness to the rest of the batch (Salimans et al. 2016).

    The features `f(x_i)` (shape `(batch, A)`) are projected by a learned tensor
    `T` of shape `(A, num_kernels, kernel_dim)` to `M_i` (`num_kernels` rows of
    `kernel_dim`); for every kernel `b` the layer appends
    `o(x_i)_b = sum_j exp(-||M_i,b - M_j,b||_1)` over the batch (the sample itself
    included, as in the paper and its code). When the samples are identical every
    `o_b` equals the batch size; diverse samples give smaller values. D can thus
    learn that a batch of fakes is too alike, which counters mode collapse.

    Put it after D's last hidden layer (flatten image features first). The cost
    is `O(batch**2 * num_kernels * kernel_dim)` memory and time. Real and fake
    batches must go through D in separate calls (as `GAN.train_step` does), or
    the statistic mixes them.

    Args:
        num_kernels: number of similarity kernels `B` (features appended).
            Defaults to 50.
        kernel_dim: size `C` of each kernel's projection. Defaults to 5.
        kernel_initializer: initializer of `T`. Defaults to `"glorot_uniform"`.

    Input shape: `(batch, features)`. Output shape: `(batch, features + num_kernels)`.

    Examples:

    ```python
    h = keras.layers.Flatten()(h)
    h = tfgan_kit.MinibatchDiscrimination(num_kernels=50, kernel_dim=5)(h)
    logits = keras.layers.Dense(1)(h)
    ```
    """

    def __init__(
        self,
        num_kernels: int = 50,
        kernel_dim: int = 5,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("num_kernels", num_kernels), ("kernel_dim", kernel_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{self.__class__.__name__} received {name}={value!r}; expected an int >= 1."
                )
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{self.__class__.__name__} {self.name!r} received input shape "
                f"{tuple(input_shape)}; expected (batch, features) with known features "
                "(add a Flatten layer before it)."
            )
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
            initializer=self.kernel_initializer,
            name="kernel",
        )

    def call(self, inputs):
        m = tf.reshape(
            tf.matmul(inputs, tf.cast(self.kernel, inputs.dtype)),
            [-1, self.num_kernels, self.kernel_dim],
        )
        # (batch, 1, B, C) - (1, batch, B, C) -> L1 over C -> (batch, batch, B).
        l1 = tf.reduce_sum(tf.abs(m[:, None] - m[None, :]), axis=-1)
        closeness = tf.reduce_sum(tf.exp(-l1), axis=1)
        return tf.concat([inputs, closeness], axis=-1)

    def compute_output_shape(self, input_shape):
        features = None if input_shape[-1] is None else input_shape[-1] + self.num_kernels
        return (input_shape[0], features)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_kernels": self.num_kernels,
                "kernel_dim": self.kernel_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="tfgan_kit")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's standard deviation as one extra channel (Karras et al. 2018).

    The batch is split into groups of `group_size` samples (sample `i` joins group
    `i % (batch // group_size)`, as in the ProGAN code); within each group the
    standard deviation of every feature over the group's samples is averaged into
    one number, which is appended to each of the group's samples as a constant
    extra channel (feature maps) or feature (vectors). A collapsed generator's
    batch has a standard deviation near 0, real data's does not, so D sees the
    missing variety. It has no weights and costs almost nothing; place it near
    the end of D (before the last convolution or the readout).

    Args:
        group_size: samples per group; the batch size must be a multiple of it
            (a batch smaller than `group_size` forms one group). `None` uses the
            whole batch as one group. Defaults to 4.
        epsilon: added to the variance before the square root, so the gradient
            stays finite when the samples are identical. Defaults to 1e-8.

    Input shape: `(batch, ..., channels)`. Output shape: `(batch, ..., channels + 1)`.

    Examples:

    ```python
    h = tfgan_kit.MinibatchStdDev(group_size=4)(h)   # e.g. on D's 4x4 feature map
    h = keras.layers.Conv2D(128, 3, padding="same")(h)
    ```
    """

    def __init__(self, group_size: Optional[int] = 4, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        if group_size is not None and (not isinstance(group_size, int) or group_size < 2):
            raise ValueError(
                f"{self.__class__.__name__} received group_size={group_size!r}; expected an "
                "int >= 2 (a standard deviation needs two samples) or None for the whole batch."
            )
        if not epsilon > 0:
            raise ValueError(
                f"{self.__class__.__name__} received epsilon={epsilon!r}; expected a value > 0."
            )
        self.group_size = group_size
        self.epsilon = epsilon

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"{self.__class__.__name__} {self.name!r} received input shape "
                f"{tuple(input_shape)}; expected (batch, ..., channels)."
            )

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch = shape[0]
        group = batch if self.group_size is None else tf.minimum(self.group_size, batch)
        tf.debugging.Assert(
            tf.equal(batch % group, 0),
            [f"{self.__class__.__name__} {self.name!r} received a batch of", batch,
             f"samples; expected a multiple of group_size={self.group_size}."],
        )
        x = tf.cast(inputs, tf.float32)
        # (group, batch // group, ...): sample i sits in column i % (batch // group).
        grouped = tf.reshape(x, tf.concat([[group, batch // group], shape[1:]], 0))
        variance = tf.reduce_mean(
            tf.square(grouped - tf.reduce_mean(grouped, axis=0, keepdims=True)), axis=0
        )
        std = tf.sqrt(variance + self.epsilon)
        per_group = tf.reduce_mean(tf.reshape(std, [batch // group, -1]), axis=1)
        per_sample = tf.tile(per_group, [group])  # Row-major: sample i gets group i % (b // g).
        ones = tf.ones(tf.concat([shape[:-1], [1]], 0), inputs.dtype)
        channel = tf.reshape(
            tf.cast(per_sample, inputs.dtype),
            tf.concat([[batch], tf.ones([tf.rank(inputs) - 1], tf.int32)], 0),
        ) * ones
        return tf.concat([inputs, channel], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"group_size": self.group_size, "epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="tfgan_kit")
class Pack(keras.layers.Layer):
    """Joins every `num` consecutive samples along the channels: D judges them as one (PacGAN).

    PacGAN (Lin et al. 2018) gives the discriminator `num` samples at once, all
    real or all fake, and one verdict for the pack. A generator that covers few
    modes makes packs whose members look alike, which real packs rarely do, so D
    is rewarded for spotting the missing variety; with 2 samples a pack their
    DCGAN covered all 1,000 Stacked MNIST modes (KL 0.06) where their unpacked
    one covered 79. Put it first in D: the rest of D sees `num` times the channels
    and `batch / num` samples, so D's logits have `batch / num` rows (the losses
    and logged D(x), D(G(z)) are means over packs). The batch must be a multiple
    of `num`, so a conditional D (one label a sample) cannot pack.

    Args:
        num: samples a pack, >= 1 (1 passes the input through). Defaults to 2.

    Input shape: `(batch, ..., channels)`. Output shape:
    `(batch / num, ..., num * channels)`: channel `k * channels + c` of pack `i`
    is channel `c` of sample `i * num + k`.

    Examples:

    ```python
    images = keras.Input((28, 28, 3))
    h = tfgan_kit.Pack(2)(images)               # (batch / 2, 28, 28, 6)
    h = keras.layers.Conv2D(64, 5, 2, "same")(h)
    ```
    """

    def __init__(self, num: int = 2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num, int) or num < 1:
            raise ValueError(f"{self.__class__.__name__} received num={num!r}; expected an int >= 1.")
        self.num = num

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"{self.__class__.__name__} {self.name!r} received input shape "
                f"{tuple(input_shape)}; expected (batch, ..., channels) with known channels."
            )

    def call(self, inputs):
        if self.num == 1:
            return inputs
        shape = tf.shape(inputs)
        batch = shape[0]
        tf.debugging.Assert(
            tf.equal(batch % self.num, 0),
            [f"{self.__class__.__name__} {self.name!r} received a batch of", batch,
             f"samples; expected a multiple of num={self.num}."],
        )
        rank = len(inputs.shape)
        packs = tf.reshape(inputs, tf.concat([[batch // self.num, self.num], shape[1:]], 0))
        # (packs, num, ..., C) -> (packs, ..., num, C) -> (packs, ..., num * C).
        packs = tf.transpose(packs, [0, *range(2, rank), 1, rank])
        return tf.reshape(packs, tf.concat([[batch // self.num], shape[1:-1], [-1]], 0))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.num
        return (batch, *input_shape[1:-1], input_shape[-1] * self.num)

    def get_config(self):
        config = super().get_config()
        config.update({"num": self.num})
        return config
