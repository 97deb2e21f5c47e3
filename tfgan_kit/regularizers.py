"""Penalties that stabilise GAN training: WGAN-GP, R1, feature matching, historical averaging.

Each is a small function of tensors (or, for historical averaging, a tracked object
that owns its running averages) so a test can check it against a hand computation.
`GAN.compile` switches them on by weight.
"""

from typing import Optional, Sequence

import keras
import tensorflow as tf

__all__ = [
    "gradient_penalty",
    "r1_penalty",
    "r2_penalty",
    "feature_matching_loss",
    "feature_model",
    "HistoricalAverage",
]


def _call_discriminator(discriminator, images, labels, training=True):
    inputs = images if labels is None else [images, labels]
    return discriminator(inputs, training=training)


def _squared_gradient_norm(discriminator, images, labels) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = _call_discriminator(discriminator, images, labels)
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    grads = tf.cast(tape.gradient(total, images), tf.float32)
    return tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads)))


def gradient_penalty(
    discriminator: keras.Model,
    real: tf.Tensor,
    fake: tf.Tensor,
    seed: tf.Tensor,
    labels: Optional[tf.Tensor] = None,
    epsilon: float = 1e-12,
) -> tf.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2].

    `x_hat` lies on the segment between a real and a fake sample with weight
    ~ U[0, 1] (not normal); `epsilon` inside the square root keeps the gradient of
    the norm finite where the gradient vanishes.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], 0)
    alpha = tf.random.stateless_uniform(shape, seed=seed)
    interpolated = real + alpha * (fake - real)
    norm = tf.sqrt(_squared_gradient_norm(discriminator, interpolated, labels) + epsilon)
    return tf.reduce_mean(tf.square(norm - 1.0))


def r1_penalty(
    discriminator: keras.Model, real: tf.Tensor, labels: Optional[tf.Tensor] = None
) -> tf.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad D(x)||^2] on real data only.

    Callers scale by gamma / 2, the form the paper writes.
    """
    real = tf.cast(real, tf.float32)
    return tf.reduce_mean(_squared_gradient_norm(discriminator, real, labels))


def r2_penalty(
    discriminator: keras.Model, fake: tf.Tensor, labels: Optional[tf.Tensor] = None
) -> tf.Tensor:
    """R2, R1's twin on generated data: E[||grad D(G(z))||^2], G held fixed.

    Paired with R1 and the relativistic loss, R3GAN (Huang et al. 2024) trains stably
    without other tricks. Callers scale by gamma / 2.
    """
    return r1_penalty(discriminator, tf.stop_gradient(fake), labels)


def feature_matching_loss(real_features: tf.Tensor, fake_features: tf.Tensor) -> tf.Tensor:
    """||E f(x) - E f(G(z))||^2 over an intermediate discriminator feature f.

    Salimans et al. (2016): the generator matches the statistics of real data
    instead of maximising D's output, which resists over-training on the current D.
    """
    real_mean = tf.reduce_mean(tf.cast(real_features, tf.float32), axis=0)
    fake_mean = tf.reduce_mean(tf.cast(fake_features, tf.float32), axis=0)
    return tf.reduce_sum(tf.square(real_mean - fake_mean))


def feature_model(discriminator: keras.Model, layer) -> keras.Model:
    """`discriminator` with a second output: the activation of `layer` (name or index)."""
    if isinstance(layer, int):
        target = discriminator.layers[layer]
    else:
        names = [l.name for l in discriminator.layers]
        if layer not in names:
            raise ValueError(
                f"feature_matching={layer!r} is not a layer of {discriminator.name!r}; "
                f"its layers are {names}."
            )
        target = discriminator.get_layer(layer)
    return keras.Model(
        discriminator.inputs,
        [discriminator.outputs[0], keras.layers.Flatten()(target.output)],
        name=f"{discriminator.name}_with_features",
    )


class HistoricalAverage:
    """Running mean of a network's weights and the penalty ||theta - mean(theta)||^2.

    Salimans et al. (2016): penalising distance from the historical average damps
    the oscillations of gradient descent on a game. The average is the cumulative
    mean of the initial weights and the weights after every optimizer step
    (`update`), so the penalty is 0 at step 0 and grows as weights move away from
    where they have been (after one step it is `||theta_1 - theta_0||^2 / 4`).
    """

    def __init__(self, variables: Sequence[tf.Variable], name: str):
        self.variables = list(variables)
        # The initial weights are the first point of the history.
        self.count = keras.Variable(1.0, trainable=False, name=f"{name}_count")
        # A copy of the current value: `keras.Variable(v.value)` would share v's storage
        # (the average would follow the weights and the penalty would stay 0).
        self.averages = [
            keras.Variable(
                tf.identity(tf.cast(v, tf.float32)), trainable=False, name=f"{name}_avg_{i}"
            )
            for i, v in enumerate(self.variables)
        ]

    def penalty(self) -> tf.Tensor:
        return tf.add_n(
            [
                tf.reduce_sum(tf.square(tf.cast(v, tf.float32) - avg.value))
                for v, avg in zip(self.variables, self.averages)
            ]
        )

    def update(self) -> None:
        count = self.count.value + 1.0
        for v, avg in zip(self.variables, self.averages):
            avg.assign(avg.value + (tf.cast(v, tf.float32) - avg.value) / count)
        self.count.assign(count)
