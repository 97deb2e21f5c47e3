"""Bringing images of any size and mode to one shape: transparency, crop, antialiased resize.

Every source of `load_dataset` (folders, TFDS, `npz:`, `idx:`, `digits`) passes its images
through `to_shape`, so `image_size`, `channels` and `background` mean the same thing
everywhere. Transparent pixels are composited over the background before resizing (or,
with `background=None`, resized premultiplied and kept as a 4th channel): a transparent
pixel's stored color is not part of the picture, and training on it teaches the GAN
squares of stale colors.
"""

import re
from typing import Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

ImageSize = Union[int, Sequence[int]]
Background = Union[str, Sequence[int], None]
Color = Tuple[float, float, float]  # a background in [-1, 1]
WHITE: Color = (1.0, 1.0, 1.0)
NAMED_BACKGROUNDS = {"white": WHITE, "black": (-1.0, -1.0, -1.0)}
LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601, as tf.image.rgb_to_grayscale


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


def as_background(background: Background, owner: str = "load_dataset") -> Optional[Color]:
    """`"white"`, `"black"`, an `(r, g, b)` triple in [0, 255] (or `"r,g,b"`), or None -> [-1, 1]."""
    if background is None:
        return None
    if isinstance(background, str):
        if background.lower() in NAMED_BACKGROUNDS:
            return NAMED_BACKGROUNDS[background.lower()]
        if re.fullmatch(r"\s*\d{1,3}\s*(,\s*\d{1,3}\s*){2}", background):
            return as_background(tuple(int(v) for v in background.split(",")), owner)
    elif (len(background) == 3 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                       and 0 <= v <= 255 for v in background)):
        return tuple(float(v) / 127.5 - 1.0 for v in background)
    raise ValueError(
        f"{owner} received background={background!r}; expected 'white', 'black', an (r, g, b) "
        "triple of ints in [0, 255] (or 'r,g,b'), or None (keep transparency as a 4th channel, channels=4)."
    )


def check_channels(channels: Optional[int], background: Optional[Color] = WHITE,
                   owner: str = "load_dataset") -> Optional[int]:
    """`channels` if it is None, 1, 3 or 4 and agrees with `background` (4: alpha kept)."""
    if channels not in (None, 1, 3, 4):
        raise ValueError(f"{owner} received channels={channels!r}; expected None (keep), 1 (gray), "
                         "3 (RGB) or 4 (RGBA, with background=None).")
    if background is None and channels not in (None, 4):
        raise ValueError(f"{owner} received background=None (keep transparency) with "
                         f"channels={channels}; transparency needs channels=4 (RGBA).")
    if background is not None and channels == 4:
        raise ValueError(f"{owner} received channels=4 with a background: images are composited "
                         "over it, leaving no transparency to keep. Pass background=None.")
    return channels


def output_channels(have: int, channels: Optional[int], background: Optional[Color]) -> int:
    """The channel count images with `have` channels (alpha included) come out with."""
    if background is None:
        return 4
    return channels or (1 if have <= 2 else 3)


def composite(images: tf.Tensor, background: Color) -> tf.Tensor:
    """Gray + alpha or RGBA images in [-1, 1] over `background`: gray or RGB, opaque.

    A gray image goes over the background's luma. Compositing before resizing equals
    resizing premultiplied colors, so edges get no halo of the transparent pixels' color.
    """
    color, alpha = images[..., :-1], (images[..., -1:] + 1.0) / 2.0
    back = background if color.shape[-1] == 3 else (sum(w * c for w, c in zip(LUMA, background)),)
    return color * alpha + tf.constant(back, images.dtype) * (1.0 - alpha)


def to_rgba(images: tf.Tensor) -> tf.Tensor:
    """Images with 1-4 channels in [-1, 1] as RGBA (an opaque alpha where they had none).

    The channel count may be known only when it runs (a decoded file's own).
    """
    have = images.shape[-1]
    if have is None:
        have = tf.shape(images)[-1]
        color = tf.cond(have >= 3, lambda: images[..., :3], lambda: tf.repeat(images[..., :1], 3, -1))
        alpha = tf.cond(have % 2 == 0, lambda: images[..., -1:], lambda: tf.ones_like(images[..., :1]))
    else:
        color = images[..., :3] if have >= 3 else tf.repeat(images[..., :1], 3, axis=-1)
        alpha = images[..., -1:] if have in (2, 4) else tf.ones_like(images[..., :1])
    return tf.ensure_shape(tf.concat([color, alpha], axis=-1), images.shape[:-1] + (4,))


def convert_channels(images: tf.Tensor, channels: int) -> tf.Tensor:
    """Gray or RGB images -> `channels` (1 or 3).

    RGB becomes gray by ITU-R 601 luma (`tf.image.rgb_to_grayscale`), except that RGB
    images whose channels are all equal keep their values exactly; gray becomes RGB by
    repetition.
    """
    have = images.shape[-1]
    if have == channels:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    is_gray = tf.reduce_all(images[..., :1] == images)
    return tf.cond(is_gray, lambda: images[..., :1], lambda: tf.image.rgb_to_grayscale(images))


def resize(images: tf.Tensor, size: Tuple[int, int], crop: bool = True) -> tf.Tensor:
    """Images (one or a batch) resized to `size`, antialiased.

    `crop=True` keeps the aspect ratio by cutting the longer side's edges first (the
    centre crop `keras.utils.image_dataset_from_directory(crop_to_aspect_ratio=True)`
    makes); `crop=False` squashes the whole picture into `size`.
    """
    return keras.ops.image.resize(images, size, interpolation="bilinear", antialias=True,
                                  crop_to_aspect_ratio=crop)


def resize_premultiplied(rgba: tf.Tensor, size: Tuple[int, int], crop: bool = True) -> tf.Tensor:
    """RGBA images in [-1, 1] resized with their colors weighted by alpha.

    Neighbours that are transparent add nothing to an edge's color; fully transparent
    pixels come out black.
    """
    alpha = (rgba[..., 3:] + 1.0) / 2.0
    color = (rgba[..., :3] + 1.0) / 2.0 * alpha
    resized = tf.clip_by_value(resize(tf.concat([color, alpha], -1), size, crop), 0.0, 1.0)
    alpha = resized[..., 3:]
    color = tf.minimum(tf.math.divide_no_nan(resized[..., :3], alpha), 1.0)
    return tf.concat([color, alpha], -1) * 2.0 - 1.0


def to_shape(images: tf.Tensor, size: Optional[Tuple[int, int]], channels: Optional[int],
             crop: bool = True, background: Optional[Color] = WHITE) -> tf.Tensor:
    """`images` in [-1, 1] with the requested size and channel count (None keeps each).

    Images with alpha (2 or 4 channels) are composited over `background` first; with
    `background=None` every image comes out RGBA.
    """
    if background is None:
        images = to_rgba(images)
        return images if size is None else resize_premultiplied(images, size, crop)
    if images.shape[-1] in (2, 4):
        images = composite(to_rgba(images) if channels == 3 else images, background)
    if channels is not None:
        images = convert_channels(images, channels)
    if size is not None:
        images = tf.clip_by_value(resize(images, size, crop), -1.0, 1.0)
    return images


def to_shape_array(images, size: Optional[Tuple[int, int]], channels: Optional[int],
                   crop: bool = True, background: Optional[Color] = WHITE, chunk: int = 1024):
    """`to_shape` on an in-memory array, `chunk` images at a time (bounded memory)."""
    if size is None and channels is None and images.shape[-1] in ((4,) if background is None else (1, 3)):
        return images
    return np.concatenate([to_shape(tf.constant(images[i : i + chunk]), size, channels, crop,
                                    background).numpy()
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
