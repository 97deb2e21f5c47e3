"""Datasets for GAN training: images in [-1, 1], shuffled, batched with drop_remainder.

`load_dataset(name, batch_size)` understands:

- `digits`: scikit-learn's bundled 8x8 digits (1,797 images), the offline default;
- any TFDS image dataset by name (`mnist`, `fashion_mnist`, `cifar10`, `celeb_a`, ...);
- `idx:<dir>`: MNIST-format IDX files (`*-images-idx3-ubyte[.gz]`, labels optional);
- `npz:<file>`: arrays `x` (or `images`) and optionally `y` (or `labels`);
- `folder:<dir>`: image files, one sub-folder per class when `labels=True`;
- `stacked:<digit source>`: Stacked MNIST, three digits of the source as R, G, B
  (`stacked:mnist`, `stacked:idx:<dir>`; 128,000 examples unless `limit`, labels
  `100 a + 10 b + c`);
- `ring8` / `grid25`: the 2-D Gaussian mixtures of the mode-coverage benchmark
  (raw coordinates, not rescaled).

Bad input (unknown name, missing files, empty data, non-finite values, wrong rank,
fewer examples than one batch) raises a `ValueError` naming it before any training.
"""

import glob
import gzip
import logging
import os
import re
from typing import Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from tfgan_kit._internal.arrays import check_images, to_uint8
from tfgan_kit._internal.logs import report
from tfgan_kit.data import images as image_ops
from tfgan_kit.data.folder import folder_dataset
from tfgan_kit.data.images import Background, ImageSize
from tfgan_kit.data.mixtures import MIXTURES, sample_mixture
from tfgan_kit.data.stacked import stacked_dataset
from tfgan_kit.data.tfds_source import tfds_dataset

CACHE_MEMORY_SHARE = 0.25  # cache="auto" keeps decoded data in memory up to this share of RAM.
SHUFFLE_MEMORY_SHARE = 0.1  # the shuffle buffer's share (60,000 128x128 RGB images are 11 GiB).


# ---------------------------------------------------------------- array sources


def _scale(x: np.ndarray, value_range: Optional[Tuple[float, float]], source: str) -> np.ndarray:
    """Maps pixels to [-1, 1]: integers are [0, 255]; floats are [0, 255], [0, 1] or [-1, 1]."""
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError(f"{source} holds no images.")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{source} holds {x.dtype} data; expected numeric pixels.")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{source} holds {bad} NaN or infinite pixel values.")
    if value_range is None:
        lo, hi = float(x.min()), float(x.max())
        value_range = (0.0, 255.0) if hi > 1.0 else (0.0, 1.0) if lo >= 0.0 else (-1.0, 1.0)
        if lo < -1.0 or hi > 255.0:
            raise ValueError(
                f"{source} has pixel values in [{lo}, {hi}]; expected [0, 255], [0, 1] or "
                "[-1, 1]. Pass value_range=(min, max) to say how to scale them."
            )
    lo, hi = value_range
    return (x - lo) / (hi - lo) * 2.0 - 1.0


def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(int)
    array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {tuple(dims)}, found {array.size} bytes.")
    return array.reshape(dims)


def _find_idx(directory: str, kind: str, split: str) -> Optional[str]:
    """The `kind` (images or labels) file for `split` in `directory`, if there is one."""
    pattern = {"images": "*-images-idx3-ubyte*", "labels": "*-labels-idx1-ubyte*"}[kind]
    files = sorted(glob.glob(os.path.join(directory, pattern)))
    prefix = "train" if split == "train" else "t10k"
    preferred = [f for f in files if os.path.basename(f).startswith(prefix)]
    return (preferred or files or [None])[0]


def _load_idx(directory: str, labels: bool, split: str):
    if not os.path.isdir(directory):
        raise ValueError(f"idx:{directory} is not a directory.")
    images_path = _find_idx(directory, "images", split)
    if images_path is None:
        raise ValueError(f"idx:{directory} has no '*-images-idx3-ubyte[.gz]' file.")
    x = _read_idx(images_path)
    y = None
    if labels:
        labels_path = _find_idx(directory, "labels", split)
        if labels_path is None:
            raise ValueError(f"idx:{directory} has no '*-labels-idx1-ubyte[.gz]' file.")
        y = _read_idx(labels_path)
    return x, y


def _load_npz(path: str, labels: bool):
    if not os.path.isfile(path):
        raise ValueError(f"npz:{path} does not exist.")
    with np.load(path) as archive:
        keys = list(archive.keys())
        x_key = next((k for k in ("x", "images", "x_train") if k in archive), keys[0] if keys else None)
        if x_key is None:
            raise ValueError(f"npz:{path} holds no arrays.")
        x = archive[x_key]
        y = None
        if labels:
            y_key = next((k for k in ("y", "labels", "y_train") if k in archive), None)
            if y_key is None:
                raise ValueError(f"npz:{path} has no 'y' or 'labels' array; its arrays are {keys}.")
            y = archive[y_key]
    return x, y


def _load_digits(labels: bool):
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are 0..16.
    return digits.images.astype(np.float32) / 16.0, digits.target if labels else None


def load_arrays(
    name: str,
    labels: bool = False,
    split: str = "train",
    value_range: Optional[Tuple[float, float]] = None,
    limit: Optional[int] = None,
    image_size: Optional[ImageSize] = None,
    channels: Optional[int] = None,
    crop: bool = True,
    background: Background = "white",
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """`(images, labels)` as numpy arrays, images float32 NHWC in [-1, 1].

    For the in-memory sources (`digits`, `idx:`, `npz:`, `ring8`, `grid25`);
    TFDS and folders stream through `load_dataset`. `limit` keeps the first
    `limit` examples; `background` as in `load_dataset`.
    """
    if name in MIXTURES:
        points, modes = sample_mixture(name, limit or 100_000)
        return points, (modes if labels else None)
    if name == "digits":
        x, y = _load_digits(labels)
        value_range = value_range or (0.0, 1.0)
    elif name.startswith("idx:"):
        x, y = _load_idx(name[4:], labels, split)
        value_range = value_range or (0.0, 255.0)
    elif name.startswith("npz:"):
        x, y = _load_npz(name[4:], labels)
    else:
        raise ValueError(
            f"load_arrays received {name!r}; expected 'digits', 'idx:<dir>', 'npz:<file>', "
            f"or one of {MIXTURES} (TFDS names and 'folder:' go through load_dataset)."
        )
    if limit is not None:
        x = x[:limit]
        y = None if y is None else y[:limit]
    x = check_images(_scale(x, value_range, name), name)
    color = image_ops.as_background(background, "load_arrays")
    x = image_ops.to_shape_array(x, image_ops.as_size(image_size, "load_arrays"),
                                 image_ops.check_channels(channels, color, "load_arrays"), crop, color)
    if y is not None:
        y = np.asarray(y).astype(np.int32).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"{name} has {len(x)} images but {len(y)} labels.")
    return x, y


# ---------------------------------------------------------------- the pipeline


def is_in_memory(name: str) -> bool:
    """Whether `name` is a source `load_arrays` reads into memory (not TFDS, folders, stacked)."""
    return name in MIXTURES or name == "digits" or name.startswith(("idx:", "npz:"))


def _digit_arrays(name: str, labels: bool, split: str, data_dir: Optional[str], image_size,
                  crop: bool):
    """Images in [-1, 1] (and labels, when asked) of any in-memory or TFDS source, for `stacked:`."""
    if is_in_memory(name):
        return load_arrays(name, labels, split, image_size=image_size, crop=crop)
    import tensorflow_datasets as tfds

    x, y = tfds.as_numpy(tfds.load(name, split=split, batch_size=-1, as_supervised=True,
                                   data_dir=data_dir))
    x = check_images(np.asarray(x, np.float32) / 127.5 - 1.0, f"stacked:{name}")
    return image_ops.to_shape_array(x, image_ops.as_size(image_size), None, crop), np.asarray(y, np.int32)


def _physical_memory() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _example_bytes(ds: tf.data.Dataset) -> int:
    return sum(int(np.prod(s.shape)) * s.dtype.size for s in tf.nest.flatten(ds.element_spec))


def _shuffle_buffer(ds: tf.data.Dataset, count: Optional[int]) -> int:
    """Up to 60,000 examples, and never more than `SHUFFLE_MEMORY_SHARE` of the RAM."""
    memory = _physical_memory() or 2**33
    fits = int(SHUFFLE_MEMORY_SHARE * memory // max(_example_bytes(ds), 1))
    return max(1, min(count or 10_000, 60_000, max(fits, 1_000)))


def _cached(ds: tf.data.Dataset, count: Optional[int], cache, cache_dir: Optional[str],
            name: str) -> tf.data.Dataset:
    """`ds` cached in memory, in a file under `cache_dir`, or streamed, as `cache` asks."""
    if cache not in (True, False, "auto"):
        raise ValueError(f"load_dataset received cache={cache!r}; expected True, False or 'auto'.")
    if cache != "auto":
        return ds.cache() if cache else ds
    total, memory = (count or 0) * _example_bytes(ds), _physical_memory()
    if count is not None and memory and total <= CACHE_MEMORY_SHARE * memory:
        report(f"load_dataset: caching {count} decoded examples of {name} in memory "
               f"({total / 2**20:.0f} MiB, under {CACHE_MEMORY_SHARE:.0%} of RAM).", 1, logging.INFO)
        return ds.cache()
    size = "an unknown size" if count is None else f"{total / 2**30:.1f} GiB"
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        path = os.path.join(cache_dir, re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_"))
        report(f"load_dataset: {name} decodes to {size}, over {CACHE_MEMORY_SHARE:.0%} of RAM: "
               f"caching it to {path}* after the first epoch.", 1, logging.INFO)
        return ds.cache(path)
    report(f"load_dataset: {name} decodes to {size}, over {CACHE_MEMORY_SHARE:.0%} of RAM and no "
           "cache_dir was given: streaming (decoding every epoch).", 1, logging.INFO)
    return ds


def load_dataset(
    name: str = "digits",
    batch_size: int = 64,
    labels: bool = False,
    split: str = "train",
    shuffle: bool = True,
    seed: Optional[int] = None,
    limit: Optional[int] = None,
    image_size: Optional[ImageSize] = None,
    channels: Optional[int] = None,
    crop: bool = True,
    background: Background = "white",
    skip_bad_files: bool = False,
    value_range: Optional[Tuple[float, float]] = None,
    data_dir: Optional[str] = None,
    cache: Union[bool, str] = "auto",
    cache_dir: Optional[str] = None,
    mirror: bool = False,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of batches for `GAN.fit`: images, or `(images, labels)`.

    Images are float32 in [-1, 1], NHWC, of one size and channel count. The pipeline is
    decode (in parallel) -> cache -> shuffle -> batch(drop_remainder=True) -> prefetch:
    whole batches keep per-replica batch sizes equal under a distribution strategy.
    tf.data's autotuning is off (see `_without_autotune`); a later
    `dataset.with_options(...)` with `autotune.enabled = True` turns it back on.

    Args:
        name: a source (see the module docstring). Defaults to `"digits"`.
        batch_size: global batch size. Defaults to 64.
        labels: yield `(images, labels)` for a conditional GAN. Defaults to False.
        split: `"train"` or `"test"` (TFDS split names pass through). Defaults to `"train"`.
        shuffle: reshuffle every epoch. Defaults to True.
        seed: shuffle seed. Defaults to `None`.
        limit: keep the first `limit` examples (for `stacked:`, make `limit` examples).
            Defaults to all (`stacked:` 128,000).
        image_size: an int (square side) or `(height, width)`, for every source: images
            are center-cropped to that aspect ratio and resized, antialiased. Defaults to
            `None`: images keep their size, which must then be one square size.
        channels: 1 (gray), 3 (RGB) or 4 (RGBA, with `background=None`), for every
            source; gray, RGB, RGBA and palette files may be mixed. Defaults to `None`:
            a folder of gray files stays gray, anything else keeps its channels (RGB
            for color files).
        crop: `False` squashes to `image_size` instead of cropping. Defaults to True.
        background: what transparent pixels (RGBA, gray + alpha, palette PNGs with
            transparency; any source) are composited over before resizing: `"white"`,
            `"black"` or an `(r, g, b)` triple in [0, 255]. A transparent pixel's
            stored color is not part of the picture: without this, icons and
            sprites train on squares of stale colors. `None` keeps transparency as a
            4th channel (RGBA, resized premultiplied): the GAN then generates RGBA.
            Defaults to `"white"`.
        skip_bad_files: train without the unreadable files of a folder (one warning
            naming the count) instead of refusing them. Defaults to False.
        value_range: `(min, max)` of the stored pixels for `npz:` data when the
            guess (integers: [0, 255]; floats by their range) is wrong.
        data_dir: TFDS data directory.
        cache: `True` keeps decoded examples in memory after the first epoch, `False`
            decodes every epoch, `"auto"` caches in memory when they take at most a
            quarter of the RAM, else in a file under `cache_dir` (or streams), and says
            which it chose. Defaults to `"auto"`.
        cache_dir: where `"auto"` caches what does not fit in memory. Defaults to `None`.
        mirror: flip each image left-right with probability 1/2, anew every epoch
            (StyleGAN's `--mirror`): twice the pictures D sees, for data whose
            mirror images are as real as they are (faces, icons, most photos; not
            text or digits). Defaults to False.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"load_dataset received batch_size={batch_size!r}; expected an int >= 1.")
    size, color = image_ops.as_size(image_size), image_ops.as_background(background)
    channels = image_ops.check_channels(channels, color)
    if name.startswith("stacked:"):
        x, y = _digit_arrays(name[8:], labels, split, data_dir, image_size, crop)
        ds, count = stacked_dataset(x, y, limit, shuffle, seed, labels)
        shuffle, cache = False, False  # The index triples are shuffled; images are built on read.
    elif is_in_memory(name):
        x, y = load_arrays(name, labels, split, value_range, limit, image_size, channels, crop,
                           background)
        ds, count = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)), len(x)
        cache = False  # Already in memory.
    else:
        if name.startswith("folder:"):
            ds, count = folder_dataset(name[7:], labels, size, channels, crop, skip_bad_files, limit,
                                       color)
        else:
            ds, count = tfds_dataset(name, labels, split, data_dir, size, channels, crop, color)
        if limit is not None and not name.startswith("folder:"):  # a folder reads only `limit`
            ds, count = ds.take(limit), limit if count is None else min(count, limit)
    if count == 0:
        raise ValueError(f"{name} holds no examples.")
    if count is not None and count < batch_size:
        raise ValueError(
            f"{name} has {count} examples, fewer than batch_size={batch_size}: with "
            "drop_remainder=True that is zero batches. Lower batch_size."
        )
    ds = _cached(ds, count, cache, cache_dir, name)
    if shuffle:
        ds = ds.shuffle(_shuffle_buffer(ds, count), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    if mirror:
        ds = _mirrored(ds, seed)
    return _without_autotune(ds.prefetch(tf.data.AUTOTUNE))


def _mirrored(ds: tf.data.Dataset, seed: Optional[int]) -> tf.data.Dataset:
    """Batches of `ds` with each image flipped left-right with probability 1/2: new flips
    every iteration (epoch), the same ones for the same `seed`."""
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def flip(batch, key):
        images, *labels = batch if isinstance(batch, tuple) else (batch,)
        images = tf.image.stateless_random_flip_left_right(images, key)
        return (images, *labels) if labels else images

    return tf.data.Dataset.zip(ds, keys).map(flip)


def _without_autotune(ds: tf.data.Dataset) -> tf.data.Dataset:
    """`ds` with tf.data's autotuning off.

    On a 2-core host the autotuner's background work held training steps faster than
    ~25 ms to a fixed 25.6-51.2 ms in up to half the epochs (measured by
    `benchmarks/step_time.py`). Without it, decoding maps keep tf.data's default
    parallelism instead of a tuned one, which is all a cached pipeline needs.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


# ---------------------------------------------------------------- writing


def write_image_folder(images: np.ndarray, directory: str, labels: Optional[np.ndarray] = None) -> int:
    """Writes [-1, 1] images as PNGs that `load_dataset("folder:...")` reads back.

    With `labels`, each image goes to a zero-padded class sub-folder (`0`..`9`, or
    `00`..`99`), so `keras.utils.image_dataset_from_directory`'s alphanumeric
    class order is the numeric one. Returns the number of files written.
    """
    pixels = to_uint8(images)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(pixels):
            raise ValueError(f"write_image_folder received {len(pixels)} images and {len(labels)} labels.")
        width = len(str(max(int(labels.max()), 1)))
    for i, image in enumerate(pixels):
        folder = directory if labels is None else os.path.join(directory, f"{int(labels[i]):0{width}d}")
        os.makedirs(folder, exist_ok=True)
        tf.io.write_file(os.path.join(folder, f"{i:06d}.png"), tf.io.encode_png(image))
    return len(pixels)
