"""Class-conditional GANs: labels reach both networks, and a trained G draws the class asked for."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO, tiny_gan
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import tfgan_kit


@pytest.fixture(scope="module")
def digit_classifier():
    """Logistic regression on the 64 pixels of the real digits (in [-1, 1])."""
    images, labels = tfgan_kit.load_arrays("digits", labels=True)
    with threadpool_limits(1):  # Multi-threaded BLAS crawls (~40x) on a busy 2-core machine.
        classifier = LogisticRegression(max_iter=2000).fit(images.reshape(len(images), -1), labels)
    assert classifier.score(images.reshape(len(images), -1), labels) > 0.95
    return classifier


def label_agreement(gan, classifier, num_samples=500):
    requested = np.arange(num_samples) % 10
    images = gan.generate(num_samples, seed=1, labels=requested)
    return float(np.mean(classifier.predict(images.reshape(num_samples, -1)) == requested))


@pytest.mark.slow
def test_conditional_gan_trained_briefly_draws_the_requested_digit(digit_classifier):
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator((8, 8, 1), 16, width=16, num_classes=10),
        tfgan_kit.dcgan_discriminator((8, 8, 1), width=16, num_classes=10),
        latent_dim=16, num_classes=10, seed=0,
    )
    gan.compile(steps_per_execution=28)
    before = label_agreement(gan, digit_classifier)
    gan.fit(tfgan_kit.load_dataset("digits", 64, labels=True, seed=0), epochs=30, verbose=0)
    after = label_agreement(gan, digit_classifier)
    # Chance is 10 %: an untrained G is near it; a G that ignored labels would stay there.
    assert before < 0.3, before
    assert after > 0.6, after


def test_labels_change_the_image_for_the_same_noise():
    gan = tiny_gan(num_classes=10)
    # A fresh G's per-class gains are 1 and biases 0 (the label has no effect yet): train a little.
    gan.fit(tfgan_kit.load_dataset("digits", 64, labels=True, seed=0, limit=256), epochs=1, verbose=0)
    images = gan.generate(10, seed=3, labels=np.arange(10))
    again = gan.generate(10, seed=3, labels=np.arange(10))
    np.testing.assert_array_equal(images, again)
    other = gan.generate(10, seed=3, labels=(np.arange(10) + 1) % 10)
    assert images.shape == (10, 8, 8, 1)
    assert np.abs(images - other).max() > 1e-4
    unconditional = gan.generate(10, seed=3)  # Random classes when none are given.
    assert unconditional.shape == (10, 8, 8, 1)


def test_generate_refuses_wrong_labels():
    with pytest.raises(ValueError, match="received 3 labels for num_samples=4"):
        tiny_gan(num_classes=10).generate(4, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="not conditional"):
        tiny_gan().generate(4, labels=[0, 1, 2, 3])


@pytest.mark.parametrize("conditioning", ["projection", "channel"])
def test_conditional_discriminators_read_the_label(conditioning):
    x = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32)
    d = tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, num_classes=3, dropout=0.0,
                                      conditioning=conditioning)
    # Fresh label weights are small; scale them up so the label's effect is clear.
    for layer in d.layers:
        if isinstance(layer, keras.layers.Embedding):
            layer.set_weights([layer.get_weights()[0] * 100.0])
    a = np.asarray(d([x, np.array([0, 0, 0, 0])]))
    b = np.asarray(d([x, np.array([1, 1, 1, 1])]))
    assert a.shape == (4, 1) and np.abs(a - b).min() > 1e-3
    m = tfgan_kit.mlp_discriminator(2, (8,), num_classes=3, conditioning=conditioning)
    points = np.ones((2, 2), np.float32)
    assert m([points, np.array([0, 1])]).shape == (2, 1)
    with pytest.raises(ValueError, match="conditioning='film'"):
        tfgan_kit.dcgan_discriminator((8, 8, 1), num_classes=3, conditioning="film")


@pytest.mark.slow
def test_conditional_gan_trains_on_image_label_pairs_and_round_trips(tmp_path):
    images, labels = tfgan_kit.load_arrays("digits", labels=True, limit=64)
    gan = tiny_gan(num_classes=10)
    history = gan.fit(images, labels, batch_size=32, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
    gan.save(tmp_path / "cgan.keras")
    loaded = keras.models.load_model(tmp_path / "cgan.keras")
    np.testing.assert_allclose(loaded.generate(5, seed=2, labels=[0, 1, 2, 3, 4]),
                               gan.generate(5, seed=2, labels=[0, 1, 2, 3, 4]), atol=1e-5)


@pytest.mark.slow
def test_train_conditional_example_reports_label_agreement(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_conditional.py"), "--epochs=2",
         "--limit=256", f"--output_dir={out}", "--width=8", "--latent_dim=16",
         "--eval_samples=100"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(os.listdir(out / "samples")) == ["epoch_001.png", "epoch_002.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["label_agreement"] <= 1.0
    assert metrics["classifier_real_accuracy"] > 0.9
    assert "Label agreement" in result.stdout
