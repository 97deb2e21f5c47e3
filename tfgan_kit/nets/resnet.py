"""SNGAN ResNet builders for square images of 32, 64 and 128 px (Miyato et al. 2018).

Residual blocks in both networks: G upsamples by nearest-neighbour resizing inside
its blocks, D downsamples by average pooling inside its blocks and reads out from a
global sum of its last features. D has spectral normalization on every convolution,
dense layer and embedding, and no other normalization; G has batch normalization.
Any size 4 * 2**k >= 16 works (16, 256, ...), in one of two designs, as in the paper:
up to 32 px the CIFAR-10 one (every block has the same width), from 64 px the
ImageNet one (widths halve towards the image, down to `width / 16`). `min_width`
sets that floor at any size: where pixels are many, channels cost most.
`output_skips` makes G StyleGAN2's skip generator: an image from every resolution, summed.
`pixel_shuffle` runs both networks at a fraction of the image's size (see `PixelShuffle`).

With `num_classes`, G normalizes with class-conditional batch normalization and D
adds the projection <embed(label), h> to its logit (Miyato & Koyama 2018).

The last layers (G's tanh, D's logits) run in float32 under a mixed precision policy.
"""

from typing import Optional, Sequence

import keras
from keras import layers

from tfgan_kit.nets.common import label_input, normalize, packed, readout, spectral
from tfgan_kit.nets.pixel_shuffle import PixelShuffle, PixelUnshuffle


def _check_image_shape(image_shape, builder: str):
    """(size, channels) when size = 4 * 2**k >= 16; the blocks each double or halve it."""
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[0] != shape[1]:
        raise ValueError(
            f"{builder} received image_shape={shape}; expected a square (size, size, channels)."
        )
    size, channels = int(shape[0]), int(shape[2])
    if size < 16 or size & (size - 1):
        raise ValueError(
            f"{builder} received image size {size}; expected 4 * 2**k >= 16 "
            "(16, 32, 64, 128, 256, ...)."
        )
    return size, channels


def _inner_size(image_shape, pixel_shuffle: int, builder: str):
    """(size the blocks run at, the image's channels): the image's size / `pixel_shuffle`."""
    size, channels = _check_image_shape(image_shape, builder)
    if isinstance(pixel_shuffle, bool) or not isinstance(pixel_shuffle, int) or pixel_shuffle < 1:
        raise ValueError(f"{builder} received pixel_shuffle={pixel_shuffle!r}; expected an int >= 1.")
    if pixel_shuffle == 1:
        return size, channels
    inner = size // pixel_shuffle
    return _check_image_shape((inner, inner, channels), f"{builder} with pixel_shuffle={pixel_shuffle}")


def _doublings(size: int) -> int:
    return size.bit_length() - 3  # 4 * 2**k = size.


def _widths(width: int, num_blocks: int, size: int, min_width: Optional[int]):
    """Output channels of D's blocks, image end first (G's up blocks use them reversed):
    `width` halved towards the image down to `min_width`, by default `width` up to 32 px
    (the CIFAR-10 design: one width) and `width / 16` from 64 px (the ImageNet design)."""
    if min_width is None:
        min_width = width if size <= 32 else max(width // 16, 1)
    if min_width < 1:
        raise ValueError(f"The ResNet networks received min_width={min_width}; expected >= 1 channel.")
    floor = min(min_width, width)
    halvings = (width // floor).bit_length() - 1
    return [max(width >> max(0, halvings - i), floor) for i in range(num_blocks)]


def _residual_init():
    # The reference code's Xavier-uniform with gain sqrt(2) for the convolutions in a residual
    # branch (ReLU before them); shortcuts, z's projection and readouts keep gain 1 (glorot).
    return keras.initializers.VarianceScaling(2.0, "fan_avg", "uniform")


def _conv(filters: int, kernel_size: int, wrap=None):
    init = _residual_init() if kernel_size == 3 else "glorot_uniform"
    conv = layers.Conv2D(filters, kernel_size, padding="same", kernel_initializer=init)
    return wrap(conv) if wrap else conv


def _up_block(x, filters, labels, num_classes):
    """BN -> ReLU -> upsample -> conv3x3 -> BN -> ReLU -> conv3x3, plus upsample -> conv1x1."""
    h = layers.ReLU()(normalize(x, "batch", labels, num_classes))
    h = _conv(filters, 3)(layers.UpSampling2D(2)(h))
    h = layers.ReLU()(normalize(h, "batch", labels, num_classes))
    h = _conv(filters, 3)(h)
    shortcut = _conv(filters, 1)(layers.UpSampling2D(2)(x))
    return layers.Add()([h, shortcut])


def _to_image(h, channels, image, labels, num_classes):
    """StyleGAN2's output skip: BN -> ReLU -> conv1x1 to the image's channels, added to the
    image so far upsampled (bilinear)."""
    rgb = layers.Conv2D(channels, 1)(layers.ReLU()(normalize(h, "batch", labels, num_classes)))
    if image is None:
        return rgb
    return layers.Add()([layers.UpSampling2D(2, interpolation="bilinear")(image), rgb])


def _optimized_block(x, filters):
    """D's first block: conv3x3 -> ReLU -> conv3x3 -> avgpool, plus avgpool -> conv1x1."""
    h = _conv(filters, 3, spectral)(x)
    h = _conv(filters, 3, spectral)(layers.ReLU()(h))
    h = layers.AveragePooling2D(2)(h)
    shortcut = _conv(filters, 1, spectral)(layers.AveragePooling2D(2)(x))
    return layers.Add()([h, shortcut])


def _down_block(x, filters, downsample: bool):
    """ReLU -> conv3x3 -> ReLU -> conv3x3 [-> avgpool], plus a conv1x1 [-> avgpool] shortcut."""
    channels = x.shape[-1]
    h = _conv(channels, 3, spectral)(layers.ReLU()(x))
    h = _conv(filters, 3, spectral)(layers.ReLU()(h))
    shortcut = x
    if downsample:
        h = layers.AveragePooling2D(2)(h)
        # Pooling before the 1x1 convolution: the same linear map, on a quarter of the pixels.
        shortcut = layers.AveragePooling2D(2)(shortcut)
    if downsample or channels != filters:  # Otherwise the identity, as in the reference.
        shortcut = _conv(filters, 1, spectral)(shortcut)
    return layers.Add()([h, shortcut])


def resnet_generator(
    image_shape: Sequence[int],
    latent_dim: int = 128,
    width: Optional[int] = None,
    num_classes: Optional[int] = None,
    min_width: Optional[int] = None,
    output_skips: bool = False,
    pixel_shuffle: int = 1,
    name: str = "generator",
) -> keras.Model:
    """SNGAN ResNet generator: project z to 4x4 features, then residual blocks double them.

    The generator of Miyato et al. 2018 (Spectral Normalization for GANs) and of
    Mimicry's `sngan_32` / `sngan_64` / `sngan_128`: a dense projection of z to a
    4x4 map, one residual up block per doubling (BN -> ReLU -> nearest upsampling
    -> conv3x3 -> BN -> ReLU -> conv3x3, with an upsampled conv1x1 shortcut), then
    BN -> ReLU -> conv3x3 -> tanh. Residual blocks keep gradients flowing through
    a deeper G than DCGAN's, which is what lets SNGAN scale to 64 and 128 px; pair it
    with `resnet_discriminator`.

    Train the pair as SNGAN did: hinge loss, Adam(2e-4, beta_1=0.0, beta_2=0.9) for
    both networks and n_dis=5 discriminator updates per generator update, i.e.
    `gan.compile(loss="hinge", d_steps=5, ...)` (the 5 updates share the step's
    real batch, where SNGAN drew a fresh one for each).

    Args:
        image_shape: `(size, size, channels)` with size `4 * 2**k >= 16`:
            16, 32 (3 up blocks), 64 (4), 128 (5), 256, ... Any channel count.
        latent_dim: size of z. Defaults to 128.
        width: channels of the 4x4 map and of the blocks until they halve towards
            the image (see `min_width`). Defaults to `None`: 256 up to 32 px, 1024
            from 64 px (the paper's).
        num_classes: makes the generator conditional: inputs `[z, labels]`. Every
            batch norm in the blocks is then class-conditional (a learned per-class
            gain and bias after the normalization, as in the SNGAN projection
            paper), which conditions every resolution, rather than a label
            embedding concatenated to z. Defaults to `None`.
        min_width: the fewest channels of a block: the blocks nearest the image
            halve `width` down to it, e.g. `width=128, min_width=32` at 32 px gives
            blocks of 128, 64 and 32 channels at 8, 16 and 32 px, which spends
            channels where pixels are few. Defaults to `None`: `width` up to 32 px
            (one width throughout), `width / 16` from 64 px.
        output_skips: StyleGAN2's "skip" generator: every resolution from 4x4
            up adds its own image (BN -> ReLU -> conv1x1) to the upsampled sum
            of the coarser ones, instead of one conv3x3 at the end. Coarse
            resolutions then shape the picture early in training and the fine
            ones add detail (Karras et al. 2020, section 4.1). Defaults to False.
        pixel_shuffle: the blocks stop at `size / pixel_shuffle` (a size as above,
            which sets the design and widths) and their last convolution's
            `pixel_shuffle**2` times the image's channels unfold into the image
            (`PixelShuffle`): 2 makes a 64 px G cost about what a 32 px one does.
            Defaults to 1 (the blocks reach the image's size).
        name: model name. Defaults to `"generator"`.

    Examples:

    ```python
    g = tfgan_kit.resnet_generator((32, 32, 3))
    images = g(keras.random.normal((16, 128)))  # (16, 32, 32, 3) in [-1, 1]
    ```
    """
    size, channels = _inner_size(image_shape, pixel_shuffle, "resnet_generator")
    num_blocks = _doublings(size)
    width = width or (256 if size <= 32 else 1024)
    z = keras.Input((latent_dim,), name="z")
    labels = label_input(num_classes)
    channels *= pixel_shuffle**2  # at the blocks' size
    h = layers.Dense(4 * 4 * width)(z)
    h = layers.Reshape((4, 4, width))(h)
    image = _to_image(h, channels, None, labels, num_classes) if output_skips else None
    for filters in reversed(_widths(width, num_blocks, size, min_width)):
        h = _up_block(h, filters, labels, num_classes)
        if output_skips:
            image = _to_image(h, channels, image, labels, num_classes)
    if not output_skips:
        h = layers.ReLU()(layers.BatchNormalization()(h))
        image = layers.Conv2D(channels, 3, padding="same")(h)
    if pixel_shuffle > 1:
        image = PixelShuffle(pixel_shuffle)(image)
    images = layers.Activation("tanh", dtype="float32")(image)
    inputs = z if labels is None else [z, labels]
    return keras.Model(inputs, images, name=name)


def resnet_discriminator(
    image_shape: Sequence[int],
    width: Optional[int] = None,
    num_classes: Optional[int] = None,
    pack: int = 1,
    min_width: Optional[int] = None,
    pixel_shuffle: int = 1,
    name: str = "discriminator",
) -> keras.Model:
    """SNGAN ResNet discriminator: spectrally normalized residual blocks down to a logit.

    The discriminator of Miyato et al. 2018 and Mimicry's `sngan_*`: an optimized
    first block (conv3x3 -> ReLU -> conv3x3 -> avgpool, shortcut avgpool ->
    conv1x1), residual down blocks (ReLU -> conv3x3 -> ReLU -> conv3x3 -> avgpool,
    shortcut conv1x1 -> avgpool), blocks without downsampling at the end, then
    ReLU, a global sum over positions and a dense logit.
    `keras.layers.SpectralNormalization` wraps every convolution, the readout and
    the class embedding: it bounds D's Lipschitz constant, which is what keeps
    the hinge loss stable with 5 D updates per G update (see `resnet_generator`
    for the training recipe).

    Up to 32 px (the CIFAR-10 design) D halves the image down to 8x8, then adds
    two blocks at 8x8. From 64 px (the ImageNet design) it halves down to 4x4,
    then adds one block at 4x4; at 64 px the reference halves once more instead,
    to 2x2, with the same weights.

    Args:
        image_shape: `(size, size, channels)` with size `4 * 2**k >= 16`
            (16, 32, 64, 128, 256, ...). Any channel count.
        width: channels of the last blocks; the first has `min_width` and each
            block doubles them up to `width`. Defaults to `None`: 128 up to 32 px,
            1024 from 64 px.
        num_classes: makes the discriminator conditional: inputs `[images,
            labels]`; the label enters by projection (Miyato & Koyama 2018):
            logit = dense(h) + <embed(label), h> on the pooled features h.
            Defaults to `None`.
        pack: samples D judges together (`Pack`, PacGAN): D's logits then have
            `batch / pack` rows. Defaults to 1 (no packing).
        min_width: channels of the first block. Defaults to `None`: `width` up to
            32 px (one width throughout), `width / 16` from 64 px.
        pixel_shuffle: the image is first folded to `size / pixel_shuffle`
            (`PixelUnshuffle`: each block of pixels becomes one position's
            channels) and the blocks are those of that size. Defaults to 1.
        name: model name. Defaults to `"discriminator"`.

    Examples:

    ```python
    gan = tfgan_kit.GAN(
        tfgan_kit.resnet_generator((32, 32, 3)),
        tfgan_kit.resnet_discriminator((32, 32, 3)),
        latent_dim=128,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        loss="hinge",
        d_steps=5,
    )
    gan.fit(tfgan_kit.load_dataset("cifar10", batch_size=64), epochs=100)
    ```
    """
    size, channels = _inner_size(image_shape, pixel_shuffle, "resnet_discriminator")
    width = width or (128 if size <= 32 else 1024)
    if size <= 32:
        halvings, extra = _doublings(size) - 1, 2
    else:
        halvings, extra = _doublings(size), 1
    widths = _widths(width, halvings + extra, size, min_width)
    images = keras.Input((size * pixel_shuffle,) * 2 + (channels,), name="images")
    labels = label_input(num_classes)
    x = packed(images, pack, num_classes)
    if pixel_shuffle > 1:
        x = PixelUnshuffle(pixel_shuffle)(x)
    h = _optimized_block(x, widths[0])
    for i, filters in enumerate(widths[1:], start=1):
        h = _down_block(h, filters, downsample=i < halvings)
    h = layers.ReLU()(h)
    positions = h.shape[1] * h.shape[2]
    h = layers.GlobalAveragePooling2D(dtype="float32")(h)
    h = layers.Rescaling(float(positions), dtype="float32")(h)  # Global sum pooling.
    logits = readout(h, labels, num_classes, "projection", spectral)
    inputs = images if labels is None else [images, labels]
    return keras.Model(inputs, logits, name=name)
