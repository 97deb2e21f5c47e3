"""Ready generators and discriminators: DCGAN for square images, an MLP pair for 2-D data.

The DCGAN builders follow Radford et al. (2016): strided (transposed) convolutions
instead of pooling, batch normalization in the generator, ReLU in G with a tanh
output, LeakyReLU in D, and no hidden fully connected layers beyond the projection
of z and D's readout. Pass `num_classes` for the class-conditional variants: G
concatenates a label embedding to z; D receives the label as an extra image channel.

The last layers (G's tanh, D's logits) run in float32 under a mixed precision policy.
"""

from typing import Optional, Sequence, Tuple

import keras
from keras import layers

from tfgan_kit.layers import MinibatchDiscrimination, MinibatchStdDev

G_NORMS = ("batch", "sync_batch", "instance", "none")
D_NORMS = ("none", "batch", "instance", "layer", "spectral")
UPSAMPLINGS = ("transpose", "nearest", "bilinear")
MINIBATCH = (None, "stddev", "discrimination")
CONDITIONINGS = ("projection", "channel")


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"Received {name}={value!r}; expected one of {choices}.")


def _start_resolution(size: int) -> Tuple[int, int]:
    """(start, doublings): size = start * 2**doublings with start >= 4 as small as possible."""
    start, doublings = size, 0
    while start % 2 == 0 and start // 2 >= 4:
        start //= 2
        doublings += 1
    return start, doublings


def _check_image_shape(image_shape) -> Tuple[int, int, int]:
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(
            f"Received image_shape={tuple(image_shape)}; expected a square (size, size, channels)."
        )
    size, _, channels = (int(d) for d in image_shape)
    if _start_resolution(size)[1] == 0:
        raise ValueError(
            f"Received image size {size}; the DCGAN builders need a size of the form "
            "s * 2**k with s >= 4 and k >= 1 (8, 16, 28, 32, 64, ...)."
        )
    return size, size, channels


def _normalization(kind: str):
    if kind == "batch":
        return layers.BatchNormalization()
    if kind == "sync_batch":  # Statistics over the global batch under a tf.distribute strategy.
        return layers.BatchNormalization(synchronized=True)
    if kind == "instance":
        return layers.GroupNormalization(groups=-1)  # Keras' instance norm.
    if kind == "layer":
        return layers.LayerNormalization()
    return None


def _readout(h, labels, num_classes, conditioning: str, wrap):
    """D's float32 logit from features `h`; plus <embed(label), h> for a projection D."""
    logits = wrap(layers.Dense(1, dtype="float32"))(h)
    if labels is None or conditioning != "projection":
        return logits
    embedded = wrap(layers.Embedding(num_classes, h.shape[-1], dtype="float32"))(labels)
    projection = layers.Dot(axes=1, dtype="float32")([h, embedded])
    return layers.Add(dtype="float32")([logits, projection])


def _label_inputs(num_classes: Optional[int]):
    if num_classes is None:
        return None
    return keras.Input((), dtype="int32", name="labels")


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
        num_classes: makes the generator conditional: inputs `[z, labels]`.
        name: model name.
    """
    _check_choice("norm", norm, G_NORMS)
    _check_choice("upsampling", upsampling, UPSAMPLINGS)
    size, _, channels = _check_image_shape(image_shape)
    start, doublings = _start_resolution(size)
    z = keras.Input((latent_dim,), name="z")
    labels = _label_inputs(num_classes)
    h = z
    if labels is not None:
        h = layers.Concatenate()([z, layers.Embedding(num_classes, latent_dim)(labels)])
    filters = width * 2 ** (doublings - 1)

    def block(h, filters, stride, norm, activation="relu", dtype=None):
        if stride > 1 and upsampling != "transpose":
            h = layers.UpSampling2D(stride, interpolation=upsampling)(h)
            conv = layers.Conv2D(filters, kernel_size, 1, "same", use_bias=norm == "none")
        else:
            conv = layers.Conv2DTranspose(
                filters, kernel_size, stride, "same", use_bias=norm == "none"
            )
        h = conv(h)
        normalization = _normalization(norm)
        if normalization is not None:
            h = normalization(h)
        return layers.Activation(activation, dtype=dtype)(h)

    h = layers.Dense(start * start * filters * 2, use_bias=norm == "none")(h)
    h = layers.Reshape((start, start, filters * 2))(h)
    normalization = _normalization(norm)
    if normalization is not None:
        h = normalization(h)
    h = layers.Activation("relu")(h)
    h = block(h, filters, 1, norm)
    for _ in range(doublings - 1):
        filters //= 2
        h = block(h, max(filters, 1), 2, norm)
    images = block(h, channels, 2, "none", activation="tanh", dtype="float32")
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
        name: model name.
    """
    _check_choice("norm", norm, D_NORMS)
    _check_choice("minibatch", minibatch, MINIBATCH)
    _check_choice("conditioning", conditioning, CONDITIONINGS)
    size, _, channels = _check_image_shape(image_shape)
    start, doublings = _start_resolution(size)
    images = keras.Input((size, size, channels), name="images")
    labels = _label_inputs(num_classes)
    h = images
    if labels is not None and conditioning == "channel":
        plane = layers.Embedding(num_classes, size * size)(labels)
        h = layers.Concatenate()([images, layers.Reshape((size, size, 1))(plane)])

    def wrap(layer):
        return layers.SpectralNormalization(layer) if norm == "spectral" else layer

    filters = width
    for i in range(max(doublings, 2)):
        h = wrap(layers.Conv2D(filters, kernel_size, 2, "same"))(h)
        normalization = _normalization(norm) if i > 0 else None
        if normalization is not None:
            h = normalization(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
        filters *= 2
    if minibatch == "stddev":
        h = MinibatchStdDev()(h)
    h = layers.Flatten()(h)
    if minibatch == "discrimination":
        h = MinibatchDiscrimination()(h)
    logits = _readout(h, labels, num_classes, conditioning, wrap)
    inputs = images if labels is None else [images, labels]
    return keras.Model(inputs, logits, name=name)


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
    labels = _label_inputs(num_classes)
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
    _check_choice("norm", norm, ("none", "spectral", "layer"))
    _check_choice("minibatch", minibatch, MINIBATCH)
    _check_choice("conditioning", conditioning, CONDITIONINGS)
    x = keras.Input((input_dim,), name="samples")
    labels = _label_inputs(num_classes)
    h = x
    if labels is not None and conditioning == "channel":
        h = layers.Concatenate()([x, layers.Embedding(num_classes, input_dim)(labels)])

    def wrap(layer):
        return layers.SpectralNormalization(layer) if norm == "spectral" else layer

    for units in hidden:
        h = wrap(layers.Dense(units))(h)
        if norm == "layer":
            h = layers.LayerNormalization()(h)
        h = layers.LeakyReLU(0.2)(h)
    if minibatch == "stddev":
        h = MinibatchStdDev()(h)
    elif minibatch == "discrimination":
        h = MinibatchDiscrimination()(h)
    logits = _readout(h, labels, num_classes, conditioning, wrap)
    return keras.Model(x if labels is None else [x, labels], logits, name=name)
