"""Folders of image files: found, checked before training, decoded in parallel.

Every file is decoded once when the dataset is made, in parallel through `tf.data`, so a
truncated JPEG, an empty file or a text file named `.png` is found then, not hours into
an epoch; the same pass learns each image's size and channel count. Pictures come in as
a viewer shows them: JPEGs turned upright by their EXIF orientation (every portrait
phone photo carries one), transparency composited over the background. Files with other
extensions are counted in one message, never dropped silently.
"""

import collections
import logging
import os
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf

from tfgan_kit._internal.logs import report
from tfgan_kit.data import images as image_ops

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# Pictures TensorFlow cannot decode: named as such among the ignored files.
UNDECODABLE_IMAGES = (".heic", ".heif", ".avif", ".tif", ".tiff", ".svg", ".jxl", ".ico")
JPEG_EXTENSIONS = (".jpg", ".jpeg")
EXIF_ORIENTATION = 0x0112
SHOWN_BAD_FILES = 3


def _report_ignored(names: List[str], source: str) -> None:
    """One line counting the files that are not images, by extension."""
    if not names:
        return
    counts = collections.Counter(os.path.splitext(n)[1].lower() or "(no extension)" for n in names)
    shown = ", ".join(f"{ext} ({n})" for ext, n in counts.most_common())
    pictures = sorted(ext for ext in counts if ext in UNDECODABLE_IMAGES)
    hint = (f" TensorFlow cannot decode {', '.join(pictures)}: convert them to PNG or JPEG to "
            "train on them." if pictures else "")
    report(f"load_dataset: ignored {len(names)} file(s) in {source} that are not images: {shown}.{hint}",
           1, logging.WARNING if pictures else logging.INFO)


def list_images(directory: str, labels: bool) -> Tuple[List[str], Optional[np.ndarray]]:
    """Image paths under `directory` (sorted) and, with `labels`, each one's class id.

    Classes are the sub-folders in alphanumeric order, as
    `keras.utils.image_dataset_from_directory` numbers them. Files with other
    extensions are counted in one message.
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
    paths, ids, ignored = [], [], []
    for class_id, root in enumerate(roots):
        files = sorted(os.path.join(r, f) for r, _, names in os.walk(root) for f in names)
        found = [f for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
        ignored += [f for f in files if not f.lower().endswith(IMAGE_EXTENSIONS)]
        paths += found
        ids += [class_id] * len(found)
    _report_ignored(ignored, source)
    if not paths:
        raise ValueError(f"{source} holds no image files ({', '.join(IMAGE_EXTENSIONS)}).")
    return paths, (np.asarray(ids, np.int32) if labels else None)


def orientations(paths: List[str]) -> np.ndarray:
    """Each file's EXIF orientation (1-8; 1 = as stored): read from JPEG headers, 1 elsewhere."""
    from PIL import Image  # Reads only the header here; the pixels are TensorFlow's to decode.

    found = np.ones(len(paths), np.int32)
    for i, path in enumerate(paths):
        if path.lower().endswith(JPEG_EXTENSIONS):
            try:
                with Image.open(path) as image:
                    value = image.getexif().get(EXIF_ORIENTATION, 1)
            except Exception:  # An unreadable header: the decode pass names the file.
                continue
            found[i] = value if value in range(1, 9) else 1
    return found


def upright(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """`image` as stored with EXIF `orientation` (1-8) -> as a viewer shows it."""
    transpose = lambda: tf.transpose(image, [1, 0, 2])  # noqa: E731
    return tf.switch_case(orientation - 1, [
        lambda: image,
        lambda: tf.reverse(image, [1]),
        lambda: tf.image.rot90(image, 2),
        lambda: tf.reverse(image, [0]),
        transpose,
        lambda: tf.image.rot90(image, 3),
        lambda: tf.image.rot90(transpose(), 2),
        lambda: tf.image.rot90(image, 1),
    ])


def decode(path: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """One file as uint8 `(height, width, channels)`, upright, its own 1-4 channels."""
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    return upright(image, orientation)


def _decoded_shape(index, path, orientation):
    return index, tf.shape(decode(path, orientation))


def scan(paths: List[str], turns: np.ndarray) -> Tuple[List[int], np.ndarray]:
    """(indices of unreadable files, `(n, 3)` upright shapes of the readable ones), decoding all once.

    The last folder's answer is kept while its files keep their sizes and times: a second load
    of the same pictures (a script that first looks at their shape) does not decode them again.
    """
    key = (tuple(_stamp(path) for path in paths), turns.tobytes())
    if key not in _LAST_SCAN:
        _LAST_SCAN.clear()
        _LAST_SCAN[key] = _decode_all(paths, turns)
    bad, shapes = _LAST_SCAN[key]
    return list(bad), shapes.copy()


_LAST_SCAN: dict = {}


def _stamp(path: str) -> tuple:
    try:
        stat = os.stat(path)
    except OSError:  # Gone since it was listed: the decode pass names it.
        return path, -1, -1
    return path, stat.st_size, stat.st_mtime_ns


def _decode_all(paths: List[str], turns: np.ndarray) -> Tuple[List[int], np.ndarray]:
    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths, turns))
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
        decode(tf.constant(path), tf.constant(1))
    except (tf.errors.OpError, ValueError) as e:
        return (getattr(e, "message", None) or str(e)).splitlines()[0][:120]
    return "unreadable"


def check_files(paths: List[str], labels, source: str, skip_bad_files: bool):
    """Drops or refuses unreadable files; returns (paths, labels, shapes, orientations) of the good ones."""
    turns = orientations(paths)
    bad, shapes = scan(paths, turns)
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
        paths, turns = [paths[i] for i in keep], turns[keep]
        labels = None if labels is None else labels[keep]
        if not paths:
            raise ValueError(f"{source} holds no readable image files.")
    return paths, labels, shapes, turns


def folder_dataset(directory: str, labels: bool, size: Optional[Tuple[int, int]],
                   channels: Optional[int], crop: bool, skip_bad_files: bool,
                   limit: Optional[int] = None, background: Optional[image_ops.Color] = image_ops.WHITE):
    """`(dataset of [-1, 1] images or (image, label) pairs, count)` for `folder:<directory>`.

    With `limit`, only the first `limit` files (in path order) are checked and read.
    Gray folders stay gray; anything with color becomes RGB (RGBA with `background=None`).
    """
    source = f"folder:{directory}"
    paths, ids = list_images(directory, labels)
    if limit is not None:
        paths, ids = paths[:limit], (None if ids is None else ids[:limit])
    paths, ids, shapes, turns = check_files(paths, ids, source, skip_bad_files)
    channels = image_ops.output_channels(1 if np.all(shapes[:, 2] <= 2) else 3, channels, background)
    if size is None:
        image_ops.require_one_square_size(shapes, source)
    out_size = size or (int(shapes[0, 0]), int(shapes[0, 1]))

    def load(path, orientation):
        image = tf.cast(decode(path, orientation), tf.float32) / 127.5 - 1.0
        image = image_ops.to_shape(image_ops.to_rgba(image), size, channels, crop, background)
        return tf.ensure_shape(image, out_size + (channels,))

    ds = tf.data.Dataset.from_tensor_slices((paths, turns)).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if ids is not None:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(ids)))
    return ds, len(paths)
