"""Callbacks: each monitor is shown the failure it claims to catch, and a healthy run.

Failures are induced, not simulated: a discriminator with a 100x learning rate,
a frozen discriminator exploited by a fast generator, a generator that ignores z.
"""

import logging
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_gan

import tfgan_kit
from tfgan_kit.callbacks import GeneratorEMA, ImbalanceMonitor, ModeCollapseMonitor, SampleGrid
from tfgan_kit.mode_collapse import class_stats, diversity_stats

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


def _digits(seed=0, limit=None):
    return tfgan_kit.load_dataset("digits", batch_size=64, seed=seed, limit=limit)


def _gan(d_lr=LR, g_lr=LR, seed=0, **kwargs):
    return tiny_gan(
        seed=seed,
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5),
        **kwargs,
    )


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


# ------------------------------------------------------------------ ImbalanceMonitor


def test_window_recovers_exact_batch_means_from_running_means():
    # Keras hands callbacks running means; calls every 1 or 3 batches (steps_per_execution).
    gan = tiny_gan()
    monitor = ImbalanceMonitor(window=4, verbose=0)
    monitor.set_model(gan)
    monitor.set_params({"steps": 8})
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    per_batch = np.random.default_rng(0).uniform(size=(8, 4))
    for end in (0, 1, 4, 7):  # uneven calls, the last one covering batches 6-8
        running = per_batch[: end + 1].mean(axis=0)
        monitor.on_train_batch_end(end, dict(zip(("d_real", "d_fake", "d_acc_real", "d_acc_fake"),
                                                 running)))
    means = monitor.window_means()  # chunks of 3 and 3: the last 6 batches cover window=4
    expected = per_batch[2:].mean(axis=0)
    np.testing.assert_allclose([means[k] for k in ("d_real", "d_fake", "d_acc_real", "d_acc_fake")],
                               expected, rtol=1e-6)


def test_discriminator_with_100x_learning_rate_is_caught_once_per_episode(caplog):
    gan = _gan(d_lr=100 * LR)
    monitor = ImbalanceMonitor()
    with caplog.at_level(logging.WARNING, logger="tfgan_kit"):
        history = gan.fit(_digits(), epochs=3, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["discriminator_dominates"]
    event = monitor.events[0]
    assert event["step"] == 50  # the first full window
    assert event["d_fake"] < 0.1 and event["accuracy"] > 0.95
    lines = [r.getMessage() for r in caplog.records if "ImbalanceMonitor" in r.getMessage()]
    assert len(lines) == 1 and "discriminator_dominates" in lines[0]
    assert sum(history.history["imbalance_events"]) == 1


def test_stop_mode_ends_fit_with_the_reason():
    gan = _gan(d_lr=100 * LR)
    monitor = ImbalanceMonitor(mode="stop", window=20, verbose=0)
    history = gan.fit(_digits(), epochs=5, verbose=0, callbacks=[monitor])
    assert len(history.history["d_loss"]) == 1  # stopped in the first epoch (28 batches)
    assert 20 <= monitor.events[0]["step"] < 28
    assert "discriminator_dominates" in monitor.stop_reason
    assert "stopped" in monitor.events[0]["action"]


def test_frozen_discriminator_is_caught_as_generator_dominates():
    gan = _gan(d_lr=0.0, g_lr=100 * LR)  # D cannot learn; G exploits it
    monitor = ImbalanceMonitor(window=28, verbose=0)
    gan.fit(_digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["generator_dominates"]
    event = monitor.events[0]
    assert event["step"] == 28
    assert event["d_fake"] > event["d_real"] and event["d_acc_fake"] < 0.1


def test_rebalance_lowers_the_dominating_learning_rate_and_moves_the_signal():
    def run(mode):
        keras.utils.set_random_seed(0)
        gan = _gan(d_lr=100 * LR)
        monitor = ImbalanceMonitor(mode=mode, window=25, rebalance_factor=0.01,
                                             verbose=0)
        history = gan.fit(_digits(), epochs=4, verbose=0, callbacks=[monitor])
        return gan, monitor, history

    _, warned, _ = run("warn")
    gan, rebalanced, history = run("rebalance")
    assert rebalanced.events[0]["step"] == warned.events[0]["step"] == 25
    np.testing.assert_allclose(float(gan.d_optimizer.learning_rate.numpy()), LR, rtol=1e-5)
    np.testing.assert_allclose(float(gan.g_optimizer.learning_rate.numpy()), LR, rtol=1e-5)
    assert history.history["d_lr_scale"][-1] == pytest.approx(0.01)
    # Same seed, same batches: only the action differs. The episode ended and
    # D(G(z)) left "near 0", while the warned run stayed dominated.
    after, before = rebalanced.window_means(), warned.window_means()
    assert rebalanced.events[0]["end_step"] is not None and warned.events[0]["end_step"] is None
    assert after["d_fake"] > 3 * before["d_fake"] and after["d_fake"] > 0.1
    assert after["accuracy"] < before["accuracy"]


def test_rebalance_refuses_a_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(LR, 100, 0.9)
    gan = tiny_gan(d_optimizer=keras.optimizers.Adam(schedule))
    monitor = ImbalanceMonitor(mode="rebalance")
    monitor.set_model(gan)
    with pytest.raises(ValueError, match="d_optimizer uses the schedule"):
        monitor.on_train_begin()


# ------------------------------------------------------------ no false alarms


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_training_raises_no_event(seed):
    keras.utils.set_random_seed(seed)
    gan = tiny_gan(seed=seed)  # default compile: Adam(2e-4, 0.5) for both networks
    imbalance = ImbalanceMonitor()
    collapse = ModeCollapseMonitor(DIGITS, seed=seed, warmup=0)  # stricter than the default
    gan.fit(_digits(seed), epochs=4, verbose=0, callbacks=[imbalance, collapse])
    assert imbalance.events == [] and collapse.events == []
    # They did look: 112 batches, a full window from batch 50, four diversity checks.
    assert imbalance.state == "balanced" and len(collapse.history) == 4
    assert min(h["diversity_ratio"] for h in collapse.history) > collapse.min_diversity


# ------------------------------------------------------------ ModeCollapseMonitor


def test_diversity_statistics_by_hand():
    real = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # pairwise 3, 4, 5; nearest 3, 3, 4
    same = diversity_stats(np.ones((3, 2)), real)
    assert same["diversity_ratio"] == 0.0 and same["duplicate_rate"] == 1.0
    itself = diversity_stats(real, real)
    assert itself["diversity_ratio"] == pytest.approx(1.0) and itself["duplicate_rate"] == 0.0
    half = diversity_stats(real / 2, real)  # pairwise 1.5, 2, 2.5 over 3, 4, 5
    assert half["diversity_ratio"] == pytest.approx(0.5)
    near = diversity_stats(np.array([[0.0, 0.0], [0.2, 0.0], [9.0, 9.0]]), real)  # cutoff 0.3
    assert near["duplicate_rate"] == pytest.approx(2 / 3)
    probs = np.eye(3)[[0, 0, 0, 1]]
    stats = class_stats(probs, np.eye(3)[[0, 1, 2, 2]])
    assert (stats["classes_covered"], stats["real_classes"]) == (2, 3)
    p, q = np.array([1.5, 1.5, 2.5]) / 5.5, np.array([3.5, 1.5, 0.5]) / 5.5
    assert stats["class_kl"] == pytest.approx(float(np.sum(p * np.log(p / q))))


@pytest.mark.parametrize("unit, every, step", [("epoch", 1, 28), ("batch", 5, 5)])
def test_generator_that_ignores_z_is_caught_at_the_first_check_and_stop_stops(unit, every, step):
    gan = tiny_gan()
    _ignore_z(gan).trainable = False
    gan.compile()  # re-trace with the frozen projection
    monitor = ModeCollapseMonitor(DIGITS, unit=unit, every=every, mode="stop", warmup=0,
                                  verbose=0)
    history = gan.fit(_digits(), epochs=3, verbose=0, callbacks=[monitor])
    assert len(monitor.history) == 1 and len(monitor.events) == 1
    event = monitor.events[0]
    assert (event["epoch"], event["step"]) == (1, step)
    assert event["diversity_ratio"] < 1e-3 and event["duplicate_rate"] == 1.0
    assert len(history.history["d_loss"]) == 1 and "mode collapse" in monitor.stop_reason
    assert history.history["mode_collapse_events"] == [1]


def test_restore_best_puts_back_the_most_diverse_healthy_weights():
    gan = tiny_gan(generator_ema=0.9)

    class Sabotage(keras.callbacks.Callback):  # runs before the monitor's check
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                _ignore_z(self.model)

    monitor = ModeCollapseMonitor(DIGITS, mode="restore_best", warmup=0, verbose=0)
    record = _Record()
    gan.fit(_digits(), epochs=3, verbose=0, callbacks=[Sabotage(), monitor, record])
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


def test_bad_real_data_is_named():
    monitor = ModeCollapseMonitor(np.zeros((10, 28, 28, 1)))
    monitor.set_model(tiny_gan())
    with pytest.raises(ValueError, match=r"shape \(10, 28, 28, 1\).*\(8, 8, 1\)"):
        monitor.on_train_begin()


@pytest.mark.parametrize("make, match", [
    (lambda: ImbalanceMonitor(mode="bogus"), "mode='bogus'"),
    (lambda: ImbalanceMonitor(window=0), "window=0"),
    (lambda: ImbalanceMonitor(rebalance_factor=2.0), "rebalance_factor=2.0"),
    (lambda: ModeCollapseMonitor(DIGITS, mode="rewind"), "mode='rewind'"),
    (lambda: ModeCollapseMonitor(DIGITS, features="inception"), "features='inception'"),
    (lambda: ModeCollapseMonitor("digits"), "real_data of type str"),
    (lambda: ModeCollapseMonitor(DIGITS, unit="step"), "unit='step'"),
    (lambda: GeneratorEMA(decay=1.5), "decay=1.5"),
    (lambda: SampleGrid("x", scale=0), "scale=0"),
])
def test_bad_arguments_are_refused_by_name(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_monitors_refuse_a_model_that_is_not_a_gan():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    monitor = ImbalanceMonitor()
    monitor.set_model(model)
    with pytest.raises(ValueError, match="does not report"):
        monitor.on_train_begin()


# ------------------------------------------------------------ SampleGrid, GeneratorEMA


def test_sample_grid_writes_pngs_and_a_tensorboard_image_summary(tmp_path):
    gan = tiny_gan()
    grids = SampleGrid(str(tmp_path / "png"), num_samples=16, scale=2,
                                 log_dir=str(tmp_path / "tb"))
    gan.fit(_digits(limit=128), epochs=2, verbose=0, callbacks=[grids])
    assert sorted(os.listdir(tmp_path / "png")) == ["epoch_001.png", "epoch_002.png"]
    side = 2 * (4 * (8 + 1) + 1)  # 4x4 grid of 8x8 images, 1-pixel padding, scale 2
    png = tf.io.decode_png(tf.io.read_file(str(tmp_path / "png" / "epoch_002.png")))
    assert png.shape[:2] == (side, side)
    events = [os.path.join(tmp_path / "tb", f) for f in os.listdir(tmp_path / "tb")]
    images = {}
    for record in tf.data.TFRecordDataset(events):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            assert value.tag == "samples" and value.metadata.plugin_data.plugin_name == "images"
            width, height, encoded = tf.make_ndarray(value.tensor)
            images[event.step] = tf.io.decode_png(encoded).numpy()
            assert (int(width), int(height)) == (side, side)
    assert sorted(images) == [1, 2]
    assert images[2].shape == (side, side, 1)
    # The same grid (matplotlib's gray colormap may round a level differently).
    np.testing.assert_allclose(images[2][..., 0], png.numpy()[..., 0], atol=1)


def test_generator_ema_equals_a_hand_computed_average(tmp_path):
    gan = tiny_gan(generator_ema=0.9)
    dataset = _digits(limit=6 * 64)
    gan.fit(dataset.take(1), epochs=1, verbose=0)  # traces the step with decay 0.9

    class Weights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps, self.before_start = {}, []

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            self.steps[step] = [v.numpy() for v in self.model.generator.trainable_variables]
            averages = self.model.g_optimizer._model_variables_moving_average
            if step < 3:  # before start_step the average is the current weights
                self.before_start.append(all(np.array_equal(a.numpy(), w) for a, w in
                                             zip(averages, self.steps[step])))

    record = Weights()
    ema = GeneratorEMA(decay=0.5, start_step=3, finalize=True)
    gan.fit(dataset, epochs=1, verbose=0, callbacks=[ema, record])
    assert sorted(record.steps) == [2, 3, 4, 5, 6, 7] and record.before_start == [True]
    expected = record.steps[3]
    for step in (4, 5, 6, 7):  # decay 0.5 (not compile's 0.9): the step was re-traced
        expected = [0.5 * a + 0.5 * w for a, w in zip(expected, record.steps[step])]
    averages = gan.g_optimizer._model_variables_moving_average
    for average, value in zip(averages, expected):
        np.testing.assert_allclose(average.numpy(), value, rtol=1e-5, atol=1e-6)
    # finalize: the generator itself now holds the average, so both draws agree.
    for variable, value in zip(gan.generator.trainable_variables, expected):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.generate(4, seed=1), gan.generate(4, seed=1, use_ema=False))
    assert gan.get_compile_config()["generator_ema"] == 0.5


def test_generator_ema_needs_the_optimizer_average():
    gan = tiny_gan()
    ema = GeneratorEMA(decay=0.99)
    ema.set_model(gan)
    with pytest.raises(ValueError, match=r"generator_ema=0.99"):
        ema.on_train_begin()


# ------------------------------------------------------------ equilibrium


def _constant_discriminator(gan):
    """D's readout zeroed, bias 1e-3, learning rate 0: D(x) = D(G(z)) = sigmoid(1e-3) for every
    image, the equilibrium D* = 1/2 (it calls everything real: real/fake accuracy 100 %/0 %)."""
    readout = [l for l in gan.discriminator.layers if isinstance(l, keras.layers.Dense)][-1]
    readout.kernel.assign(tf.zeros_like(readout.kernel))
    readout.bias.assign(tf.fill(readout.bias.shape, 1e-3))
    return gan


def test_equilibrium_is_reported_once_per_episode_and_never_rebalanced(caplog):
    gan = _constant_discriminator(_gan(d_lr=0.0))
    monitor = ImbalanceMonitor(window=20, mode="rebalance", equilibrium_mode="warn")
    with caplog.at_level(logging.WARNING, logger="tfgan_kit"):
        history = gan.fit(_digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["equilibrium"]
    event = monitor.events[0]
    assert event["step"] == 20 and event["action"] == "warned" and event["end_step"] is None
    assert event["accuracy"] == 0.5 and event["d_real"] == event["d_fake"]
    assert history.history["equilibrium_events"] == [1, 0]
    assert history.history["imbalance_events"] == [0, 0]  # not an imbalance
    assert history.history["d_lr_scale"] == [1.0, 1.0]  # rebalance mode left it alone
    lines = [r.getMessage() for r in caplog.records if "ImbalanceMonitor" in r.getMessage()]
    assert len(lines) == 1 and "equilibrium" in lines[0] and "cannot tell real" in lines[0]


def test_equilibrium_stop_ends_fit_with_the_reason():
    gan = _constant_discriminator(_gan(d_lr=0.0))
    monitor = ImbalanceMonitor(window=20, equilibrium_mode="stop", verbose=0)
    history = gan.fit(_digits(), epochs=5, verbose=0, callbacks=[monitor])
    assert len(history.history["d_loss"]) == 1  # stopped in the first epoch (28 batches)
    assert monitor.events[0]["step"] == 20 and monitor.events[0]["action"] == "stopped training"
    assert "equilibrium" in monitor.stop_reason
    # Opt-in: the default monitor sees the same run as balanced.
    default = ImbalanceMonitor(window=20, verbose=0)
    gan.fit(_digits(), epochs=1, verbose=0, callbacks=[default])
    assert default.events == [] and default.state == "balanced"


def test_no_equilibrium_for_a_dominant_or_a_healthy_discriminator():
    gan = _gan(d_lr=100 * LR)
    monitor = ImbalanceMonitor(equilibrium_mode="warn", verbose=0)
    gan.fit(_digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["discriminator_dominates"]
    # A healthy tiny D calls almost everything real: 55-57 % accuracy over these 56 batches,
    # yet D(x) - D(G(z)) > 0.04. Judged by accuracy alone (gap 1.0) it looks like equilibrium.
    keras.utils.set_random_seed(0)
    strict = ImbalanceMonitor(equilibrium_mode="warn", equilibrium_band=0.1, verbose=0)
    by_accuracy = ImbalanceMonitor(equilibrium_mode="warn", equilibrium_band=0.1,
                                   equilibrium_gap=1.0, verbose=0)
    tiny_gan().fit(_digits(), epochs=2, verbose=0, callbacks=[strict, by_accuracy])
    assert strict.events == [] and strict.state == "balanced"
    assert [e["state"] for e in by_accuracy.events] == ["equilibrium"]
    assert by_accuracy.events[0]["d_real"] - by_accuracy.events[0]["d_fake"] > 0.04


def test_equilibrium_arguments_are_validated_and_serialized():
    for kwargs, match in (({"equilibrium_mode": "rebalance"}, "equilibrium_mode='rebalance'"),
                          ({"equilibrium_band": 0.0}, "equilibrium_band=0.0"),
                          ({"equilibrium_gap": 2.0}, "equilibrium_gap=2.0")):
        with pytest.raises(ValueError, match=match):
            ImbalanceMonitor(**kwargs)
    config = ImbalanceMonitor(equilibrium_mode="stop", equilibrium_band=0.1).get_config()
    assert (config["equilibrium_mode"], config["equilibrium_band"], config["equilibrium_gap"]) == (
        "stop", 0.1, 0.01)
    assert ImbalanceMonitor(**config).get_config() == config
    assert ImbalanceMonitor().get_config()["equilibrium_mode"] is None
