"""Pieces shared by the benchmarks: the TF DCGAN tutorial's networks and its hand-written step.

The tutorial (tensorflow.org/tutorials/generative/dcgan) is the reference users know:
its MNIST generator and discriminator, BCE from logits, Adam(1e-4) for each network,
batch 256, and a `tf.function` step in which two tapes watch one forward pass.
"""

import os
import resource
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = "idx:" + os.path.join(REPO, "..", "shared", "data", "mnist")
LATENT_DIM = 100


def tutorial_generator() -> keras.Model:
    z = keras.Input((LATENT_DIM,))
    h = layers.Dense(7 * 7 * 256, use_bias=False)(z)
    h = layers.LeakyReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((7, 7, 256))(h)
    h = layers.Conv2DTranspose(128, 5, 1, "same", use_bias=False)(h)
    h = layers.LeakyReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2DTranspose(64, 5, 2, "same", use_bias=False)(h)
    h = layers.LeakyReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2DTranspose(1, 5, 2, "same", use_bias=False)(h)
    images = layers.Activation("tanh", dtype="float32")(h)
    return keras.Model(z, images, name="tutorial_generator")


def tutorial_discriminator() -> keras.Model:
    x = keras.Input((28, 28, 1))
    h = layers.Dropout(0.3)(layers.LeakyReLU()(layers.Conv2D(64, 5, 2, "same")(x)))
    h = layers.Dropout(0.3)(layers.LeakyReLU()(layers.Conv2D(128, 5, 2, "same")(h)))
    logits = layers.Dense(1, dtype="float32")(layers.Flatten()(h))
    return keras.Model(x, logits, name="tutorial_discriminator")


def tutorial_train_step(generator, discriminator, g_opt, d_opt, batch_size, latent_dim=LATENT_DIM):
    """The tutorial's step, verbatim in spirit: one pass, two tapes, Adam each.

    Any generator of `(batch, latent_dim)` noise and discriminator of logits will do: the
    losses are the non-saturating BCE from logits that `GAN`'s default step computes.
    """
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(images):
        noise = tf.random.normal([batch_size, latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return step


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch of a `fit`."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(values) -> float:
    return float(np.median(values))
