"""ModeCollapseMonitor: a generator that ignores z is caught; healthy weights are restored."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import digits, tiny_gan

import tfgan_kit
from tfgan_kit.callbacks import ModeCollapseMonitor

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")
_DIGIT_LABELS = tfgan_kit.load_arrays("digits", labels=True)[1]


def _ignore_z(gan):
    """Zeroes and freezes the generator's projection of z: every z gives the same image."""
    dense = next(l for l in gan.generator.layers if isinstance(l, keras.layers.Dense))
    dense.kernel.assign(tf.zeros_like(dense.kernel))
    return dense


class _Record(keras.callbacks.Callback):
    """Copies of the generator's weights after every epoch (placed after the monitor)."""

    def __init__(self):
        super().__init__()
        self.weights, self.averages = {}, {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [np.array(w) for w in self.model.generator.get_weights()]
        averages = self.model.g_optimizer._model_variables_moving_average
        self.averages[epoch + 1] = [a.numpy() for a in averages]


@pytest.mark.parametrize("unit, every, step", [("epoch", 1, 28), ("batch", 5, 5)])
def test_generator_that_ignores_z_is_caught_at_the_first_check_and_stop_stops(unit, every, step):
    gan = tiny_gan()
    _ignore_z(gan).trainable = False
    gan.compile()  # re-trace with the frozen projection
    monitor = ModeCollapseMonitor(DIGITS, unit=unit, every=every, mode="stop", warmup=0,
                                  verbose=0)
    history = gan.fit(digits(), epochs=3, verbose=0, callbacks=[monitor])
    assert len(monitor.history) == 1 and len(monitor.events) == 1
    event = monitor.events[0]
    assert (event["epoch"], event["step"]) == (1, step)
    assert event["diversity_ratio"] < 1e-3 and event["duplicate_rate"] == 1.0
    assert len(history.history["d_loss"]) == 1 and "mode collapse" in monitor.stop_reason
    assert "r1_gamma=1" in monitor.stop_reason and "pack=2" in monitor.stop_reason  # the remedies
    assert "hinge" not in monitor.stop_reason  # the color remedy is for color images
    assert history.history["mode_collapse_events"] == [1]


def test_a_conditional_generator_that_ignores_z_draws_one_image_a_class_and_is_caught():
    gan = tiny_gan(num_classes=10)
    _ignore_z(gan).trainable = False
    rng = np.random.default_rng(0)  # the label still counts: each class its own norm biases
    for table in (l for l in gan.generator.layers if isinstance(l, keras.layers.Embedding)):
        table.embeddings.assign(rng.normal(1.0, 0.5, table.embeddings.shape).astype("float32"))
    gan.compile()
    images = gan.generate(20, seed=1, labels=np.arange(20) % 10)
    assert np.allclose(images[:10], images[10:]) and not np.allclose(images[0], images[1])
    monitor = ModeCollapseMonitor((DIGITS, _DIGIT_LABELS), mode="stop", warmup=0, verbose=0)
    gan.fit(tfgan_kit.load_dataset("digits", 64, labels=True), epochs=3, verbose=0, callbacks=[monitor])
    assert len(monitor.events) == 1 and monitor.events[0]["duplicate_rate"] > 0.9
    assert "mode collapse" in monitor.stop_reason and "pack=2" not in monitor.stop_reason


def test_a_healthy_conditional_gan_is_not_flagged():
    gan = tiny_gan(num_classes=10, d_optimizer=keras.optimizers.Adam(LR, beta_1=0.5),
                   g_optimizer=keras.optimizers.Adam(LR, beta_1=0.5))
    monitor = ModeCollapseMonitor((DIGITS, _DIGIT_LABELS), mode="stop", warmup=0, verbose=0)
    gan.fit(tfgan_kit.load_dataset("digits", 64, labels=True), epochs=2, verbose=0, callbacks=[monitor])
    assert monitor.events == [] and monitor.history[-1]["duplicate_rate"] < 0.25


@pytest.mark.parametrize("loss", ["non_saturating", "hinge"])
def test_a_color_collapse_names_the_color_recipe_unless_it_is_in_use(loss):
    gan = tiny_gan(image_shape=(8, 8, 3))
    _ignore_z(gan).trainable = False
    gan.compile(loss=loss)
    colors = np.repeat(DIGITS, 3, axis=-1)
    monitor = ModeCollapseMonitor(colors, mode="stop", warmup=0, verbose=0)
    data = tf.data.Dataset.from_tensor_slices(colors).batch(64, drop_remainder=True)
    gan.fit(data, epochs=2, verbose=0, callbacks=[monitor])
    assert "mode collapse" in monitor.stop_reason
    assert ("--recipe=color" in monitor.stop_reason) == (loss != "hinge")


def test_the_message_leaves_out_the_remedies_the_gan_already_uses():
    gan = tfgan_kit.GAN(tfgan_kit.dcgan_generator((8, 8, 1), 16, width=8),
                        tfgan_kit.dcgan_discriminator((8, 8, 1), width=8, pack=2), latent_dim=16)
    _ignore_z(gan).trainable = False
    gan.compile(r1_gamma=1.0)
    monitor = ModeCollapseMonitor(DIGITS, mode="stop", warmup=0, verbose=0)
    gan.fit(digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert "mode collapse" in monitor.stop_reason
    assert "r1_gamma" not in monitor.stop_reason and "pack=2" not in monitor.stop_reason


@pytest.mark.slow
def test_restore_best_puts_back_the_most_diverse_healthy_weights():
    gan = tiny_gan(generator_ema=0.9)

    class Sabotage(keras.callbacks.Callback):  # runs before the monitor's check
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                _ignore_z(self.model)

    monitor = ModeCollapseMonitor(DIGITS, mode="restore_best", warmup=0, verbose=0)
    record = _Record()
    gan.fit(digits(), epochs=3, verbose=0, callbacks=[Sabotage(), monitor, record])
    assert [h["epoch"] for h in monitor.history] == [1, 2, 3]
    assert len(monitor.events) == 1 and monitor.events[0]["epoch"] == 3
    best = monitor.best["epoch"]
    assert best in (1, 2) and "restored" in monitor.events[0]["action"]
    for restored, saved in zip(gan.generator.get_weights(), record.weights[best]):
        np.testing.assert_array_equal(restored, saved)
    for restored, saved in zip(gan.g_optimizer._model_variables_moving_average,
                               record.averages[best]):  # the EMA generator too
        np.testing.assert_array_equal(restored.numpy(), saved)
    assert not monitor.collapsed(monitor.measure())


def test_feature_spaces_and_classifier_see_the_collapse():
    x, y = tfgan_kit.load_arrays("digits", labels=True)
    centroids = np.stack([x[y == c].reshape(-1, 64).mean(axis=0) for c in range(10)])

    def classifier(images):  # nearest class mean: scores are negative distances
        flat = np.asarray(images).reshape(len(images), -1)
        return -np.linalg.norm(flat[:, None] - centroids[None], axis=-1)

    embedding = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(16)])
    gan = tiny_gan()
    _ignore_z(gan)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    for features in ("pixels", "discriminator", embedding):
        monitor = ModeCollapseMonitor(dataset, features=features, classifier=classifier)
        monitor.set_model(gan)
        monitor.on_train_begin()
        stats = monitor.measure()
        assert stats["diversity_ratio"] < 1e-3 and stats["duplicate_rate"] == 1.0, features
        assert stats["classes_covered"] == 1 and stats["real_classes"] == 10
        assert stats["class_kl"] > 1.0 and monitor.collapsed(stats)
    # An untrained generator is not judged: it has taken 0 of the 500 warm-up steps.
    monitor.on_epoch_begin(0)
    assert not monitor.check() and monitor.events == [] and monitor.history[-1]["warmup"]
    monitor.warmup = 0
    assert monitor.check() and len(monitor.events) == 1


@pytest.mark.slow
def test_bad_real_data_is_named():
    monitor = ModeCollapseMonitor(np.zeros((10, 28, 28, 1)))
    monitor.set_model(tiny_gan())
    with pytest.raises(ValueError, match=r"shape \(10, 28, 28, 1\).*\(8, 8, 1\)"):
        monitor.on_train_begin()


# ---------------------------------------------------------------- made-up statistics, no training


def _checked(monitor, stats_sequence, gan):
    """Runs `check` on a sequence of made-up statistics instead of measuring the generator."""
    stats = iter(stats_sequence)
    monitor.measure = lambda: dict(next(stats))
    monitor.set_model(gan)
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    return [monitor.check() for _ in stats_sequence]


HEALTHY_STATS = {"diversity_ratio": 0.3, "duplicate_rate": 0.0, "real_duplicate_rate": 0.0}
COLLAPSED = {"diversity_ratio": 0.01, "duplicate_rate": 0.9, "real_duplicate_rate": 0.0}


def test_made_up_collapse_is_one_event_per_episode_and_healthy_checks_none():
    monitor = ModeCollapseMonitor(DIGITS, warmup=0, verbose=0)
    flags = _checked(monitor, [HEALTHY_STATS, COLLAPSED, COLLAPSED, HEALTHY_STATS, COLLAPSED],
                     tiny_gan())
    assert flags == [False, True, True, False, True]
    assert len(monitor.events) == 2 and monitor.events[0]["epoch"] == 1
    assert len(monitor.history) == 5


def test_made_up_checks_inside_the_warmup_never_fire():
    monitor = ModeCollapseMonitor(DIGITS, warmup=10, verbose=0)
    assert _checked(monitor, [COLLAPSED] * 3, tiny_gan()) == [False] * 3
    assert monitor.events == [] and all(h["warmup"] for h in monitor.history)


def test_made_up_class_coverage_below_the_minimum_fires():
    monitor = ModeCollapseMonitor(DIGITS, warmup=0, verbose=0, min_class_coverage=0.5)
    few = {**HEALTHY_STATS, "class_coverage": 0.2, "classes_covered": 2, "real_classes": 10,
           "class_kl": 1.5}
    assert _checked(monitor, [few], tiny_gan()) == [True]
    assert monitor.events[0]["classes_covered"] == 2
