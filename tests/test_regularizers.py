"""The stability penalties against hand computations, and each switched on through compile."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_kit
from tfgan_kit import regularizers

SEED = tf.constant([1, 2], tf.int64)


def linear_discriminator(input_shape, w, b=0.3):
    """D(x) = w . flatten(x) + b, whose input gradient is w everywhere."""
    inputs = keras.Input(input_shape)
    dense = keras.layers.Dense(1)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([np.reshape(w, (-1, 1)).astype(np.float32), np.array([b], np.float32)])
    return model


def half_square_norm_discriminator(dim):
    """D(x) = ||x||^2 / 2, whose input gradient is x itself."""
    inputs = keras.Input((dim,))
    return keras.Model(inputs, keras.layers.Lambda(
        lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True))(inputs))


def mlp_gan(**compile_kwargs):
    """A tiny, deterministic (no dropout) 2-D GAN: fast to trace and to train."""
    keras.utils.set_random_seed(0)
    gan = tfgan_kit.GAN(tfgan_kit.mlp_generator(2, 4, (8,)), tfgan_kit.mlp_discriminator(2, (8,)),
                        latent_dim=4, seed=0)
    gan.compile(**compile_kwargs)
    return gan


POINTS = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)


def images(seed, shape=(5, 4, 4, 1)):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_gradient_penalty_on_a_linear_discriminator_is_the_weight_norm_term(scale):
    w = scale * np.random.default_rng(0).normal(size=16)
    d = linear_discriminator((4, 4, 1), w)
    penalty = regularizers.gradient_penalty(d, images(1), images(2), SEED)
    expected = (np.sqrt(np.sum(w**2) + 1e-12) - 1.0) ** 2
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)


def test_gradient_penalty_interpolates_with_uniform_weights():
    # D = ||x||^2/2 has gradient x; with real = 0 and fake = e1 the gradient norm at
    # x_hat = alpha * e1 is alpha itself, so the penalty reveals alpha's distribution:
    # E[(alpha - 1)^2] = 1/3 for alpha ~ U[0, 1] (a normal alpha would give 2).
    n = 20_000
    real = tf.zeros((n, 2))
    fake = tf.constant(np.tile([[1.0, 0.0]], (n, 1)).astype(np.float32))
    penalty = regularizers.gradient_penalty(half_square_norm_discriminator(2), real, fake, SEED)
    np.testing.assert_allclose(penalty, 1.0 / 3.0, atol=0.01)


def test_gradient_penalty_gradient_is_finite_where_d_is_flat():
    d = linear_discriminator((4,), np.zeros(4))  # Input gradient exactly 0.
    with tf.GradientTape() as tape:
        penalty = regularizers.gradient_penalty(d, images(3, (8, 4)), images(4, (8, 4)), SEED)
    grads = tape.gradient(penalty, d.trainable_variables)
    np.testing.assert_allclose(penalty, 1.0, rtol=1e-5)
    assert all(np.all(np.isfinite(g)) for g in grads if g is not None)


def test_r1_on_a_linear_discriminator_is_the_squared_weight_norm():
    w = np.random.default_rng(5).normal(size=16)
    d = linear_discriminator((4, 4, 1), w)
    np.testing.assert_allclose(regularizers.r1_penalty(d, images(6)), np.sum(w**2), rtol=1e-5)
    # And on real data only: R1 of ||x||^2/2 is the mean squared norm of the real batch.
    x = images(7, (6, 3))
    np.testing.assert_allclose(
        regularizers.r1_penalty(half_square_norm_discriminator(3), x),
        np.mean(np.sum(np.square(x), axis=1)), rtol=1e-5)


def test_penalties_pass_labels_to_a_conditional_discriminator():
    d = tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, num_classes=3, dropout=0.0)
    x = images(8, (4, 8, 8, 1))
    labels = tf.constant([0, 1, 2, 0])
    r1_a = regularizers.r1_penalty(d, x, labels)
    r1_b = regularizers.r1_penalty(d, x, tf.constant([2, 2, 2, 2]))
    assert np.isfinite(r1_a) and not np.isclose(r1_a, r1_b)
    assert np.isfinite(regularizers.gradient_penalty(d, x, images(9, (4, 8, 8, 1)), SEED, labels))


@pytest.mark.slow
def test_compile_adds_r1_and_gradient_penalty_to_the_discriminator_loss():
    """D's first-step loss with a penalty on is the plain loss plus the penalty term."""
    d_losses, r1_at_start = {}, None
    for name, kwargs in {"plain": {}, "r1": {"r1_gamma": 10.0},
                         "gp": {"gradient_penalty": 10.0}}.items():
        gan = mlp_gan(**kwargs)
        if name == "r1":
            r1_at_start = float(regularizers.r1_penalty(gan.discriminator, POINTS))
        d_losses[name] = gan.fit(POINTS, batch_size=32, epochs=1, verbose=0).history["d_loss"][0]
    np.testing.assert_allclose(d_losses["r1"], d_losses["plain"] + 5.0 * r1_at_start, rtol=1e-4)
    assert d_losses["gp"] > d_losses["plain"] + 1e-3


def test_feature_matching_loss_zero_when_features_match_positive_otherwise():
    f = np.random.default_rng(10).normal(size=(6, 5)).astype(np.float32)
    assert float(regularizers.feature_matching_loss(f, f)) == 0.0
    # Only the means are matched: a permuted batch has the same mean.
    assert float(regularizers.feature_matching_loss(f, f[::-1])) == pytest.approx(0.0, abs=1e-10)
    shifted = f + np.array([0.5, 0, 0, 0, -1.0], np.float32)
    np.testing.assert_allclose(regularizers.feature_matching_loss(f, shifted), 1.25, rtol=1e-5)


def test_feature_model_picks_a_layer_by_name_or_index():
    d = tfgan_kit.mlp_discriminator(2, (4, 3))
    x = np.random.default_rng(11).normal(size=(5, 2)).astype(np.float32)
    name = d.layers[-2].name  # The last LeakyReLU.
    logits, features = regularizers.feature_model(d, name)(x)
    np.testing.assert_allclose(logits, d(x), rtol=1e-6)
    assert features.shape == (5, 3)
    _, by_index = regularizers.feature_model(d, -2)(x)
    np.testing.assert_allclose(by_index, features)
    with pytest.raises(ValueError, match=r"feature_matching='nope' is not a layer of"):
        regularizers.feature_model(d, "nope")


def test_compile_with_feature_matching_adds_the_term_to_the_generator_loss():
    g_losses = {}
    for weight in (0.0, 100.0):
        gan = mlp_gan(feature_matching=-2, feature_matching_weight=weight)  # Last LeakyReLU.
        g_losses[weight] = gan.evaluate(POINTS, batch_size=32, verbose=0, return_dict=True)["g_loss"]
    assert g_losses[100.0] > g_losses[0.0]


def test_historical_average_zero_at_step_zero_and_grows_as_weights_move():
    v = keras.Variable(np.array([1.0, 2.0], np.float32))
    history = regularizers.HistoricalAverage([v], "h")
    assert float(history.penalty()) == 0.0
    v.assign([3.0, 2.0])  # A step moves the weights by (2, 0).
    assert float(history.penalty()) == pytest.approx(4.0)
    history.update()  # Average of (1, 2) and (3, 2) is (2, 2).
    assert float(history.penalty()) == pytest.approx(1.0)
    v.assign([5.0, 2.0])
    before = float(history.penalty())
    history.update()  # Average (3, 2): further from the start, larger penalty.
    assert before == pytest.approx(9.0) and float(history.penalty()) == pytest.approx(4.0)


def test_compile_historical_averaging_tracks_both_networks():
    gan = mlp_gan(historical_averaging=1.0)
    assert float(gan._d_history.penalty()) == 0.0 and float(gan._g_history.penalty()) == 0.0
    gan.fit(POINTS, batch_size=16, epochs=2, verbose=0)
    assert float(gan._d_history.count) == 5.0  # Initial weights plus 4 steps.
    assert float(gan._d_history.penalty()) > 0.0 and float(gan._g_history.penalty()) > 0.0


def test_d_steps_and_g_steps_set_the_update_ratio():
    gan = mlp_gan(d_steps=3, g_steps=2)
    gan.fit(POINTS, batch_size=16, epochs=1, verbose=0)  # 2 training steps.
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 4
    assert gan.get_compile_config()["g_steps"] == 2
    with pytest.raises(ValueError, match="g_steps=0"):
        mlp_gan(g_steps=0)


def test_r2_is_r1_on_generated_images_and_does_not_reach_the_generator():
    x = images(11, (6, 3))
    d = half_square_norm_discriminator(3)
    np.testing.assert_allclose(regularizers.r2_penalty(d, x), np.mean(np.sum(np.square(x), axis=1)),
                               rtol=1e-5)
    g_weight = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        penalty = regularizers.r2_penalty(d, g_weight * x)
    assert tape.gradient(penalty, g_weight) is None  # G is held fixed


def test_compile_adds_r2_to_the_discriminator_loss_and_relativistic_g_reads_real_logits():
    d_losses = {}
    for name, kwargs in {"plain": {"loss": "relativistic"},
                         "r2": {"loss": "relativistic", "r2_gamma": 10.0}}.items():
        keras.utils.set_random_seed(0)  # the same weights and noise: only the penalty differs
        gan = mlp_gan(**kwargs)
        d_losses[name] = gan.fit(POINTS, batch_size=32, epochs=1, verbose=0, shuffle=False).history
    assert d_losses["r2"]["d_loss"][0] > d_losses["plain"]["d_loss"][0] + 1e-4
    assert all(np.isfinite(v[0]) for v in d_losses["r2"].values())
    gan = mlp_gan(loss="relativistic", step="alternating")  # G's own pass needs D(x) too
    assert np.isfinite(gan.fit(POINTS, batch_size=32, epochs=1, verbose=0).history["g_loss"][0])
    assert gan.get_compile_config()["r2_gamma"] == 0.0
