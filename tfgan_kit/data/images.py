"""Bringing images of any size and mode to one shape: aspect-preserving crop, antialiased resize.

Every source of `load_dataset` (folders, TFDS, `npz:`, `idx:`, `digits`) passes its images
through `to_shape`, so `image_size` and `channels` mean the same thing everywhere.
"""

from typing import Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

ImageSize = Union[int, Sequence[int]]


def as_size(image_size: Optional[ImageSize], owner: str = "load_dataset") -> Optional[Tuple[int, int]]:
    """`image_size` (an int for squares, or `(height, width)`) as a pair of positive ints."""
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(
            f"{owner} received image_size={image_size!r}; expected a positive int (a square "
            "side, e.g. 64) or a (height, width) pair."
        )
    return size


def check_channels(channels: Optional[int], owner: str = "load_dataset") -> Optional[int]:
    if channels not in (None, 1, 3):
        raise ValueError(
            f"{owner} received channels={channels!r}; expected None (keep), 1 (gray) or 3 (RGB)."
        )
    return channels


def convert_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    """Images with 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA) channels -> `channels`.

    Alpha is dropped (transparent pixels keep their stored color); RGB becomes gray by
    ITU-R 601 luma (`tf.image.rgb_to_grayscale`), gray becomes RGB by repetition.
    """
    have = images.shape[-1]
    if have in (2, 4):
        images = images[..., : have - 1]
        have -= 1
    if have == channels:
        return images
    if channels == 1:
        return tf.image.rgb_to_grayscale(images)
    return tf.image.grayscale_to_rgb(images)


def resize(images: tf.Tensor, size: Tuple[int, int], crop: bool = True) -> tf.Tensor:
    """Images (one or a batch) resized to `size`, antialiased.

    `crop=True` keeps the aspect ratio by cutting the longer side's edges first (the
    centre crop `keras.utils.image_dataset_from_directory(crop_to_aspect_ratio=True)`
    makes); `crop=False` squashes the whole picture into `size`.
    """
    return keras.ops.image.resize(images, size, interpolation="bilinear", antialias=True,
                                  crop_to_aspect_ratio=crop)


def to_shape(images: tf.Tensor, size: Optional[Tuple[int, int]], channels: Optional[int],
             crop: bool = True) -> tf.Tensor:
    """`images` in [-1, 1] with the requested size and channel count (None keeps each)."""
    if channels is not None:
        images = convert_channels(images, channels)
    if size is not None:
        images = tf.clip_by_value(resize(images, size, crop), -1.0, 1.0)
    return images


def to_shape_array(images, size: Optional[Tuple[int, int]], channels: Optional[int],
                   crop: bool = True, chunk: int = 1024):
    """`to_shape` on an in-memory array, `chunk` images at a time (bounded memory)."""
    if size is None and channels is None:
        return images
    return np.concatenate([to_shape(tf.constant(images[i : i + chunk]), size, channels, crop).numpy()
                           for i in range(0, len(images), chunk)])


def describe_sizes(shapes) -> str:
    """'120x90 (250), 90x120 (50)': the (height, width) pairs seen, most common first."""
    counts = {}
    for shape in shapes:
        key = (int(shape[0]), int(shape[1]))
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{h}x{w} ({n})" for (h, w), n in ranked[:5])
    return shown + (f" and {len(ranked) - 5} more sizes" if len(ranked) > 5 else "")


def require_one_square_size(shapes, source: str) -> Tuple[int, int]:
    """The one square (h, w) all `shapes` share, or an error naming the sizes and the fix."""
    sizes = {(int(s[0]), int(s[1])) for s in shapes}
    if len(sizes) == 1 and next(iter(sizes))[0] == next(iter(sizes))[1]:
        return next(iter(sizes))
    raise ValueError(
        f"{source} holds images of {'several sizes' if len(sizes) > 1 else 'a non-square size'} "
        f"(height x width: {describe_sizes(shapes)}); the networks need one square size. Pass "
        "image_size=64 (or (height, width); flag --image_size) to center-crop and resize them, "
        "with crop=False to squash instead."
    )
