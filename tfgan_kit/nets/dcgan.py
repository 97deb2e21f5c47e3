"""DCGAN builders for square images (Radford et al. 2016).

Strided (transposed) convolutions instead of pooling, batch normalization in the
generator, ReLU in G with a tanh output, LeakyReLU in D, and no hidden fully
connected layers beyond the projection of z and D's readout. Pass `num_classes`
for the class-conditional variants: G's normalizations take a per-class gain and
bias; D uses the label by projection or as an extra image channel.

The last layers (G's tanh, D's logits) run in float32 under a mixed precision policy.
"""

from typing import Optional, Sequence

import keras
from keras import layers

from tfgan_kit.nets.common import (
    CONDITIONINGS,
    D_NORMS,
    G_NORMS,
    MINIBATCH,
    UPSAMPLINGS,
    check_choice,
    check_image_shape,
    label_input,
    normalization,
    normalize,
    packed,
    readout,
    spectral,
    start_resolution,
)
from tfgan_kit.nets.layers import MinibatchDiscrimination, MinibatchStdDev


def dcgan_generator(
    image_shape: Sequence[int],
    latent_dim: int = 100,
    width: int = 64,
    norm: str = "batch",
    upsampling: str = "transpose",
    kernel_size: int = 5,
    num_classes: Optional[int] = None,
    name: str = "generator",
) -> keras.Model:
    """DCGAN generator: project z to a small feature map, then double it to `image_shape`.

    Args:
        image_shape: `(size, size, channels)`, size 8, 16, 28, 32, 64, ...
        latent_dim: size of z. Defaults to 100.
        width: filters of the last hidden layer; each earlier layer has twice as
            many. Defaults to 64.
        norm: `"batch"` (DCGAN), `"sync_batch"` (batch statistics over the global
            batch, all-reduced across replicas under a `tf.distribute` strategy, so
            N replicas normalize like one device; slower per step), `"instance"` or
            `"none"`. Defaults to `"batch"`.
        upsampling: `"transpose"` (fractionally strided convolutions, the DCGAN
            guideline), or `"nearest"` / `"bilinear"` resizing followed by a
            convolution (avoids checkerboard artefacts). Defaults to `"transpose"`.
        kernel_size: convolution kernel size. Defaults to 5.
        num_classes: makes the generator conditional: inputs `[z, labels]`. Every
            normalization is then class-conditional (a per-class gain and bias, see
            `nets.common.normalize`); the label is not an input beside z, which let
            conditional generators ignore z. Defaults to `None`.
        name: model name.
    """
    check_choice("norm", norm, G_NORMS)
    check_choice("upsampling", upsampling, UPSAMPLINGS)
    size, _, channels = check_image_shape(image_shape)
    start, doublings = start_resolution(size)
    z = keras.Input((latent_dim,), name="z")
    labels = label_input(num_classes)
    filters = width * 2 ** (doublings - 1)

    def block(h, filters, stride, norm, output=False):
        """Upsampling conv, then norm + ReLU; the output layer: tanh, in float32."""
        if stride > 1 and upsampling != "transpose":
            h = layers.UpSampling2D(stride, interpolation=upsampling)(h)
            conv = layers.Conv2D(filters, kernel_size, 1, "same", use_bias=norm == "none")
        else:
            conv = layers.Conv2DTranspose(
                filters, kernel_size, stride, "same", use_bias=norm == "none"
            )
        h = conv(h)
        if output:
            return layers.Activation("tanh", dtype="float32")(h)
        return layers.Activation("relu")(normalize(h, norm, labels, num_classes))

    h = layers.Dense(start * start * filters * 2, use_bias=norm == "none")(z)
    h = layers.Reshape((start, start, filters * 2))(h)
    h = layers.Activation("relu")(normalize(h, norm, labels, num_classes))
    h = block(h, filters, 1, norm)
    for _ in range(doublings - 1):
        filters //= 2
        h = block(h, max(filters, 1), 2, norm)
    images = block(h, channels, 2, "none", output=True)
    inputs = z if labels is None else [z, labels]
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(
    image_shape: Sequence[int],
    width: int = 64,
    norm: str = "none",
    dropout: float = 0.3,
    kernel_size: int = 5,
    num_classes: Optional[int] = None,
    minibatch: Optional[str] = None,
    conditioning: str = "projection",
    pack: int = 1,
    name: str = "discriminator",
) -> keras.Model:
    """DCGAN discriminator: strided convolutions with LeakyReLU(0.2) down to a logit.

    Args:
        image_shape: `(size, size, channels)`.
        width: filters of the first convolution, doubling at each halving.
            Defaults to 64.
        norm: `"none"`, `"batch"`, `"instance"`, `"layer"`, or `"spectral"`
            (`keras.layers.SpectralNormalization` around every convolution and
            the readout). Never on the first layer. Defaults to `"none"`.
        dropout: dropout rate after each hidden layer (the TF DCGAN tutorial's
            regulariser). Defaults to 0.3.
        kernel_size: convolution kernel size. Defaults to 5.
        num_classes: makes the discriminator conditional: inputs `[images, labels]`.
        conditioning: how a conditional D uses the label: `"projection"` (Miyato &
            Koyama 2018: logit = dense(h) + <embed(label), h> on the last features
            h) or `"channel"` (a learned label plane appended to the image).
            Projection learns the condition far sooner: on the 8x8 digits, 97.6 %
            of generated images showed the requested digit after 40 epochs, vs
            26.8 % with the channel (examples/train_conditional.py, width 16).
            Defaults to `"projection"`.
        minibatch: `"stddev"` appends `MinibatchStdDev` to the last feature map,
            `"discrimination"` puts `MinibatchDiscrimination` before the readout;
            both let D see a batch that lacks variety. Defaults to `None`.
        pack: samples D judges together (`Pack`, PacGAN): D's logits then have
            `batch / pack` rows. Defaults to 1 (no packing).
        name: model name.
    """
    check_choice("norm", norm, D_NORMS)
    check_choice("minibatch", minibatch, MINIBATCH)
    check_choice("conditioning", conditioning, CONDITIONINGS)
    size, _, channels = check_image_shape(image_shape)
    start, doublings = start_resolution(size)
    images = keras.Input((size, size, channels), name="images")
    labels = label_input(num_classes)
    h = packed(images, pack, num_classes)
    if labels is not None and conditioning == "channel":
        plane = layers.Embedding(num_classes, size * size)(labels)
        h = layers.Concatenate()([images, layers.Reshape((size, size, 1))(plane)])

    def wrap(layer):
        return spectral(layer) if norm == "spectral" else layer

    filters = width
    for i in range(max(doublings, 2)):
        h = wrap(layers.Conv2D(filters, kernel_size, 2, "same"))(h)
        norm_layer = normalization(norm) if i > 0 else None
        if norm_layer is not None:
            h = norm_layer(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
        filters *= 2
    if minibatch == "stddev":
        h = MinibatchStdDev()(h)
    h = layers.Flatten()(h)
    if minibatch == "discrimination":
        h = MinibatchDiscrimination()(h)
    logits = readout(h, labels, num_classes, conditioning, wrap)
    inputs = images if labels is None else [images, labels]
    return keras.Model(inputs, logits, name=name)
