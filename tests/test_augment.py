"""Differentiable and adaptive augmentation: each op by its properties, ADA's p by its rule,
the overfitting state it answers, and 2 replicas equal to 1 device."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, digits, tiny_gan

import tfgan_kit
from tfgan_kit import augment

SEED = tf.constant([3, 4], tf.int64)


def _images(shape=(6, 16, 16, 3), seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32"))


@pytest.mark.parametrize("op", ["color", "translation", "cutout"])
@pytest.mark.parametrize("shape", [(6, 16, 16, 3), (4, 28, 28, 1), (2, 8, 12, 3)])
def test_each_op_keeps_the_shape_passes_gradients_and_repeats_with_its_seed(op, shape):
    x = _images(shape)
    fn = augment.OPS[op]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, SEED)
        total = tf.reduce_sum(y * y)
    assert y.shape == x.shape and np.isfinite(y.numpy()).all()
    grad = tape.gradient(total, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0  # reaches the generator
    np.testing.assert_array_equal(fn(x, SEED).numpy(), y.numpy())  # same seed, same draw
    assert not np.array_equal(fn(x, SEED + 1).numpy(), y.numpy())
    if op != "color":  # moves or zeroes pixels: nothing leaves [-1, 1]
        assert y.numpy().min() >= -1.0 and y.numpy().max() <= 1.0


def test_translation_moves_content_and_cutout_zeroes_a_square():
    x = tf.ones((8, 16, 16, 1))
    shifted = augment.translation(x, SEED).numpy()
    assert (shifted == 0).any(axis=(1, 2, 3)).sum() >= 4  # most images moved: zero borders
    cut = augment.cutout(x, SEED).numpy()
    zeros = (cut == 0).sum(axis=(1, 2, 3))
    assert zeros.max() <= 64 and zeros.min() > 0  # at most an 8x8 square, clipped at borders


def test_probability_zero_is_the_identity_and_one_always_augments():
    x = _images()
    layer = tfgan_kit.DiffAugment("translation,cutout", probability=0.0)
    layer.build()
    np.testing.assert_array_equal(layer.augment(x, SEED).numpy(), x.numpy())
    layer.p.assign(1.0)
    assert not np.array_equal(layer.augment(x, SEED).numpy(), x.numpy())


def test_bfloat16_images_and_bad_policies():
    y = augment.color(tf.cast(_images(), tf.bfloat16), SEED)
    assert y.dtype == tf.bfloat16
    with pytest.raises(ValueError, match="policy='blur'"):
        tfgan_kit.DiffAugment("blur")
    with pytest.raises(ValueError, match="augment=3"):
        augment.get(3)


def test_ada_p_follows_the_sign_statistic_by_its_rule():
    ada = tfgan_kit.ADA(target=0.6, interval=2, speed_kimg=1.0)  # 1,000 images from 0 to 1
    ada.build()
    for _ in range(4):  # D sure of every real image: r_t = 1 > 0.6
        ada.update(tf.fill([50, 1], 3.0))
    assert float(ada.p.numpy()) == pytest.approx(2 * 100 / 1000)  # two adjustments of 100 images
    assert float(ada.real_sign.numpy()) == pytest.approx(1.0)
    for _ in range(6):  # r_t = -1 < 0.6: p falls back to 0 and stays there
        ada.update(tf.fill([50, 1], -3.0))
    assert float(ada.p.numpy()) == 0.0


@pytest.mark.slow
def test_training_reports_p_and_the_sign_statistic_and_moves_p():
    gan = tiny_gan(augment=tfgan_kit.ADA(speed_kimg=1.0, interval=1))
    history = gan.fit(digits(limit=128, batch_size=32), epochs=2, verbose=0).history
    assert {"augment_p", "real_sign"} <= set(history)
    assert history["augment_p"][-1] != 0.0 or history["real_sign"][-1] < 0.6
    plain = tiny_gan(augment="translation").fit(digits(limit=128), epochs=1, verbose=0).history
    assert plain["augment_p"] == [1.0] and "real_sign" not in plain


def test_compile_config_and_save_load_keep_the_augmentation(tmp_path):
    gan = tiny_gan(augment="ada")
    assert gan.get_compile_config()["augment"]["class_name"] == "ADA"
    gan.fit(digits(limit=128), epochs=1, verbose=0)
    gan.augment.p.assign(0.25)
    gan.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    assert isinstance(again.augment, tfgan_kit.ADA)
    assert float(again.augment.p.numpy()) == pytest.approx(0.25)  # a resumed run keeps its p


WORKER = """
import os, sys
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from tfgan_kit import augment
x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32"))
seed = tf.constant([3, 4], tf.int64)
layer = augment.DiffAugment(probability=0.5)
layer.build()
one = layer.augment(x, seed).numpy()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
shards = strategy.experimental_distribute_values_from_function(
    lambda ctx: x[ctx.replica_id_in_sync_group * 4 : (ctx.replica_id_in_sync_group + 1) * 4])
out = strategy.run(lambda part: layer.augment(part, seed), args=(shards,))
two = np.concatenate([t.numpy() for t in strategy.experimental_local_results(out)])
np.testing.assert_allclose(two, one, rtol=0, atol=0)
print("EQUAL")
"""


@pytest.mark.slow
def test_two_replicas_augment_exactly_like_one_device():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", WORKER], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "EQUAL" in result.stdout, result.stderr[-3000:]
