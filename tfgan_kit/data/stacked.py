"""Stacked MNIST: three independently drawn digits as the R, G and B channels, 1,000 modes.

The mode-collapse benchmark of VEEGAN (Srivastava et al. 2017), PacGAN (Lin et al.
2018) and R3GAN (Huang et al. 2024). Examples are held as index triples into the
one-channel source and stacked when read, so the protocol's 128,000 examples cost
three integers each, not a 28x28x3 image.
"""

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

STACKED_EXAMPLES = 128_000  # the protocol's training set size
NUM_MODES = 1000


def triples(source_size: int, count: int, seed: int = 0) -> np.ndarray:
    """`(count, 3)` indices into the source, each column drawn independently and uniformly."""
    return np.random.default_rng(seed).integers(0, source_size, (count, 3)).astype(np.int32)


def stack_labels(labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The mode of each triple: `100 a + 10 b + c` for the digits a, b, c in R, G, B."""
    digits = np.asarray(labels, np.int64)[indices]
    return (100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]).astype(np.int32)


def stacked_dataset(images: np.ndarray, labels: Optional[np.ndarray], count: Optional[int],
                    shuffle: bool, seed: Optional[int],
                    want_labels: bool) -> Tuple[tf.data.Dataset, int]:
    """`(dataset of (28, 28, 3) images [, mode labels], count)` from one-channel `images`.

    The triples are drawn once (from `seed`, 0 by default), so the training set is fixed;
    shuffling reorders the index triples, before any image is built.
    """
    if images.shape[-1] != 1:
        raise ValueError(
            f"stacked: expects a one-channel digit source, got images of shape {images.shape[1:]}."
        )
    count = STACKED_EXAMPLES if count is None else int(count)
    indices = triples(len(images), count, 0 if seed is None else seed)
    source = tf.constant(images)
    ds = tf.data.Dataset.from_tensor_slices(indices)
    if want_labels:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(stack_labels(labels, indices))))
    if shuffle:
        ds = ds.shuffle(min(count, 60_000), seed=seed, reshuffle_each_iteration=True)

    def stack(index, *label):
        image = tf.concat([source[index[c]] for c in range(3)], axis=-1)
        return (image, label[0]) if label else image

    return ds.map(stack, num_parallel_calls=tf.data.AUTOTUNE), count
