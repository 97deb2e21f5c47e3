"""Any TFDS image dataset by name (`mnist`, `cifar10`, `celeb_a`, ...), at the requested shape."""

import difflib
from typing import Optional, Tuple

import tensorflow as tf

from tfgan_kit.data import images as image_ops

OTHER_SOURCES = "'digits', 'idx:<dir>', 'npz:<file>', 'folder:<dir>', 'stacked:<source>', 'ring8', 'grid25'"


def _unknown(name: str, tfds) -> ValueError:
    """A short error for a name that is neither ours nor TFDS's, with the closest TFDS names."""
    try:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3, cutoff=0.7)
    except Exception:  # The catalogue itself failed to load: say nothing about it.
        close = []
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"Unknown dataset {name!r}: not one of {OTHER_SOURCES}, nor a TFDS dataset.{hint} "
        "TFDS names: https://www.tensorflow.org/datasets/catalog/overview"
    )


def tfds_dataset(name: str, labels: bool, split: str, data_dir: Optional[str],
                 size: Optional[Tuple[int, int]], channels: Optional[int], crop: bool,
                 background: Optional[image_ops.Color] = image_ops.WHITE):
    """`(dataset of [-1, 1] images or (image, label) pairs, count or None)` for a TFDS name."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:
        if type(e).__name__ != "DatasetNotFoundError":
            raise
        raise _unknown(name, tfds) from None  # TFDS's own message lists its whole catalogue.
    features = builder.info.features
    if "image" not in features:
        raise ValueError(f"TFDS dataset {name!r} has no 'image' feature; its features are {list(features)}.")
    if labels and "label" not in features:
        raise ValueError(f"TFDS dataset {name!r} has no 'label' feature; train it unconditionally.")
    stored = tuple(features["image"].shape)
    if size is None and (None in stored[:2] or stored[0] != stored[1]):
        if None in stored[:2]:
            raise ValueError(
                f"TFDS dataset {name!r} holds images of varying sizes {stored}; pass image_size=64 "
                "(or (height, width); flag --image_size) to center-crop and resize them."
            )
        image_ops.require_one_square_size([stored], f"TFDS dataset {name!r}")
    out_channels = image_ops.output_channels(stored[-1], channels, background)
    ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False)

    def convert(example):
        image = tf.cast(example["image"], tf.float32) / 127.5 - 1.0
        image = image_ops.to_shape(image, size, channels, crop, background)
        image = tf.ensure_shape(image, (size or stored[:2]) + (out_channels,))
        return (image, tf.cast(example["label"], tf.int32)) if labels else image

    try:
        count = builder.info.splits[split].num_examples
    except KeyError:  # Not prepared yet (or mocked): ask the dataset itself.
        count = int(ds.cardinality())
        count = count if count >= 0 else None  # Unknown: checked when batches are drawn.
    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE), count
