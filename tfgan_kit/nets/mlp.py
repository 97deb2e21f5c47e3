"""MLP builders for low-dimensional data: the 2-D ring and grid mode-coverage benchmarks."""

from typing import Optional, Sequence

import keras
from keras import layers

from tfgan_kit.nets.common import (
    CONDITIONINGS,
    MINIBATCH,
    check_choice,
    label_input,
    readout,
    spectral,
)
from tfgan_kit.nets.layers import MinibatchDiscrimination, MinibatchStdDev


def mlp_generator(
    output_dim: int = 2,
    latent_dim: int = 2,
    hidden: Sequence[int] = (128, 128),
    num_classes: Optional[int] = None,
    name: str = "generator",
) -> keras.Model:
    """MLP generator for low-dimensional data (the 2-D ring and grid benchmarks).

    The output is linear: 2-D mixture data is not squashed into [-1, 1].
    """
    z = keras.Input((latent_dim,), name="z")
    labels = label_input(num_classes)
    h = z
    if labels is not None:
        h = layers.Concatenate()([z, layers.Embedding(num_classes, latent_dim)(labels)])
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    out = layers.Dense(output_dim, dtype="float32")(h)
    return keras.Model(z if labels is None else [z, labels], out, name=name)


def mlp_discriminator(
    input_dim: int = 2,
    hidden: Sequence[int] = (128, 128),
    norm: str = "none",
    num_classes: Optional[int] = None,
    minibatch: Optional[str] = None,
    conditioning: str = "projection",
    name: str = "discriminator",
) -> keras.Model:
    """MLP discriminator (LeakyReLU, logit output) for low-dimensional data.

    `minibatch` (`"stddev"` or `"discrimination"`) adds that layer after the last
    hidden layer and `conditioning` (`"projection"` or `"channel"`: a label
    embedding concatenated to the input) is how a conditional D uses the label,
    as in `dcgan_discriminator`.
    """
    check_choice("norm", norm, ("none", "spectral", "layer"))
    check_choice("minibatch", minibatch, MINIBATCH)
    check_choice("conditioning", conditioning, CONDITIONINGS)
    x = keras.Input((input_dim,), name="samples")
    labels = label_input(num_classes)
    h = x
    if labels is not None and conditioning == "channel":
        h = layers.Concatenate()([x, layers.Embedding(num_classes, input_dim)(labels)])

    def wrap(layer):
        return spectral(layer) if norm == "spectral" else layer

    for units in hidden:
        h = wrap(layers.Dense(units))(h)
        if norm == "layer":
            h = layers.LayerNormalization()(h)
        h = layers.LeakyReLU(0.2)(h)
    if minibatch == "stddev":
        h = MinibatchStdDev()(h)
    elif minibatch == "discrimination":
        h = MinibatchDiscrimination()(h)
    logits = readout(h, labels, num_classes, conditioning, wrap)
    return keras.Model(x if labels is None else [x, labels], logits, name=name)
