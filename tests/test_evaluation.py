"""Feature extractors, `evaluate` and `FIDMonitor`: offline, on the shipped classifiers."""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import tfgan_kit
from conftest import MNIST_DIR, REPO, tiny_gan
from tfgan_kit import evaluation, extractors


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


# ------------------------------------------------------------------ the shipped classifiers


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


# ------------------------------------------------------------------ InceptionV3, never downloading


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


def test_inception_uses_weights_from_the_keras_cache(tmp_path, monkeypatch):
    from keras.src.legacy.saving import legacy_h5_format
    import h5py

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


# ------------------------------------------------------------------ evaluate


def test_evaluate_ranks_real_above_noise_above_collapse(digits):
    x, _ = digits
    names = ["fid", "precision", "recall", "coverage", "classifier_score", "classes_covered"]
    real = evaluation.evaluate(x[900:], x[:900], metrics=names, verbose=0)
    noise = np.random.default_rng(0).uniform(-1, 1, (897, 8, 8, 1)).astype(np.float32)
    bad = evaluation.evaluate(noise, x[:900], metrics=names, verbose=0)
    collapsed = evaluation.evaluate(np.repeat(x[:1], 897, 0), x[:900], metrics=names, verbose=0)
    assert real["fid"] < 0.1 * min(bad["fid"], collapsed["fid"])
    assert real["recall"] > 0.6 and real["coverage"] > 0.8 and real["classifier_score"] > 9
    assert real["classes_covered"] == 10 and collapsed["classes_covered"] == 1
    assert collapsed["recall"] < 0.01 and collapsed["classifier_score"] == pytest.approx(1, abs=0.01)
    assert bad["precision"] < 0.5 and bad["coverage"] < 0.3
    assert real["num_fake"] == 897 and real["num_real"] == 900 and real["eval_seconds"] > 0


def test_evaluate_reads_every_kind_of_generator(tmp_path, digits):
    gan = tiny_gan(latent_dim=8, width=8)
    from_gan = evaluation.generate_images(gan, 100, seed=3)
    assert from_gan.shape == (100, 8, 8, 1)
    np.testing.assert_array_equal(from_gan, gan.generate(100, seed=3))
    gan.save(tmp_path / "gan.keras")
    np.testing.assert_allclose(evaluation.generate_images(str(tmp_path / "gan.keras"), 100, seed=3),
                               from_gan, atol=1e-6)
    exported = tfgan_kit.export_generator(gan, str(tmp_path / "served"), name="g", version=1)
    np.testing.assert_allclose(evaluation.generate_images(exported, 100, seed=3), from_gan, atol=1e-5)
    assert evaluation.generate_images(gan.generator, 10, seed=3).shape == (10, 8, 8, 1)
    assert evaluation.generate_images(lambda n, seed: np.zeros((n, 8, 8, 1)), 5).shape == (5, 8, 8, 1)
    with pytest.raises(ValueError, match="no such .keras file or SavedModel"):
        evaluation.generate_images(str(tmp_path / "nothing"), 10)
    scores = evaluation.evaluate(exported, tfgan_kit.load_dataset("digits", batch_size=64),
                                 metrics=["fid", "classes_covered"], num_samples=300, verbose=0)
    assert set(scores) == {"fid", "classes_covered", "num_fake", "num_real", "eval_seconds"}
    assert scores["num_real"] == 1792  # 28 whole batches of 64.
    with pytest.raises(ValueError, match=r"metrics \['is'\]"):
        evaluation.evaluate(gan, digits[0], metrics=["is"], verbose=0)
    with pytest.raises(ValueError, match="generated images are"):
        evaluation.evaluate(np.zeros((10, 28, 28, 1)), digits[0], verbose=0)


# ------------------------------------------------------------------ FIDMonitor


@pytest.mark.filterwarnings("ignore:Can save best model only")  # Epochs FIDMonitor skips.
def test_fid_monitor_feeds_model_checkpoint(tmp_path, digits):
    x, _ = digits
    gan = tiny_gan(latent_dim=8, width=8)
    monitor = tfgan_kit.FIDMonitor(x[:400], every=2, num_samples=200, verbose=0)
    best = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(best), monitor="val_fid", mode=monitor.mode,
                                                 save_best_only=True)
    history = gan.fit(tfgan_kit.load_dataset("digits", batch_size=64, limit=256), epochs=4,
                      callbacks=[monitor, checkpoint], verbose=0)
    assert [epoch for epoch, _, _ in monitor.history] == [2, 4]
    assert history.history["val_fid"] == [value for _, value, _ in monitor.history]
    assert all(v > 0 for v in history.history["val_fid"])
    assert best.exists()  # ModelCheckpoint found val_fid in the logs.
    # The same fixed noise every time: recomputing the last epoch's value reproduces it.
    again = evaluation.evaluate(gan, x[:400], metrics=["fid"], num_samples=200, verbose=0)
    assert again["fid"] == pytest.approx(monitor.history[-1][1], rel=1e-6)
    config = monitor.get_config()
    assert config["every"] == 2 and config["metric"] == "fid"
    assert tfgan_kit.FIDMonitor(**{**config, "real_dataset": x}).mode == "min"
    assert tfgan_kit.FIDMonitor(x, metric="coverage").mode == "max"
    with pytest.raises(ValueError, match="metric='IS'"):
        tfgan_kit.FIDMonitor(x, metric="IS")


def test_evaluate_example_prints_a_table(tmp_path, digits):
    gan = tiny_gan(latent_dim=8, width=8)
    gan.save(tmp_path / "gan.keras")
    out = tmp_path / "scores.json"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "evaluate.py"), f"--model={tmp_path / 'gan.keras'}",
         "--dataset=digits", "--num_samples=300", "--metrics=fid,coverage,classes_covered",
         f"--output={out}"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| fid |" in result.stdout and "digits8" in result.stdout
    scores = json.loads(out.read_text())
    assert scores["num_fake"] == 300 and scores["fid"] > 0


def test_manifold_metrics_compare_equal_sized_sets():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(4000, 8)), rng.normal(size=(1000, 8))
    names = ["fid", "precision", "recall", "density", "coverage"]
    scores = evaluation.score_features((real, None), (fake, None), names)
    # Same distribution: coverage near 1 - 2^-5 (Naeem et al.) although real is 4x larger.
    assert scores["coverage"] > 0.9 and 0.85 < scores["density"] < 1.15
    unequal = tfgan_kit.metrics.density_coverage(real, fake)
    assert unequal["coverage"] < 0.8  # What comparing 4,000 balls with 1,000 samples gives.
    # FID keeps every real sample: identical to the direct call.
    assert scores["fid"] == tfgan_kit.metrics.frechet_distance(real, fake)
