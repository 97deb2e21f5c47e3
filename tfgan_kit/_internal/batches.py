"""Reading examples out of what users pass: a batch, an array, a pair or a dataset."""

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf


def unpack(element) -> tuple:
    """`(images, labels or None)` of one element: images, `(images, labels)` or a dict."""
    if isinstance(element, dict):
        return element.get("images", element.get("image")), element.get("labels")
    if isinstance(element, (tuple, list)):
        return element[0], (element[1] if len(element) > 1 else None)
    return element, None


def take(data, limit: Optional[int] = None, seed: Optional[int] = None,
         example_rank: int = 3) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """`(images, labels or None)`: up to `limit` examples from `data`, as numpy arrays.

    `data` is an array, an `(images, labels)` pair, or a `tf.data.Dataset` (batched or
    not: an element of rank `example_rank` is one example) of images or pairs. A
    dataset gives its first `limit` examples; an array its first `limit`, or a random
    subset of that size when `seed` is given.
    """
    if isinstance(data, tf.data.Dataset):
        images, labels, count = [], [], 0
        for element in data.as_numpy_iterator():
            x, y = unpack(element)
            x = np.asarray(x)
            single = x.ndim == example_rank
            images.append(x[None] if single else x)
            labels.append(None if y is None else np.asarray(y).reshape(-1))
            count += len(images[-1])
            if limit is not None and count >= limit:
                break
        images = np.concatenate(images) if images else np.zeros((0,), np.float32)
        labels = None if not labels or labels[0] is None else np.concatenate(labels)
    else:
        images, labels = unpack(tuple(data)) if isinstance(data, (tuple, list)) else (data, None)
        images = np.asarray(images)
        labels = None if labels is None else np.asarray(labels).reshape(-1)
        if seed is not None and limit is not None and len(images) > limit:
            keep = np.random.default_rng(seed).choice(len(images), limit, replace=False)
            images, labels = images[keep], (None if labels is None else labels[keep])
    if limit is not None:
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    return images, labels
