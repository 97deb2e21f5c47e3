"""Building blocks the network builders share: option checks, normalizations, D's readout."""

from typing import Optional, Tuple

import keras
from keras import layers

from tfgan_kit.nets.layers import Pack

G_NORMS = ("batch", "sync_batch", "instance", "none")
D_NORMS = ("none", "batch", "instance", "layer", "spectral")
UPSAMPLINGS = ("transpose", "nearest", "bilinear")
MINIBATCH = (None, "stddev", "discrimination")
CONDITIONINGS = ("projection", "channel")


def check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"Received {name}={value!r}; expected one of {choices}.")


def start_resolution(size: int) -> Tuple[int, int]:
    """(start, doublings): size = start * 2**doublings with start >= 4 as small as possible."""
    start, doublings = size, 0
    while start % 2 == 0 and start // 2 >= 4:
        start //= 2
        doublings += 1
    return start, doublings


def check_image_shape(image_shape) -> Tuple[int, int, int]:
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(
            f"Received image_shape={tuple(image_shape)}; expected a square (size, size, channels)."
        )
    size, _, channels = (int(d) for d in image_shape)
    if start_resolution(size)[1] == 0:
        raise ValueError(
            f"Received image size {size}; the DCGAN builders need a size of the form "
            "s * 2**k with s >= 4 and k >= 1 (8, 16, 28, 32, 64, ...)."
        )
    return size, size, channels


def normalization(kind: str, affine: bool = True):
    """The `kind` normalization layer (None for `"none"`); `affine=False`: without its own
    gain and bias (a class-conditional norm supplies them)."""
    if kind == "batch":
        return layers.BatchNormalization(center=affine, scale=affine)
    if kind == "sync_batch":  # Statistics over the global batch under a tf.distribute strategy.
        return layers.BatchNormalization(synchronized=True, center=affine, scale=affine)
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, center=affine, scale=affine)  # Keras' instance norm.
    if kind == "layer":
        return layers.LayerNormalization(center=affine, scale=affine)
    return None


def normalize(h, kind: str, labels=None, num_classes: Optional[int] = None):
    """`h` normalized by `kind`; with `labels`, class-conditional: a learned per-class gain and
    bias after the normalization (SNGAN projection's conditional batch norm).

    This is how a conditional generator sees its label: at every layer, never as an input
    beside z. A label entering with z gives the batch its variance by itself, so batch norm no
    longer forces the features to vary with z, and generators learned to ignore z (one image a
    class, every row of a grid the same).
    """
    layer = normalization(kind, affine=labels is None)
    h = layer(h) if layer is not None else h
    if labels is None:
        return h
    channels = h.shape[-1]
    shape = (1,) * (len(h.shape) - 2) + (channels,)
    gain = layers.Embedding(num_classes, channels, embeddings_initializer="ones")(labels)
    bias = layers.Embedding(num_classes, channels, embeddings_initializer="zeros")(labels)
    h = layers.Multiply()([h, layers.Reshape(shape)(gain)])
    return layers.Add()([h, layers.Reshape(shape)(bias)])


def readout(h, labels, num_classes, conditioning: str, wrap):
    """D's float32 logit from features `h`; plus <embed(label), h> for a projection D."""
    logits = wrap(layers.Dense(1, dtype="float32"))(h)
    if labels is None or conditioning != "projection":
        return logits
    embedded = wrap(layers.Embedding(num_classes, h.shape[-1], dtype="float32"))(labels)
    projection = layers.Dot(axes=1, dtype="float32")([h, embedded])
    return layers.Add(dtype="float32")([logits, projection])


def packed(images, pack: int, num_classes: Optional[int]):
    """D's input joined into packs of `pack` samples (`Pack`); unchanged for `pack=1`."""
    if not isinstance(pack, int) or pack < 1:
        raise ValueError(f"Received pack={pack!r}; expected an int >= 1 (1: no packing).")
    if pack > 1 and num_classes is not None:
        raise ValueError(
            f"Received pack={pack} with num_classes={num_classes}: a pack has one verdict but "
            "each sample its own label; a conditional discriminator cannot pack."
        )
    return images if pack == 1 else Pack(pack)(images)


def label_input(num_classes: Optional[int]):
    if num_classes is None:
        return None
    return keras.Input((), dtype="int32", name="labels")


def spectral(layer):
    """`SpectralNormalization` computing in `layer`'s dtype, so the float32 readout stays float32."""
    wrapped = layers.SpectralNormalization(layer, dtype=layer.dtype_policy)
    if not isinstance(layer, layers.Embedding):
        return wrapped
    # SpectralNormalization casts its output to its input's dtype: int32 labels would truncate
    # the class embeddings to integers (zeros). Look them up with float ids (exact below 2**24).
    as_float = layers.Rescaling(1.0, dtype="float32")
    return lambda labels: wrapped(as_float(labels))
