"""Feature extractors: the shipped classifiers' accuracy, size, checks; Inception's weights."""

import inspect
import os
import shutil
import socket
import threading
import time

import keras
import numpy as np
import pytest
from conftest import MNIST_DIR, REPO, needs_mnist

import tfgan_kit
from tfgan_kit.metrics import evaluation, extractors


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


@needs_mnist
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


def _empty_keras_home(monkeypatch, home):
    """Keras' cache (and its /tmp fallback) in `home`, so no real ~/.keras is read."""
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(home / "keras"))  # What get_file reads.
    monkeypatch.setattr(extractors, "KERAS_TMP_HOME", str(home / "tmp_keras"))
    return home / "keras" / "models" / extractors.INCEPTION_WEIGHTS


def test_inception_downloads_what_keras_itself_downloads_into_its_cache():
    from keras.src.applications import inception_v3
    from keras.src.backend import config

    assert extractors._keras_cache_dirs()[0] == os.path.join(config.keras_home(), "models")
    assert extractors.INCEPTION_WEIGHTS_URL == inception_v3.WEIGHTS_PATH_NO_TOP
    keras_source = inspect.getsource(inception_v3.InceptionV3)
    assert f'"{extractors.INCEPTION_WEIGHTS}"' in keras_source
    assert f'file_hash="{extractors.INCEPTION_WEIGHTS_MD5}"' in keras_source


def test_the_network_probe_never_waits_longer_than_its_timeout(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert extractors._can_connect("127.0.0.1", server.getsockname()[1])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # Bound, not listening: refused.
        assert not extractors._can_connect("127.0.0.1", closed.getsockname()[1])
    released = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: released.wait(30) and [])  # A resolver that hangs.
    start = time.monotonic()
    try:
        assert not extractors._can_connect("storage.googleapis.com", 443, timeout=0.5)
        assert time.monotonic() - start < 1.0
    finally:
        released.set()


def test_inception_offline_without_weights_fails_fast_and_says_where_to_put_them(tmp_path, monkeypatch):
    _no_downloads(monkeypatch)
    expected = _empty_keras_home(monkeypatch, tmp_path)
    released = threading.Event()

    def black_hole(*args, **kwargs):  # A network that never answers (DNS or SYN).
        released.wait(30)
        raise OSError("no network")

    monkeypatch.setattr(socket, "create_connection", black_hole)
    try:
        start = time.monotonic()
        with pytest.raises(FileNotFoundError) as error:
            extractors.feature_extractor("inception")
        assert time.monotonic() - start < 2.0
        message = str(error.value)
        assert str(expected) in message and extractors.INCEPTION_WEIGHTS_URL in message
        assert "weights=<path>" in message and "no network" in message
        with pytest.raises(FileNotFoundError, match="weights='.*missing.h5'"):
            extractors.feature_extractor("inception", weights=str(tmp_path / "missing.h5"))
        # No bundled classifier fits 32x32 RGB: the default falls back to Inception, and says why.
        start = time.monotonic()
        with pytest.raises(FileNotFoundError, match="features='mnist28' or 'digits8'"):
            evaluation.evaluate(np.zeros((50, 32, 32, 3)), np.zeros((50, 32, 32, 3)), verbose=0)
        assert time.monotonic() - start < 2.0
    finally:
        released.set()
    assert not expected.exists()


def test_evaluate_and_fid_monitor_take_features_by_name_or_as_an_extractor(digits):
    x, _ = digits
    by_name = evaluation.evaluate(x[:900], x[900:], metrics=["fid", "classes_covered"], features="digits8", verbose=0)
    extractor = extractors.feature_extractor("digits8")
    given = evaluation.evaluate(x[:900], x[900:], metrics=["fid", "classes_covered"], features=extractor, verbose=0)
    old_name = evaluation.evaluate(x[:900], x[900:], metrics=["fid", "classes_covered"], extractor="digits8", verbose=0)
    assert by_name["fid"] == given["fid"] == old_name["fid"] and by_name["classes_covered"] == 10
    with pytest.raises(ValueError, match="received features='digits8' and extractor=FeatureExtractor"):
        evaluation.evaluate(x[:900], x[900:], features="digits8", extractor=extractor, verbose=0)
    with pytest.raises(ValueError, match="evaluate received features=3"):
        evaluation.evaluate(x[:900], x[900:], features=3, verbose=0)
    assert tfgan_kit.FIDMonitor(x, features="digits8").extractor == "digits8"
    assert tfgan_kit.FIDMonitor(x, extractor=extractor).extractor is extractor
    with pytest.raises(ValueError, match="FIDMonitor received features='inception' and extractor='digits8'"):
        tfgan_kit.FIDMonitor(x, features="inception", extractor="digits8")


@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    """A randomly initialised InceptionV3, saved as Keras' cached file and as a Keras 3 weights file."""
    import h5py
    import tensorflow as tf
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                           input_shape=(299, 299, 3))
    folder = tmp_path_factory.mktemp("inception")
    # Keras' own file has the legacy HDF5 layout; model.save_weights refuses a name not ending
    # in .weights.h5, and a .h5 name is read back with the legacy loader.
    cached = folder / extractors.INCEPTION_WEIGHTS
    with h5py.File(cached, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    saved = folder / "elsewhere" / "mine.weights.h5"
    saved.parent.mkdir()
    model.save_weights(saved)
    rng = np.random.default_rng(0)
    rgb = rng.uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    gray = rng.uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    gray_as_rgb = tf.image.resize(tf.image.grayscale_to_rgb(tf.constant(gray)), (299, 299), method="bilinear")
    outputs = {"rgb": np.asarray(model(rgb, training=False)), "gray": np.asarray(model(gray_as_rgb, training=False))}
    assert outputs["rgb"].shape == (2, 2048) and np.ptp(outputs["rgb"], axis=0).max() > 0
    return {"cached": cached, "saved": saved, "rgb": rgb, "gray": gray, "outputs": outputs}


def _assert_features_are_the_models(extractor, inception):
    for kind in ("rgb", "gray"):  # 299x299 RGB as it is; 28x28 grayscale -> RGB, resized.
        features, probabilities = extractor(inception[kind])
        assert features.shape == (2, 2048) and probabilities is None
        np.testing.assert_allclose(features, inception["outputs"][kind], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_inception_loads_weights_from_the_keras_cache_or_a_path_offline(inception, tmp_path, monkeypatch):
    _no_downloads(monkeypatch)
    monkeypatch.setattr(extractors, "_can_connect", lambda *a, **k: pytest.fail("probed the network"))
    expected = _empty_keras_home(monkeypatch, tmp_path)
    expected.parent.mkdir(parents=True)
    shutil.copy(inception["cached"], expected)
    cached = extractors.feature_extractor("inception")
    assert str(expected) in cached.description
    _assert_features_are_the_models(cached, inception)
    with pytest.raises(ValueError, match="no class probabilities"):
        evaluation.evaluate(inception["gray"], inception["gray"], metrics=["classifier_score"], features=cached)
    expected.unlink()
    _assert_features_are_the_models(extractors.feature_extractor("inception", weights=str(inception["saved"])),
                                    inception)


@pytest.mark.slow
def test_inception_downloads_once_into_the_keras_cache_where_there_is_a_network(inception, tmp_path, monkeypatch):
    from keras.src.backend import config as keras_config

    _no_downloads(monkeypatch)
    expected = _empty_keras_home(monkeypatch, tmp_path)
    probes, calls = [], []
    monkeypatch.setattr(extractors, "_can_connect", lambda host, port, **k: probes.append((host, port)) or True)

    def fake_get_file(fname, origin, cache_subdir="datasets", file_hash=None, **kwargs):
        calls.append(dict(fname=fname, origin=origin, cache_subdir=cache_subdir, file_hash=file_hash, **kwargs))
        target = os.path.join(keras_config.keras_home(), cache_subdir, fname)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(inception["cached"], target)
        return target

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    extractor = extractors.feature_extractor("inception")
    assert probes == [("storage.googleapis.com", 443)]
    assert calls == [dict(fname=extractors.INCEPTION_WEIGHTS, origin=extractors.INCEPTION_WEIGHTS_URL,
                          cache_subdir="models", file_hash=extractors.INCEPTION_WEIGHTS_MD5)]
    assert expected.is_file()
    _assert_features_are_the_models(extractor, inception)
    assert extractors.inception_weights_path() == str(expected)  # Later runs: the cache, offline.
    assert len(calls) == 1 and len(probes) == 1
