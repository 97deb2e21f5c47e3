"""Folders of image files: found, checked before training, decoded in parallel.

Every file is decoded once when the dataset is made, in parallel through `tf.data`, so a
truncated JPEG, an empty file or a text file named `.png` is found then, not hours into
an epoch; the same pass learns each image's size and channel count. Files that are not
images (by extension) are ignored.
"""

import os
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf

from tfgan_kit._internal.logs import report
from tfgan_kit.data import images as image_ops

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SHOWN_BAD_FILES = 3


def list_images(directory: str, labels: bool) -> Tuple[List[str], Optional[np.ndarray]]:
    """Image paths under `directory` (sorted) and, with `labels`, each one's class id.

    Classes are the sub-folders in alphanumeric order, as
    `keras.utils.image_dataset_from_directory` numbers them.
    """
    source = f"folder:{directory}"
    if not os.path.isdir(directory):
        raise ValueError(f"{source} is not a directory.")
    roots = [directory]
    if labels:
        roots = sorted(os.path.join(directory, d) for d in os.listdir(directory)
                       if os.path.isdir(os.path.join(directory, d)))
        if not roots:
            raise ValueError(f"{source} has no class sub-folders; labels=True needs one per class.")
    paths, ids = [], []
    for class_id, root in enumerate(roots):
        found = sorted(os.path.join(r, f) for r, _, names in os.walk(root) for f in names
                       if f.lower().endswith(IMAGE_EXTENSIONS))
        paths += found
        ids += [class_id] * len(found)
    if not paths:
        raise ValueError(f"{source} holds no image files ({', '.join(IMAGE_EXTENSIONS)}).")
    return paths, (np.asarray(ids, np.int32) if labels else None)


def _decoded_shape(index, path):
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    return index, tf.shape(image)


def scan(paths: List[str]) -> Tuple[List[int], np.ndarray]:
    """(indices of unreadable files, `(n, 3)` shapes of the readable ones), decoding all once."""
    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
    ds = ds.map(_decoded_shape, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    shapes = {}
    for index, shape in ds.ignore_errors().as_numpy_iterator():
        shapes[int(index)] = shape
    bad = [i for i in range(len(paths)) if i not in shapes]
    return bad, np.asarray([shapes[i] for i in sorted(shapes)]).reshape(-1, 3)


def _reason(path: str) -> str:
    """Why one file does not decode, in a few words."""
    if os.path.getsize(path) == 0:
        return "empty file"
    try:
        tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.OpError, ValueError) as e:
        return (getattr(e, "message", None) or str(e)).splitlines()[0][:120]
    return "unreadable"


def check_files(paths: List[str], labels, source: str, skip_bad_files: bool):
    """Drops or refuses unreadable files; returns (paths, labels, shapes) of the good ones."""
    bad, shapes = scan(paths)
    if bad:
        shown = "; ".join(f"{paths[i]} ({_reason(paths[i])})" for i in bad[:SHOWN_BAD_FILES])
        more = f"; and {len(bad) - SHOWN_BAD_FILES} more" if len(bad) > SHOWN_BAD_FILES else ""
        if not skip_bad_files:
            raise ValueError(
                f"{source} holds {len(bad)} unreadable image file(s) of {len(paths)}: {shown}{more}. "
                "Fix or remove them, or pass skip_bad_files=True (flag --skip_bad_files) to train "
                "without them."
            )
        report(f"load_dataset: skipping {len(bad)} unreadable image file(s) of {len(paths)} in "
               f"{source} (skip_bad_files=True): {shown}{more}.", 1)
        keep = np.setdiff1d(np.arange(len(paths)), bad)
        paths = [paths[i] for i in keep]
        labels = None if labels is None else labels[keep]
        if not paths:
            raise ValueError(f"{source} holds no readable image files.")
    return paths, labels, shapes


def _gray(rgb: tf.Tensor) -> tf.Tensor:
    """One channel: a gray file's own values exactly, a color file's luma."""
    is_gray = tf.reduce_all(rgb[..., :1] == rgb)
    return tf.cond(is_gray, lambda: rgb[..., :1], lambda: tf.image.rgb_to_grayscale(rgb))


def folder_dataset(directory: str, labels: bool, size: Optional[Tuple[int, int]],
                   channels: Optional[int], crop: bool, skip_bad_files: bool,
                   limit: Optional[int] = None):
    """`(dataset of [-1, 1] images or (image, label) pairs, count)` for `folder:<directory>`.

    With `limit`, only the first `limit` files (in path order) are checked and read.
    """
    source = f"folder:{directory}"
    paths, ids = list_images(directory, labels)
    if limit is not None:
        paths, ids = paths[:limit], (None if ids is None else ids[:limit])
    paths, ids, shapes = check_files(paths, ids, source, skip_bad_files)
    if channels is None:  # Gray folders stay gray; anything with color (or alpha) becomes RGB.
        channels = 1 if np.all(shapes[:, 2] == 1) else 3
    if size is None:
        image_ops.require_one_square_size(shapes, source)
    out_size = size or (int(shapes[0, 0]), int(shapes[0, 1]))

    def load(path):
        # channels=3 decodes every format (GIF and BMP refuse 1); alpha is dropped.
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        if channels == 1:
            image = _gray(image)
        image = image_ops.to_shape(tf.cast(image, tf.float32) / 127.5 - 1.0, size, None, crop)
        return tf.ensure_shape(image, out_size + (channels,))

    ds = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if ids is not None:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(ids)))
    return ds, len(paths)
