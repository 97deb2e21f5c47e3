"""Feature extractors that map images in [-1, 1] to features, offline.

- The bundled digit classifiers (`"mnist28"` for 28x28x1, `"digits8"` for 8x8x1): small
  CNNs trained by `benchmarks/train_digit_classifier.py` and shipped inside the package
  (`tfgan_kit/assets/digit_classifier/`, so a `pip install` carries them). Features are
  the 128-d (64-d) penultimate layer, named `features`; the softmax gives the
  classifier score and the classes covered.
- `"inception"`: `keras.applications.InceptionV3` pool3 (2048-d, images resized to
  299x299), only when its weights are on disk: nothing here ever downloads.
"""

import functools
import json
import os
from typing import Callable, Dict, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit._internal.arrays import check_images

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(PACKAGE, "assets", "digit_classifier")
DIGIT_CLASSIFIERS = {"mnist28": (28, 28, 1), "digits8": (8, 8, 1)}
INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


class FeatureExtractor:
    """Maps images in [-1, 1] (NHWC) to features and, for a classifier, class probabilities.

    Args:
        model: a Keras model whose outputs are `features` or `[features, probabilities]`.
        name: shown in printed results, e.g. `"mnist28"`.
        image_shape: the `(H, W, C)` it accepts; `None` accepts any (it resizes).
        preprocess: applied to each float32 batch before `model`. Defaults to `None`.
        batch_size: images per forward pass. Defaults to 256.
        description: one line on what it is (accuracy, training data). Defaults to `""`.

    Example:

    ```python
    extractor = tfgan_kit.feature_extractor("mnist28")
    features, probabilities = extractor(gan.generate(1000))
    ```
    """

    def __init__(self, model: keras.Model, name: str, image_shape: Optional[Tuple[int, ...]] = None,
                 preprocess: Optional[Callable] = None, batch_size: int = 256, description: str = ""):
        if batch_size < 1:
            raise ValueError(f"FeatureExtractor received batch_size={batch_size}; expected >= 1.")
        self.model, self.name, self.image_shape = model, name, image_shape
        self.preprocess, self.batch_size, self.description = preprocess, batch_size, description
        self.has_probabilities = isinstance(model.outputs, (list, tuple)) and len(model.outputs) == 2

    def __call__(self, images) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        images = check_images(images, f"FeatureExtractor {self.name!r}", self.image_shape)
        features, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            batch = tf.constant(images[start : start + self.batch_size])
            if self.preprocess is not None:
                batch = self.preprocess(batch)
            out = self.model(batch, training=False)
            out = out if isinstance(out, (list, tuple)) else [out]
            features.append(np.asarray(out[0], np.float64))
            if self.has_probabilities:
                probabilities.append(np.asarray(out[1], np.float64))
        return np.concatenate(features), (np.concatenate(probabilities) if probabilities else None)


# ------------------------------------------------------------------ the extractors


@functools.lru_cache(maxsize=None)
def _load_classifier(path: str) -> keras.Model:
    return keras.models.load_model(path, compile=False)


def load_digit_classifier(name_or_path: str = "mnist28") -> keras.Model:
    """The bundled digit classifier (`"mnist28"` or `"digits8"`) or a `.keras` file: images -> softmax.

    It is an ordinary Keras model, so it can also serve as `ModeCollapseMonitor`'s
    `classifier`. Its penultimate layer is named `features`.
    """
    path = os.path.join(ASSETS, f"{name_or_path}.keras") if name_or_path in DIGIT_CLASSIFIERS else name_or_path
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"load_digit_classifier received {name_or_path!r}: {path} does not exist; expected one "
            f"of {tuple(DIGIT_CLASSIFIERS)} (shipped in {ASSETS}) or a .keras file. Retrain with "
            "benchmarks/train_digit_classifier.py."
        )
    return _load_classifier(os.path.abspath(path))


def digit_classifier_metadata() -> Dict[str, dict]:
    """What `benchmarks/train_digit_classifier.py` recorded: data, held-out accuracy, size."""
    path = os.path.join(ASSETS, "metadata.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _keras_cache_dirs() -> list:
    """Where `keras.applications` caches weights (it falls back to /tmp/.keras when home is read-only)."""
    return [os.path.join(keras.config.keras_home(), "models"), os.path.join("/tmp", ".keras", "models")]


def inception_weights_path(weights: Optional[str] = None) -> str:
    """A local InceptionV3 no-top weights file: `weights`, or Keras' cache. Raises if there is none.

    Never downloads: a machine without a network would hang or fail slowly.
    """
    candidates = [weights] if weights else [os.path.join(d, INCEPTION_WEIGHTS) for d in _keras_cache_dirs()]
    for path in candidates:
        if os.path.isfile(os.path.expanduser(path)):
            return os.path.expanduser(path)
    raise FileNotFoundError(
        f"InceptionV3 weights not found (looked for {candidates}); tfgan_kit never downloads them. "
        f"On a machine with a network, `keras.applications.InceptionV3(include_top=False)` caches "
        f"{INCEPTION_WEIGHTS} in ~/.keras/models/; copy it there or pass its path as weights=. "
        f"For digits use a bundled classifier instead: extractor='mnist28' or 'digits8'."
    )


def _inception_preprocess(batch):
    if batch.shape[-1] == 1:
        batch = tf.image.grayscale_to_rgb(batch)
    return tf.image.resize(batch, (299, 299), method="bilinear")  # Already [-1, 1]: Inception's range.


def feature_extractor(name: str = "mnist28", weights: Optional[str] = None,
                      batch_size: Optional[int] = None) -> FeatureExtractor:
    """A `FeatureExtractor` by name: `"mnist28"`, `"digits8"` (bundled) or `"inception"`.

    Args:
        name: which extractor. Defaults to `"mnist28"`.
        weights: for `"inception"`, a local weights file. Defaults to Keras' cache.
        batch_size: images per forward pass. Defaults to 256 (32 for Inception).
    """
    if name in DIGIT_CLASSIFIERS:
        classifier = load_digit_classifier(name)
        model = keras.Model(classifier.inputs, [classifier.get_layer("features").output, classifier.outputs[0]])
        meta = digit_classifier_metadata().get(name, {})
        description = (f"bundled {name} classifier, {model.outputs[0].shape[-1]}-d features, "
                       f"held-out accuracy {meta.get('held_out_accuracy', float('nan')):.2%}")
        return FeatureExtractor(model, name, DIGIT_CLASSIFIERS[name], None, batch_size or 256, description)
    if name == "inception":
        path = inception_weights_path(weights)  # Raises before building anything.
        model = keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=path, input_shape=(299, 299, 3)
        )
        return FeatureExtractor(model, "inception", None, _inception_preprocess, batch_size or 32,
                                f"InceptionV3 pool3, 2048-d, weights {path}")
    raise ValueError(
        f"feature_extractor received name={name!r}; expected one of {(*DIGIT_CLASSIFIERS, 'inception')}."
    )


def default_extractor(image_shape: Sequence[int]) -> FeatureExtractor:
    """The bundled classifier that fits `image_shape`, else InceptionV3 (if its weights are local)."""
    for name, shape in DIGIT_CLASSIFIERS.items():
        if tuple(image_shape) == shape:
            return feature_extractor(name)
    return feature_extractor("inception")
