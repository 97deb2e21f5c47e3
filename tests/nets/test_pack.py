"""Pack (PacGAN): the layout of a pack, its gradients, the builders' `pack`, and the point of it."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import accuracy_on_a_collapsed_batch

import tfgan_kit
from tfgan_kit.nets.layers import Pack


def test_pack_joins_consecutive_samples_along_the_channels():
    x = np.random.default_rng(0).normal(size=(6, 4, 4, 3)).astype(np.float32)
    out = np.asarray(Pack(3)(x))
    assert out.shape == (2, 4, 4, 9) == Pack(3).compute_output_shape((6, 4, 4, 3))
    for i in range(2):
        for k in range(3):  # channel k * 3 + c of pack i is channel c of sample 3 i + k
            np.testing.assert_array_equal(out[i, ..., 3 * k:3 * k + 3], x[3 * i + k])
    vectors = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(Pack(2)(vectors), [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(Pack(1)(x), x)


def test_every_packed_sample_gets_its_gradient():
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 2, 2, 1)).astype(np.float32))
    weights = tf.constant(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(Pack(2)(x) * weights)
    grads = tape.gradient(total, x).numpy()
    for i in range(4):  # sample i sits in channel i % 2 of every pack
        np.testing.assert_array_equal(grads[i, ..., 0], weights[0, ..., i % 2])


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match=r"Pack received num=0"):
        Pack(0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected a multiple of num=2"):
        Pack(2)(np.zeros((3, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="conditional discriminator cannot pack"):
        tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, num_classes=10, pack=2)
    with pytest.raises(ValueError, match="pack=0"):
        tfgan_kit.resnet_discriminator((16, 16, 1), width=4, pack=0)


def test_packed_discriminators_judge_packs_and_round_trip(tmp_path):
    dcgan = tfgan_kit.dcgan_discriminator((8, 8, 3), width=4, pack=2, minibatch="stddev")
    resnet = tfgan_kit.resnet_discriminator((16, 16, 3), width=4, pack=4)
    assert dcgan(np.zeros((8, 8, 8, 3), np.float32)).shape == (4, 1)
    assert resnet(np.zeros((8, 16, 16, 3), np.float32)).shape == (2, 1)
    x = np.random.default_rng(2).normal(size=(4, 8, 8, 3)).astype(np.float32)
    dcgan.save(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded(x), dcgan(x), rtol=1e-5)
    assert [l.get_config()["num"] for l in loaded.layers if isinstance(l, Pack)] == [2]


def test_gan_trains_with_a_packed_discriminator_and_the_r3gan_terms():
    keras.utils.set_random_seed(0)
    gan = tfgan_kit.GAN(tfgan_kit.dcgan_generator((8, 8, 3), 8, width=4),
                        tfgan_kit.dcgan_discriminator((8, 8, 3), width=4, pack=2), latent_dim=8)
    gan.compile(loss="relativistic", r1_gamma=0.1, r2_gamma=0.1)
    images = np.random.default_rng(3).uniform(-1, 1, (32, 8, 8, 3)).astype(np.float32)
    history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert gan.discriminator(images[:8]).shape == (4, 1)


def test_a_packed_discriminator_catches_a_collapsed_batch():
    """Each fake is a real point, repeated: one sample at a time D is at chance; a pack of 2 is not."""
    accuracies = {}
    for num in (1, 2):
        keras.utils.set_random_seed(0)
        d = keras.Sequential([keras.Input((2,)), Pack(num), keras.layers.Dense(32, "relu"),
                              keras.layers.Dense(32, "relu"), keras.layers.Dense(1)])
        accuracies[num] = accuracy_on_a_collapsed_batch(d, batch=32, steps=300)
    assert accuracies[1] < 0.7, accuracies
    assert accuracies[2] > 0.85, accuracies
