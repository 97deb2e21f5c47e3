"""GAN: the two tapes, reported signals, training progress, save/load, generate, bad input."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_gan

import tfgan_kit


class RecordingSGD(keras.optimizers.SGD):
    """SGD that remembers which variables it was asked to update (run eagerly)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.updated = []

    def apply_gradients(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        self.updated.append({id(v) for _, v in grads_and_vars})
        return super().apply_gradients(grads_and_vars)


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def _changed(before, model):
    return [not np.array_equal(b, a.numpy()) for b, a in zip(before, model.trainable_weights)]


@pytest.mark.parametrize("step,d_steps", [("shared", 1), ("alternating", 1), ("alternating", 2)])
def test_each_optimizer_updates_only_its_own_network(step, d_steps):
    d_opt, g_opt = RecordingSGD(learning_rate=0.1), RecordingSGD(learning_rate=0.1)
    gan = tiny_gan(d_optimizer=d_opt, g_optimizer=g_opt, step=step, d_steps=d_steps,
                   run_eagerly=True)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan.train_on_batch(x)
    d_ids = {id(v) for v in gan.discriminator.trainable_variables}
    g_ids = {id(v) for v in gan.generator.trainable_variables}
    assert d_opt.updated == [d_ids] * d_steps
    assert g_opt.updated == [g_ids]


def test_generator_frozen_by_zero_lr_moves_only_discriminator_and_vice_versa():
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan = tiny_gan(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.0))
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    gan.train_on_batch(x)
    assert not any(_changed(g0, gan.generator))
    assert all(_changed(d0, gan.discriminator))

    gan = tiny_gan(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.1))
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    gan.train_on_batch(x)
    assert not any(_changed(d0, gan.discriminator))
    assert any(_changed(g0, gan.generator))


def _known_output_gan():
    """D(x) = mean pixel; G(z) = tanh(-0.549) = -0.5 everywhere: every signal is known."""
    z = keras.Input((4,))
    h = keras.layers.Dense(64, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(np.arctanh(-0.5)))(z)
    generator = keras.Model(z, keras.layers.Reshape((8, 8, 1))(keras.layers.Activation("tanh")(h)))
    x = keras.Input((8, 8, 1))
    logits = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(1 / 64),
                                bias_initializer="zeros")(keras.layers.Flatten()(x))
    gan = tfgan_kit.GAN(generator, keras.Model(x, logits), latent_dim=4)
    gan.compile()
    return gan


def test_reported_signals_match_known_discriminator_outputs():
    gan = _known_output_gan()
    real = np.ones((8, 8, 8, 1), np.float32)  # D(real) logit = 1, D(fake) logit = -0.5.
    logs = gan.evaluate(real, batch_size=8, return_dict=True, verbose=0)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(logs["d_real"], sigmoid(1.0), rtol=1e-5)
    np.testing.assert_allclose(logs["d_fake"], sigmoid(-0.5), rtol=1e-5)
    assert logs["d_acc_real"] == 1.0 and logs["d_acc_fake"] == 1.0
    np.testing.assert_allclose(logs["d_loss"], np.log1p(np.exp(-1.0)) + np.log1p(np.exp(-0.5)),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["g_loss"], np.log1p(np.exp(0.5)), rtol=1e-5)
    # A call is D's verdict.
    np.testing.assert_allclose(gan(real[:2]).numpy(), [[1.0], [1.0]], rtol=1e-5)


@pytest.mark.slow
def test_short_fit_on_digits_makes_samples_a_digit_classifier_recognises():
    from sklearn.linear_model import LogisticRegression

    x, y = tfgan_kit.load_arrays("digits", labels=True)
    classifier = LogisticRegression(max_iter=2000).fit(x.reshape(len(x), -1), y)

    def confident_classes(gan):
        probs = classifier.predict_proba(gan.generate(500, seed=1).reshape(500, -1))
        confident = probs.max(1) > 0.9
        return len(np.unique(probs.argmax(1)[confident])), confident.mean()

    gan = tiny_gan(latent_dim=32, width=32)
    classes_before, confident_before = confident_classes(gan)
    gan.fit(tfgan_kit.load_dataset("digits", batch_size=64, seed=0), epochs=25, verbose=0)
    classes_after, confident_after = confident_classes(gan)
    # Untrained samples are blobs; after training most are digits of many classes.
    assert confident_after > confident_before + 0.2
    assert classes_after >= 7, (classes_before, classes_after)
    assert 0.2 < gan.get_metrics_result()["d_acc_real"] < 1.0


@pytest.mark.slow
def test_save_load_round_trip_keeps_networks_and_optimizer_state(tmp_path):
    data = tfgan_kit.load_dataset("digits", batch_size=32, seed=0, limit=128)
    gan = tiny_gan()
    gan.fit(data, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, tfgan_kit.GAN)
    assert loaded.d_optimizer is not loaded.g_optimizer
    for a, b in ((gan.d_optimizer, loaded.d_optimizer), (gan.g_optimizer, loaded.g_optimizer)):
        assert int(b.iterations) == int(a.iterations) == 4
        for va, vb in zip(a.variables, b.variables):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())
    np.testing.assert_array_equal(gan.generate(8, seed=3), loaded.generate(8, seed=3))
    loaded.fit(data, epochs=1, verbose=0)
    assert int(loaded.d_optimizer.iterations) == 8
    assert loaded.optimizer is None  # No stray default optimizer.


def test_generate_is_deterministic_for_a_seed_and_in_data_range():
    gan = tiny_gan()
    a, b, c = gan.generate(10, seed=5), gan.generate(10, seed=5), gan.generate(10, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (10, 8, 8, 1) and a.min() >= -1 and a.max() <= 1


def test_uniform_prior_draws_inside_the_box():
    gan = tfgan_kit.GAN(tfgan_kit.mlp_generator(2, 3), tfgan_kit.mlp_discriminator(2),
                        latent_dim=3, latent_distribution="uniform")
    z = gan.sample_latent(1000, tf.constant([1, 2], tf.int64)).numpy()
    assert z.min() >= -1 and z.max() <= 1 and z.std() > 0.5


@pytest.mark.slow
def test_conditional_gan_trains_and_generates_requested_labels_shape():
    gan = tiny_gan(num_classes=10)
    data = tfgan_kit.load_dataset("digits", batch_size=32, labels=True, limit=64)
    logs = gan.fit(data, epochs=1, verbose=0).history
    assert np.isfinite(logs["d_loss"][0])
    assert gan.generate(10, seed=0, labels=np.arange(10)).shape == (10, 8, 8, 1)
    with pytest.raises(ValueError, match="3 labels for num_samples=10"):
        gan.generate(10, labels=[1, 2, 3])


def test_mismatched_networks_are_rejected_at_construction():
    g = tfgan_kit.dcgan_generator((8, 8, 1), latent_dim=16, width=8)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(None, 16\).*latent_dim=32"):
        tfgan_kit.GAN(g, tfgan_kit.dcgan_discriminator((8, 8, 1), width=8), latent_dim=32)
    with pytest.raises(ValueError, match=r"outputs shape \(None, 8, 8, 1\).*\(None, 16, 16, 1\)"):
        tfgan_kit.GAN(g, tfgan_kit.dcgan_discriminator((16, 16, 1), width=8), latent_dim=16)
    with pytest.raises(ValueError, match="latent_distribution='cauchy'"):
        tfgan_kit.GAN(g, tfgan_kit.dcgan_discriminator((8, 8, 1)), 16, latent_distribution="cauchy")


def test_compile_rejects_bad_arguments():
    gan = tiny_gan()
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="same optimizer object"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises(ValueError, match="d_steps=0"):
        gan.compile(d_steps=0)
    with pytest.raises(ValueError, match="step='both'"):
        gan.compile(step="both")
    with pytest.raises(ValueError, match="optimizer="):
        gan.compile(optimizer="adam")
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        gan.compile(label_smoothing=1.5)


def test_generator_ema_is_the_hand_computed_average_and_used_by_generate():
    decay = 0.5
    gan = tiny_gan(generator_ema=decay, g_optimizer=keras.optimizers.SGD(0.1))
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    expected = None
    for _ in range(3):
        gan.train_on_batch(x)
        current = _weights(gan.generator)
        # Keras' EMA copies the weights on the first step, then averages.
        expected = current if expected is None else [
            decay * e + (1 - decay) * c for e, c in zip(expected, current)]
    with gan.ema_weights() as generator:
        for e, w in zip(expected, generator.trainable_weights):
            np.testing.assert_allclose(w.numpy(), e, rtol=1e-5, atol=1e-6)
    # Outside the block the training weights are back.
    for c, w in zip(current, gan.generator.trainable_weights):
        np.testing.assert_array_equal(c, w.numpy())
    assert not np.allclose(gan.generate(4, seed=0), gan.generate(4, seed=0, use_ema=False))


def test_fit_on_a_dataset_does_not_warn_that_shuffle_is_ignored():
    """Keras warns on every `fit(dataset)` with its default shuffle=True; GAN.fit drops it."""
    gan = tiny_gan()
    dataset = tf.data.Dataset.from_tensor_slices(
        np.zeros((8, 8, 8, 1), "float32")).batch(4, drop_remainder=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(dataset, epochs=1, verbose=0)
    assert not [w for w in caught if "shuffle" in str(w.message)]
    with pytest.warns(UserWarning, match="shuffle"):  # An explicit request still reaches Keras.
        gan.fit(dataset, epochs=1, verbose=0, shuffle=True)
