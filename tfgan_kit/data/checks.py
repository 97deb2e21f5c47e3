"""Checks of what users hand to a GAN, made before any training starts.

`GAN.fit` and `GAN.evaluate` call `check_data` first: a wrong image size, channel
count, dtype or value range, labels for an unconditional GAN (or none for a
conditional one), an empty or endless dataset then fail at once with a message
that names the problem and the fix, rather than deep inside a traced step or, worse,
not at all. The checks are cheap: the dataset's `element_spec`, its cardinality
and at most one batch. `check_writable_dir` refuses an output path that cannot be
written before hours of training are spent.
"""

import os
import tempfile
import warnings
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit._internal import batches

# Values this far outside the generator's output range are not rounding.
RANGE_TOLERANCE = 0.05
RESHAPING = (
    keras.layers.Reshape, keras.layers.Flatten, keras.layers.Permute, keras.layers.Cropping2D
)


def _output_range(generator) -> Optional[tuple]:
    """(low, high) of the generator's last activation, or None when unbounded/unknown."""
    for layer in reversed(getattr(generator, "layers", [])):
        if isinstance(layer, RESHAPING):
            continue  # Moves values around without changing them.
        name = getattr(getattr(layer, "activation", None), "__name__", "")
        return {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(name)
    return None


def _split_spec(spec, where: str):
    """(images, labels or None) of a dataset's element_spec (or element), refusing odd ones."""
    if isinstance(spec, dict) and "images" not in spec:
        raise ValueError(
            f"{where} yields dicts with keys {sorted(spec)}; expected an 'images' key "
            "(and 'labels' for a conditional GAN)."
        )
    if isinstance(spec, (tuple, list)) and not spec:
        raise ValueError(f"{where} yields empty tuples; expected images or (images, labels).")
    return batches.unpack(spec)


def _check_image_spec(gan, shape, dtype, where: str) -> None:
    expected = (None,) + tuple(gan.image_shape)
    shape = tuple(shape) if shape is not None else None
    if shape is None:
        return
    if len(shape) == len(expected) - 1 and shape == tuple(gan.image_shape):
        raise ValueError(
            f"{where} yields single images of shape {shape}, not batches; batch them: "
            "dataset.batch(batch_size, drop_remainder=True)."
        )
    if len(shape) != len(expected):
        raise ValueError(
            f"{where} yields images of shape {shape} (rank {len(shape)}), but the "
            f"discriminator {gan.discriminator.name!r} takes batches of shape {expected} "
            f"(rank {len(expected)})."
        )
    if len(expected) == 4 and shape[-1] is not None and shape[-1] != expected[-1]:
        raise ValueError(
            f"{where} yields images with {shape[-1]} channels (shape {shape}), but the "
            f"discriminator {gan.discriminator.name!r} takes {expected[-1]} (shape {expected}). "
            "Convert the images (e.g. tf.image.rgb_to_grayscale) or build the networks for "
            f"{shape[-1]} channels."
        )
    if any(s is not None and s != e for s, e in zip(shape[1:], expected[1:])):
        raise ValueError(
            f"{where} yields images of shape {shape}, but the discriminator "
            f"{gan.discriminator.name!r} takes {expected}. Resize the data "
            "(load_dataset(..., image_size=...)) or build the networks for its size."
        )
    if not tf.as_dtype(dtype).is_floating:
        raise ValueError(
            f"{where} yields {tf.as_dtype(dtype).name} images; a GAN needs float images in "
            "the generator's range: tf.cast(x, tf.float32) / 127.5 - 1 for [0, 255] pixels, "
            "or tfgan_kit.load_dataset, which does it."
        )


def _check_labels(gan, labels_present: bool, labels_shape, labels_dtype, where: str) -> None:
    if gan.num_classes is None and labels_present:
        raise ValueError(
            f"{where} yields (images, labels), but this GAN is unconditional "
            "(num_classes=None), so the labels would be ignored. Drop them "
            "(dataset.map(lambda x, y: x), or load_dataset(..., labels=False)) or pass "
            "num_classes= to GAN with conditional networks."
        )
    if gan.num_classes is not None and not labels_present:
        raise ValueError(
            f"{where} yields images only, but this GAN is conditional "
            f"(num_classes={gan.num_classes}) and needs (images, labels) batches: "
            "load_dataset(..., labels=True) or dataset.map(lambda x: (x, labels))."
        )
    if not labels_present:
        return
    if labels_dtype is not None and not tf.as_dtype(labels_dtype).is_integer:
        raise ValueError(
            f"{where} yields {tf.as_dtype(labels_dtype).name} labels; expected integer class "
            "ids in [0, num_classes): tf.cast(labels, tf.int32)."
        )
    rank = None if labels_shape is None else len(labels_shape)
    if rank is not None and not (rank == 1 or (rank == 2 and labels_shape[-1] == 1)):
        raise ValueError(
            f"{where} yields labels of shape {tuple(labels_shape)}; expected one class id per "
            "image, shaped (batch,) or (batch, 1) (not one-hot: use tf.argmax(labels, -1))."
        )


def _check_values(gan, images: np.ndarray, labels, where: str) -> None:
    images = np.asarray(images)
    finite = np.isfinite(images)
    if not finite.all():
        raise ValueError(
            f"{where} holds {images.size - int(finite.sum())} NaN or infinite pixel values "
            "(in the batch checked); training on them makes every weight NaN. Clean or drop "
            "those images."
        )
    value_range = _output_range(gan.generator)
    if value_range is not None and images.size:
        low, high = value_range
        lo, hi = float(images.min()), float(images.max())
        if lo < low - RANGE_TOLERANCE or hi > high + RANGE_TOLERANCE:
            raise ValueError(
                f"{where} holds values in [{lo:g}, {hi:g}], but the generator "
                f"{gan.generator.name!r} outputs [{low:g}, {high:g}] (its last activation), "
                "so the discriminator would tell real from fake by range alone. Rescale: "
                "x / 127.5 - 1 maps [0, 255] to [-1, 1]; tfgan_kit.load_dataset does it."
            )
        if low < 0.0 and lo >= 0.0 and hi - lo > 0.5:  # Spans [0, 1], not [-1, 1].
            warnings.warn(
                f"{where} holds values in [{lo:g}, {hi:g}], but the generator "
                f"{gan.generator.name!r} outputs [{low:g}, {high:g}]: half its range is never "
                "real. If the data is in [0, 1], rescale it: x * 2 - 1.",
                UserWarning,
                stacklevel=4,
            )
    if labels is not None and gan.num_classes is not None:
        labels = np.asarray(labels)
        if labels.size and (labels.min() < 0 or labels.max() >= gan.num_classes):
            raise ValueError(
                f"{where} holds labels in [{labels.min()}, {labels.max()}], but "
                f"num_classes={gan.num_classes} needs class ids in [0, {gan.num_classes - 1}]."
            )


def _check_dataset(gan, dataset: tf.data.Dataset, steps, where: str) -> None:
    images_spec, labels_spec = _split_spec(dataset.element_spec, where)
    if not isinstance(images_spec, tf.TensorSpec):
        raise ValueError(
            f"{where} yields {images_spec!r} as images; expected a tensor of image batches."
        )
    _check_image_spec(gan, images_spec.shape.as_list(), images_spec.dtype, where)
    labels_ok = isinstance(labels_spec, tf.TensorSpec)
    _check_labels(
        gan,
        labels_spec is not None,
        labels_spec.shape.as_list() if labels_ok and labels_spec.shape.rank is not None else None,
        labels_spec.dtype if labels_ok else None,
        where,
    )
    cardinality = int(dataset.cardinality())
    if cardinality == 0:
        raise ValueError(
            f"{where} yields no batches: it is empty, or has fewer examples than one batch "
            "with drop_remainder=True. Lower batch_size or check the data source."
        )
    if cardinality == tf.data.INFINITE_CARDINALITY and steps is None:
        raise ValueError(
            f"{where} repeats forever (dataset.repeat()), so an epoch would never end; pass "
            "steps_per_epoch= (steps= for evaluate) or drop the repeat()."
        )
    try:
        batch = next(iter(dataset.take(1)))
    except StopIteration:
        raise ValueError(
            f"{where} yields no batches: it is empty (e.g. filtered to nothing), or has "
            "fewer examples than one batch with drop_remainder=True."
        ) from None
    images, labels = _split_spec(batch, where)
    _check_values(gan, images, labels if gan.num_classes is not None else None, where)


def check_data(gan, x, y=None, where: str = "fit", steps: Optional[int] = None) -> None:
    """Raises `ValueError` when `x` (and `y`) cannot train or evaluate `gan`.

    Accepts what `fit` accepts: a `tf.data.Dataset` of images or `(images,
    labels)` batches, or arrays (`x` images, `y` labels). Other inputs (Python
    generators, `keras.utils.PyDataset`, distributed datasets) pass unchecked,
    since reading them would consume data. Warns when the data uses only half of
    a tanh generator's range.
    """
    if steps is not None and steps < 1:
        raise ValueError(
            f"GAN.{where} received {steps} steps; expected at least 1 batch per epoch."
        )
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError(
                f"GAN.{where} received a dataset and y=...; a dataset carries its labels: "
                "yield (images, labels) batches."
            )
        _check_dataset(gan, x, steps, f"The dataset passed to GAN.{where}")
        return
    if isinstance(x, dict):
        x, y = x.get("images"), x.get("labels", y)
    if x is None or not isinstance(x, (np.ndarray, tf.Tensor, list)):
        return
    where = f"The array passed to GAN.{where}"
    x = np.asarray(x)
    if x.size == 0 or x.ndim == 0:
        raise ValueError(f"{where} holds no images (shape {x.shape}).")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{where} holds {x.dtype} data; expected float pixels.")
    _check_image_spec(gan, (None,) + x.shape[1:], x.dtype, where)
    labels = None if y is None else np.asarray(y)
    _check_labels(
        gan,
        labels is not None,
        None if labels is None else (None,) + labels.shape[1:],
        None if labels is None else labels.dtype,
        where,
    )
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"{where} holds {len(x)} images but {len(labels)} labels.")
    _check_values(gan, x, labels, where)


def check_writable_dir(path: str, what: str = "output directory") -> str:
    """Creates `path` if needed and proves a file can be written there; returns it.

    Raises `ValueError` naming the path when it is an existing file, or a directory
    this process cannot write, so a run is refused before training rather than
    failing when it saves its results. Nothing already on disk is changed.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"The {what} {path!r} is an existing file, not a directory (it is left "
            "untouched); choose another path."
        )
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write_test_"):
            pass
    except OSError as e:
        raise ValueError(
            f"The {what} {path!r} is not writable ({e.strerror or e}); choose a directory "
            "you can write to."
        ) from e
    return path
