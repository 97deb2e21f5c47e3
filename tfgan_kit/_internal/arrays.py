"""Checking and converting the arrays users hand over: images and feature matrices."""

from typing import Optional, Sequence

import numpy as np


def check_images(images, owner: str, expected_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """`images` as float32 `(N, H, W, C)` in [-1, 1] (a missing channel axis is added), or raise."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{owner} received images of shape {images.shape}; expected (N, H, W, C) with "
            "N >= 1 and C = 1 (gray), 3 (RGB) or 4 (RGBA)."
        )
    if expected_shape is not None and images.shape[1:] != tuple(expected_shape):
        raise ValueError(
            f"{owner} received images of shape {images.shape[1:]}; it takes {tuple(expected_shape)}."
        )
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.5 or hi > 1.5 or not np.isfinite(lo + hi):
        raise ValueError(
            f"{owner} received pixel values in [{lo:.3g}, {hi:.3g}]; expected images in [-1, 1] "
            "(what GAN.generate and load_dataset return)."
        )
    return images


def to_uint8(images) -> np.ndarray:
    """[-1, 1] images -> uint8 [0, 255]."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def as_features(x, owner: str, name: str, min_samples: int = 2) -> np.ndarray:
    """`x` (array, tensor or dataset of batches) as float64 `(num_samples, num_features)`."""
    if hasattr(x, "as_numpy_iterator"):  # A tf.data.Dataset of (batches of) features.
        parts = [np.asarray(b[0] if isinstance(b, (tuple, list)) else b) for b in x.as_numpy_iterator()]
        x = np.concatenate([p.reshape((-1,) + p.shape[-1:]) for p in parts]) if parts else np.zeros((0, 1))
    x = np.asarray(x, np.float64)
    if x.ndim < 2:
        raise ValueError(
            f"{owner} received {name} of shape {x.shape}; expected (num_samples, num_features)."
        )
    x = x.reshape(len(x), -1)
    if len(x) < min_samples:
        raise ValueError(f"{owner} received {len(x)} samples in {name}; expected at least {min_samples}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{owner} received {name} with NaN or infinite values.")
    return x


def feature_pair(a, b, owner: str, names=("real", "fake"), min_samples: int = 2):
    """Two feature sets of the same width, as `as_features` returns them."""
    a = as_features(a, owner, names[0], min_samples)
    b = as_features(b, owner, names[1], min_samples)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{owner} received {names[0]} with {a.shape[1]} features and {names[1]} with "
            f"{b.shape[1]}; both must come from the same feature extractor."
        )
    return a, b
