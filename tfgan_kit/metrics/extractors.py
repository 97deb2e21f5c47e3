"""Feature extractors that map images in [-1, 1] to features, offline.

- The bundled digit classifiers (`"mnist28"` for 28x28x1, `"digits8"` for 8x8x1): small
  CNNs trained by `benchmarks/train_digit_classifier.py` and shipped inside the package
  (`tfgan_kit/assets/digit_classifier/`, so a `pip install` carries them). Features are
  the 128-d (64-d) penultimate layer, named `features`; the softmax gives the
  classifier score and the classes covered.
- `"inception"`: `keras.applications.InceptionV3` pool3 (2048-d, images resized to
  299x299). Its weights come from `weights=`, Keras' cache, or one download into that
  cache where there is a network; offline, it fails within a second, saying where to put
  the file.
"""

import functools
import json
import os
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit._internal.arrays import check_images
from tfgan_kit._internal.keras_access import keras_home

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(PACKAGE, "assets", "digit_classifier")
DIGIT_CLASSIFIERS = {"mnist28": (28, 28, 1), "digits8": (8, 8, 1)}
"""The bundled digit classifiers by name, with the image shape each takes."""
# Stacked MNIST (three digits as the R, G, B channels): the per-channel classifier they use.
STACKED_CLASSIFIERS = {"stacked_mnist28": "mnist28"}
"""Stacked MNIST extractors by name, with the digit classifier each applies to every channel."""
INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where and how keras.applications.InceptionV3(include_top=False) gets them (keras/src/applications/inception_v3.py).
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                         + INCEPTION_WEIGHTS)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
# keras.utils.get_file's cache when Keras' home is not writable.
KERAS_TMP_HOME = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
PROBE_TIMEOUT = 1.0  # Seconds to wait for a TCP connection to the download host.


class FeatureExtractor:
    """Maps images in [-1, 1] (NHWC) to features and, for a classifier, class probabilities.

    Args:
        model: a Keras model whose outputs are `features` or `[features, probabilities]`.
        name: shown in printed results, e.g. `"mnist28"`.
        image_shape: the `(H, W, C)` it accepts; `None` accepts any (it resizes).
        preprocess: applied to each float32 batch before `model`. Defaults to `None`.
        batch_size: images per forward pass. Defaults to 256.
        description: one line on what it is (accuracy, training data). Defaults to `""`.

    Examples:

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

    def __repr__(self):
        return f"FeatureExtractor(name={self.name!r})"


# ------------------------------------------------------------------ the extractors


@functools.lru_cache(maxsize=None)
def _load_classifier(path: str) -> keras.Model:
    return keras.models.load_model(path, compile=False)


def load_digit_classifier(name_or_path: str = "mnist28") -> keras.Model:
    """The bundled digit classifier (`"mnist28"`, `"digits8"`, `"stacked_mnist28"`) or a `.keras` file.

    An ordinary Keras model from images to softmax, so it can also serve as
    `ModeCollapseMonitor`'s `classifier`; its penultimate layer is named `features`.
    `"stacked_mnist28"` classifies each channel of a Stacked MNIST image and returns the
    probabilities of the 1,000 triples (mode `100 a + 10 b + c` for digits a, b, c in
    R, G, B), so a monitor or `evaluate` counts modes.
    """
    if name_or_path in STACKED_CLASSIFIERS:
        return stacked_classifier(STACKED_CLASSIFIERS[name_or_path])[0]
    path = os.path.join(ASSETS, f"{name_or_path}.keras") if name_or_path in DIGIT_CLASSIFIERS else name_or_path
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"load_digit_classifier received {name_or_path!r}: {path} does not exist; expected one "
            f"of {tuple(DIGIT_CLASSIFIERS)} (shipped in {ASSETS}) or a .keras file. Retrain with "
            "benchmarks/train_digit_classifier.py."
        )
    return _load_classifier(os.path.abspath(path))


@functools.lru_cache(maxsize=None)
def stacked_classifier(name: str = "mnist28") -> Tuple[keras.Model, keras.Model]:
    """(images -> joint probabilities, images -> [features, joint probabilities]) for stacked digits.

    Each channel goes through the digit classifier `name`; the joint distribution of the
    three digits is the product of the three softmaxes (the channels are independent
    draws), flattened so that class `100 a + 10 b + c` is digits (a, b, c). Features are
    the three channels' penultimate features side by side.
    """
    digit = load_digit_classifier(name)
    inner = keras.Model(digit.inputs, [digit.get_layer("features").output, digit.outputs[0]])
    height, width, _ = DIGIT_CLASSIFIERS[name]
    images = keras.Input((height, width, 3), name="stacked_images")
    parts = [inner(images[..., c : c + 1]) for c in range(3)]
    # float32 whatever the global policy: a bfloat16 product of softmaxes does not sum to 1.
    features = keras.layers.Concatenate(name="features", dtype="float32")([f for f, _ in parts])
    a, b, c = (p for _, p in parts)
    joint = keras.ops.einsum("na,nb,nc->nabc", a, b, c)
    classes = a.shape[-1] * b.shape[-1] * c.shape[-1]
    joint = keras.layers.Reshape((classes,), name="modes", dtype="float32")(joint)
    return (keras.Model(images, joint, name=f"stacked_{name}"),
            keras.Model(images, [features, joint], name=f"stacked_{name}_features"))


def digit_classifier_metadata() -> Dict[str, dict]:
    """What `benchmarks/train_digit_classifier.py` recorded: data, held-out accuracy, size."""
    path = os.path.join(ASSETS, "metadata.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _keras_cache_dirs() -> list:
    """Where `keras.applications` caches weights (it falls back to /tmp/.keras when home is read-only)."""
    return [os.path.join(keras_home(), "models"), os.path.join(KERAS_TMP_HOME, "models")]


def _can_connect(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a TCP connection to `host:port` opens within `timeout` seconds, name lookup included.

    The lookup has no timeout of its own, so the probe runs in a daemon thread that is
    abandoned when the time is up.
    """
    opened = []

    def probe():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            opened.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, name="tfgan_kit-network-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(opened)


def _download_endpoint(url: str) -> Tuple[str, int]:
    """The host and port a download of `url` connects to first: the HTTPS proxy if one is set."""
    host = urllib.parse.urlsplit(url).hostname
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    return host, 443


def _missing_inception_weights(reason: str) -> FileNotFoundError:
    cached = [os.path.join(d, INCEPTION_WEIGHTS) for d in _keras_cache_dirs()]
    return FileNotFoundError(
        f"InceptionV3 weights not found in Keras' cache (looked for {cached}) and {reason}. "
        f"Fetch {INCEPTION_WEIGHTS_URL} (md5 {INCEPTION_WEIGHTS_MD5}) on a machine with a network "
        f"and put it at {cached[0]}, or pass its path: "
        f"tfgan_kit.feature_extractor('inception', weights=<path>). "
        "For digits use a bundled classifier instead: features='mnist28' or 'digits8'."
    )


def inception_weights_path(weights: Optional[str] = None) -> str:
    """A local InceptionV3 no-top weights file: `weights`, Keras' cache, or one download into it.

    Without `weights` and without a cached file, the file Keras itself uses is downloaded
    once with `keras.utils.get_file` (same origin, same md5) into Keras' cache, so later
    runs are offline. The download host is probed first (a TCP connection, within
    `PROBE_TIMEOUT` seconds), so a machine without a network fails at once, with a
    `FileNotFoundError` that says where to put the file, instead of hanging.
    """
    if weights:
        path = os.path.expanduser(str(weights))
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"feature_extractor('inception') received weights={weights!r}: no such file; expected "
                f"a weights file of keras.applications.InceptionV3(include_top=False) ({INCEPTION_WEIGHTS} "
                f"from {INCEPTION_WEIGHTS_URL}, or a .weights.h5 saved by model.save_weights)."
            )
        return path
    for directory in _keras_cache_dirs():
        path = os.path.join(directory, INCEPTION_WEIGHTS)
        if os.path.isfile(path):
            return path
    host, port = _download_endpoint(INCEPTION_WEIGHTS_URL)
    if not _can_connect(host, port):
        raise _missing_inception_weights(
            f"this machine has no network ({host}:{port} could not be reached within {PROBE_TIMEOUT:g} s)")
    try:
        return keras.utils.get_file(INCEPTION_WEIGHTS, INCEPTION_WEIGHTS_URL, cache_subdir="models",
                                    file_hash=INCEPTION_WEIGHTS_MD5)
    except Exception as error:  # get_file raises bare Exceptions for network errors.
        raise _missing_inception_weights(f"downloading it failed ({error})") from error


def _inception_preprocess(batch):
    if batch.shape[-1] == 1:
        batch = tf.image.grayscale_to_rgb(batch)
    return tf.image.resize(batch, (299, 299), method="bilinear")  # Already [-1, 1]: Inception's range.


def feature_extractor(name: str = "mnist28", weights: Optional[str] = None,
                      batch_size: Optional[int] = None) -> FeatureExtractor:
    """A `FeatureExtractor` by name: `"mnist28"`, `"digits8"` (bundled) or `"inception"`.

    Args:
        name: which extractor. Defaults to `"mnist28"`.
        weights: for `"inception"`, a local weights file. Defaults to `None`: Keras'
            cache, downloaded into it once where there is a network
            (see `inception_weights_path`).
        batch_size: images per forward pass. Defaults to 256 (32 for Inception).
    """
    if name in DIGIT_CLASSIFIERS:
        classifier = load_digit_classifier(name)
        model = keras.Model(classifier.inputs, [classifier.get_layer("features").output, classifier.outputs[0]])
        meta = digit_classifier_metadata().get(name, {})
        description = (f"bundled {name} classifier, {model.outputs[0].shape[-1]}-d features, "
                       f"held-out accuracy {meta.get('held_out_accuracy', float('nan')):.2%}")
        return FeatureExtractor(model, name, DIGIT_CLASSIFIERS[name], None, batch_size or 256, description)
    if name in STACKED_CLASSIFIERS:
        model = stacked_classifier(STACKED_CLASSIFIERS[name])[1]
        return FeatureExtractor(model, name, tuple(model.inputs[0].shape[1:]), None, batch_size or 256,
                                f"bundled {STACKED_CLASSIFIERS[name]} classifier on each channel, "
                                "1,000 modes (digit triples)")
    if name == "inception":
        path = inception_weights_path(weights)  # Downloads or raises before building anything.
        model = keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=path, input_shape=(299, 299, 3)
        )
        return FeatureExtractor(model, "inception", None, _inception_preprocess, batch_size or 32,
                                f"InceptionV3 pool3, 2048-d, weights {path}")
    raise ValueError(
        f"feature_extractor received name={name!r}; expected one of "
        f"{(*DIGIT_CLASSIFIERS, *STACKED_CLASSIFIERS, 'inception')}."
    )


def choose_features(features: Union[None, str, FeatureExtractor], extractor: Union[None, str, FeatureExtractor],
                    who: str) -> Union[None, str, FeatureExtractor]:
    """The one of `features` and `extractor` (its former name) that `who` was given, checked."""
    if features is not None and extractor is not None:
        raise ValueError(f"{who} received features={features!r} and extractor={extractor!r}; expected "
                         "only one of them (extractor is the former name of features).")
    argument, value = ("features", features) if features is not None else ("extractor", extractor)
    if not (value is None or isinstance(value, (str, FeatureExtractor))):
        raise ValueError(f"{who} received {argument}={value!r}; expected None, one of "
                         f"{(*DIGIT_CLASSIFIERS, 'inception')} or a FeatureExtractor.")
    return value


def bundled_classifier_name(image_shape: Sequence[int]) -> Optional[str]:
    """The bundled classifier that takes `image_shape` (three-channel 28x28: Stacked MNIST), or None."""
    for name, shape in DIGIT_CLASSIFIERS.items():
        if tuple(image_shape) == shape:
            return name
    for name, digits in STACKED_CLASSIFIERS.items():
        if tuple(image_shape) == DIGIT_CLASSIFIERS[digits][:2] + (3,):
            return name
    return None


def default_extractor(image_shape: Sequence[int]) -> FeatureExtractor:
    """The bundled classifier that fits `image_shape`, else InceptionV3 (cached or downloaded once)."""
    return feature_extractor(bundled_classifier_name(image_shape) or "inception")
