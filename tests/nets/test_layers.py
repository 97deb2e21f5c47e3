"""MinibatchDiscrimination and MinibatchStdDev: shapes, hand computations, and the point of them."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import accuracy_on_a_collapsed_batch

import tfgan_kit
from tfgan_kit.nets.layers import MinibatchDiscrimination, MinibatchStdDev


def minibatch_discrimination_by_hand(x, kernel, num_kernels, kernel_dim):
    m = (x @ kernel).reshape(len(x), num_kernels, kernel_dim)
    l1 = np.abs(m[:, None] - m[None, :]).sum(-1)  # (n, n, B)
    return np.concatenate([x, np.exp(-l1).sum(1)], axis=1)


def test_minibatch_discrimination_shape_and_hand_computation():
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    layer = MinibatchDiscrimination(num_kernels=3, kernel_dim=2)
    out = np.asarray(layer(x))
    assert out.shape == (6, 4 + 3) == layer.compute_output_shape((6, 4))
    expected = minibatch_discrimination_by_hand(x, np.asarray(layer.kernel), 3, 2)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_minibatch_discrimination_sees_identical_samples():
    x = np.random.default_rng(1).normal(size=(8, 5)).astype(np.float32)
    layer = MinibatchDiscrimination(num_kernels=4, kernel_dim=3)
    diverse = np.asarray(layer(x))[:, 5:]
    same = np.asarray(layer(np.repeat(x[:1], 8, axis=0)))[:, 5:]
    # Identical samples: every exp(-0) term is 1, so each feature is the batch size.
    np.testing.assert_allclose(same, 8.0, rtol=1e-6)
    assert diverse.max() < 8.0 and diverse.min() >= 1.0  # The self term is always 1.


def test_minibatch_std_dev_shape_and_hand_computation():
    x = np.random.default_rng(2).normal(size=(8, 3, 3, 5)).astype(np.float32)
    layer = MinibatchStdDev(group_size=4)
    out = np.asarray(layer(x))
    assert out.shape == (8, 3, 3, 6) == layer.compute_output_shape((8, 3, 3, 5))
    np.testing.assert_array_equal(out[..., :5], x)
    # ProGAN grouping: sample i belongs to group i % (batch // group_size).
    groups = x.reshape(4, 2, 3, 3, 5)
    per_group = np.sqrt(groups.var(axis=0) + 1e-8).reshape(2, -1).mean(axis=1)
    expected = per_group[np.arange(8) % 2]
    np.testing.assert_allclose(out[..., 5], np.broadcast_to(expected[:, None, None], (8, 3, 3)),
                               rtol=1e-5)
    vectors = np.asarray(MinibatchStdDev(group_size=None)(x[:, 0, 0, :]))
    assert vectors.shape == (8, 6)
    np.testing.assert_allclose(vectors[:, -1], np.sqrt(x[:, 0, 0, :].var(0) + 1e-8).mean(),
                               rtol=1e-5)


def test_minibatch_std_dev_sees_identical_samples():
    x = np.random.default_rng(3).normal(size=(8, 6)).astype(np.float32)
    layer = MinibatchStdDev(group_size=4)
    diverse = np.asarray(layer(x))[:, -1]
    same = np.asarray(layer(np.repeat(x[:1], 8, axis=0)))[:, -1]
    np.testing.assert_allclose(same, np.sqrt(1e-8), rtol=1e-3)  # Only epsilon is left.
    assert diverse.min() > 0.3


def test_minibatch_std_dev_gradient_is_finite_on_identical_samples():
    x = tf.constant(np.ones((4, 3), np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(MinibatchStdDev(group_size=2)(x))
    assert np.all(np.isfinite(tape.gradient(y, x)))


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match=r"MinibatchDiscrimination received num_kernels=0"):
        MinibatchDiscrimination(num_kernels=0)
    with pytest.raises(ValueError, match=r"expected \(batch, features\).*Flatten"):
        MinibatchDiscrimination()(np.zeros((2, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"MinibatchStdDev received group_size=1"):
        MinibatchStdDev(group_size=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected a multiple of group_size=4"):
        MinibatchStdDev(group_size=4)(np.zeros((6, 2), np.float32))


def test_layers_round_trip_through_keras_save(tmp_path):
    inputs = keras.Input((4, 4, 2))
    h = MinibatchStdDev(group_size=2, epsilon=1e-6)(inputs)
    h = MinibatchDiscrimination(num_kernels=3, kernel_dim=2)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    x = np.random.default_rng(4).normal(size=(4, 4, 4, 2)).astype(np.float32)
    model.save(tmp_path / "d.keras")
    loaded = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5)
    config = loaded.layers[1].get_config()
    assert config["group_size"] == 2 and config["epsilon"] == 1e-6


@pytest.mark.parametrize("minibatch", [None, "stddev", "discrimination"])
def test_discriminator_builders_offer_the_layers(minibatch):
    d = tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, minibatch=minibatch)
    m = tfgan_kit.mlp_discriminator(2, (8,), minibatch=minibatch)
    assert d(np.zeros((4, 8, 8, 1), np.float32)).shape == (4, 1)
    assert m(np.zeros((4, 2), np.float32)).shape == (4, 1)
    kinds = {type(l).__name__ for l in d.layers} | {type(l).__name__ for l in m.layers}
    expected = {"stddev": "MinibatchStdDev", "discrimination": "MinibatchDiscrimination"}
    for option, name in expected.items():
        assert (name in kinds) == (minibatch == option)
    with pytest.raises(ValueError, match="minibatch='std'"):
        tfgan_kit.mlp_discriminator(2, (8,), minibatch="std")


@pytest.mark.slow
def test_a_discriminator_with_the_layer_catches_a_collapsed_batch():
    """Each collapsed sample is a real point, so only a batch statistic can expose it.

    The fake batch repeats one real sample; a per-sample discriminator cannot beat
    chance on it, one with either minibatch layer learns to reject it.
    """
    accuracies = {}
    for option in (None, "stddev", "discrimination"):
        keras.utils.set_random_seed(0)
        d = tfgan_kit.mlp_discriminator(2, (16,), minibatch=option)
        accuracies[option] = accuracy_on_a_collapsed_batch(d)
    assert accuracies[None] < 0.7, accuracies
    assert min(accuracies["stddev"], accuracies["discrimination"]) > 0.9, accuracies
