"""Feature extractors: the shipped classifiers' accuracy, size, checks; Inception offline."""

import os
import time

import keras
import numpy as np
import pytest
from conftest import MNIST_DIR, REPO

import tfgan_kit
from tfgan_kit.metrics import evaluation, extractors


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


def test_mnist_classifier_is_98_percent_accurate_on_images_it_never_saw():
    x, y = tfgan_kit.load_arrays(f"idx:{MNIST_DIR}", labels=True, split="test")
    held_x, held_y = x[8000:], y[8000:]  # It trained on the first 8,000 only.
    assert len(held_y) == 2000
    classifier = extractors.load_digit_classifier("mnist28")  # Shipped, not trained here.
    accuracy = float(np.mean(classifier.predict(held_x, verbose=0).argmax(-1) == held_y))
    assert accuracy >= 0.98
    recorded = extractors.digit_classifier_metadata()["mnist28"]["held_out_accuracy"]
    assert accuracy == pytest.approx(recorded, abs=1e-3)


def test_digits_classifier_is_accurate_on_its_held_out_split(digits):
    from sklearn.model_selection import train_test_split

    x, y = digits
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    features, probabilities = extractors.feature_extractor("digits8")(x_test)
    assert features.shape == (360, 64) and probabilities.shape == (360, 10)
    accuracy = float(np.mean(probabilities.argmax(-1) == y_test))
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(
        extractors.digit_classifier_metadata()["digits8"]["held_out_accuracy"], abs=1e-3)


def test_shipped_files_are_small_and_inside_the_package():
    for name in extractors.DIGIT_CLASSIFIERS:
        path = os.path.join(extractors.ASSETS, f"{name}.keras")
        assert os.path.getsize(path) < 3e6
        assert os.path.dirname(tfgan_kit.__file__) in os.path.abspath(path)
    with open(os.path.join(REPO, "setup.cfg")) as f:
        assert "assets/digit_classifier/*.keras" in f.read()  # Shipped by pip install.


def test_extractor_refuses_wrong_shapes_and_ranges(digits):
    extractor = extractors.feature_extractor("digits8")
    with pytest.raises(ValueError, match=r"'digits8' received images of shape \(28, 28, 1\); it takes \(8, 8, 1\)"):
        extractor(np.zeros((4, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"pixel values in \[0, 255\]; expected images in \[-1, 1\]"):
        extractor(np.linspace(0, 255, 4 * 64).reshape(4, 8, 8, 1))
    with pytest.raises(ValueError, match="name='cifar'"):
        extractors.feature_extractor("cifar")
    with pytest.raises(FileNotFoundError, match="nope.keras does not exist"):
        extractors.load_digit_classifier("nope.keras")


def _no_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(keras.utils, "get_file", refuse)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", refuse)
    monkeypatch.setattr("keras.src.applications.inception_v3.file_utils.get_file", refuse)


def test_inception_without_weights_fails_fast_and_clearly(tmp_path, monkeypatch):
    _no_downloads(monkeypatch)
    monkeypatch.setattr(extractors, "_keras_cache_dirs", lambda: [str(tmp_path / "models")])
    start = time.time()
    with pytest.raises(FileNotFoundError, match="InceptionV3 weights not found.*never downloads"):
        extractors.feature_extractor("inception")
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        extractors.feature_extractor("inception", weights=str(tmp_path / "missing.h5"))
    # No bundled classifier fits 32x32 RGB: the default falls back to Inception, and says why.
    with pytest.raises(FileNotFoundError, match="extractor='mnist28' or 'digits8'"):
        evaluation.evaluate(np.zeros((50, 32, 32, 3)), np.zeros((50, 32, 32, 3)))
    assert time.time() - start < 1.0


@pytest.mark.slow
def test_inception_uses_weights_from_the_keras_cache(tmp_path, monkeypatch):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    _no_downloads(monkeypatch)
    keras.utils.set_random_seed(0)
    source = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                            input_shape=(299, 299, 3))
    cache = tmp_path / "models"
    cache.mkdir()
    # The layout of Keras' own cached file (legacy HDF5 by layer name).
    with h5py.File(cache / extractors.INCEPTION_WEIGHTS, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    monkeypatch.setattr(extractors, "_keras_cache_dirs", lambda: [str(cache)])
    extractor = extractors.feature_extractor("inception")
    np.testing.assert_array_equal(extractor.model.get_weights()[0], source.get_weights()[0])
    images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    features, probabilities = extractor(images)  # Grayscale 28x28 -> RGB 299x299.
    assert features.shape == (3, 2048) and probabilities is None
    with pytest.raises(ValueError, match="no class probabilities"):
        evaluation.evaluate(images, images, metrics=["classifier_score"], extractor=extractor)
