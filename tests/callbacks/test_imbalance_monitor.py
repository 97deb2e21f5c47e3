"""ImbalanceMonitor: shown the failures it claims to catch (a 100x discriminator, a frozen one,
a constant one) and healthy runs it must leave alone."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import digits, tiny_gan

import tfgan_kit
from tfgan_kit.callbacks import (
    ImbalanceMonitor,
    ModeCollapseMonitor,
)

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


def _gan(d_lr=LR, g_lr=LR, seed=0, **kwargs):
    return tiny_gan(
        seed=seed,
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5),
        **kwargs,
    )


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
        history = gan.fit(digits(), epochs=3, verbose=0, callbacks=[monitor])
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
    history = gan.fit(digits(), epochs=5, verbose=0, callbacks=[monitor])
    assert len(history.history["d_loss"]) == 1  # stopped in the first epoch (28 batches)
    assert 20 <= monitor.events[0]["step"] < 28
    assert "discriminator_dominates" in monitor.stop_reason
    assert "stopped" in monitor.events[0]["action"]


def test_frozen_discriminator_is_caught_as_generator_dominates():
    gan = _gan(d_lr=0.0, g_lr=100 * LR)  # D cannot learn; G exploits it
    monitor = ImbalanceMonitor(window=28, verbose=0)
    gan.fit(digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["generator_dominates"]
    event = monitor.events[0]
    assert event["step"] == 28
    assert event["d_fake"] > event["d_real"] and event["d_acc_fake"] < 0.1


@pytest.mark.slow
def test_rebalance_lowers_the_dominating_learning_rate_and_moves_the_signal():
    def run(mode):
        keras.utils.set_random_seed(0)
        gan = _gan(d_lr=100 * LR)
        monitor = ImbalanceMonitor(mode=mode, window=25, rebalance_factor=0.01,
                                             verbose=0)
        history = gan.fit(digits(), epochs=4, verbose=0, callbacks=[monitor])
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


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_training_raises_no_event(seed):
    keras.utils.set_random_seed(seed)
    gan = tiny_gan(seed=seed)  # default compile: Adam(2e-4, 0.5) for both networks
    imbalance = ImbalanceMonitor()
    collapse = ModeCollapseMonitor(DIGITS, seed=seed, warmup=0)  # stricter than the default
    gan.fit(digits(seed), epochs=4, verbose=0, callbacks=[imbalance, collapse])
    assert imbalance.events == [] and collapse.events == []
    # They did look: 112 batches, a full window from batch 50, four diversity checks.
    assert imbalance.state == "balanced" and len(collapse.history) == 4
    assert min(h["diversity_ratio"] for h in collapse.history) > collapse.min_diversity


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
        history = gan.fit(digits(), epochs=2, verbose=0, callbacks=[monitor])
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
    history = gan.fit(digits(), epochs=5, verbose=0, callbacks=[monitor])
    assert len(history.history["d_loss"]) == 1  # stopped in the first epoch (28 batches)
    assert monitor.events[0]["step"] == 20 and monitor.events[0]["action"] == "stopped training"
    assert "equilibrium" in monitor.stop_reason
    # Opt-in: the default monitor sees the same run as balanced.
    default = ImbalanceMonitor(window=20, verbose=0)
    gan.fit(digits(), epochs=1, verbose=0, callbacks=[default])
    assert default.events == [] and default.state == "balanced"


@pytest.mark.slow
def test_no_equilibrium_for_a_dominant_or_a_healthy_discriminator():
    gan = _gan(d_lr=100 * LR)
    monitor = ImbalanceMonitor(equilibrium_mode="warn", verbose=0)
    gan.fit(digits(), epochs=2, verbose=0, callbacks=[monitor])
    assert [e["state"] for e in monitor.events] == ["discriminator_dominates"]
    # A healthy tiny D calls almost everything real: 55-57 % accuracy over these 56 batches,
    # yet D(x) - D(G(z)) > 0.04. Judged by accuracy alone (gap 1.0) it looks like equilibrium.
    keras.utils.set_random_seed(0)
    strict = ImbalanceMonitor(equilibrium_mode="warn", equilibrium_band=0.1, verbose=0)
    by_accuracy = ImbalanceMonitor(equilibrium_mode="warn", equilibrium_band=0.1,
                                   equilibrium_gap=1.0, verbose=0)
    tiny_gan().fit(digits(), epochs=2, verbose=0, callbacks=[strict, by_accuracy])
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


# ---------------------------------------------------------------- made-up logs, no training


def _feed(monitor, batches, epoch=0):
    """Feeds per-batch signal dicts to the hooks as Keras would: running means since the epoch."""
    monitor.on_epoch_begin(epoch)
    totals = dict.fromkeys(batches[0], 0.0)
    for i, values in enumerate(batches):
        totals = {k: totals[k] + values[k] for k in totals}
        monitor.on_train_batch_end(i, {k: v / (i + 1) for k, v in totals.items()})
    logs = {}
    monitor.on_epoch_end(epoch, logs)
    return logs


def _monitor(**kwargs):
    gan = tiny_gan()
    monitor = ImbalanceMonitor(verbose=0, **kwargs)
    monitor.set_model(gan)
    monitor.set_params({"steps": None})
    monitor.on_train_begin()
    return gan, monitor


D_WINS = {"d_real": 0.99, "d_fake": 0.02, "d_acc_real": 1.0, "d_acc_fake": 1.0}
G_WINS = {"d_real": 0.55, "d_fake": 0.7, "d_acc_real": 0.6, "d_acc_fake": 0.02}
HEALTHY = {"d_real": 0.6, "d_fake": 0.4, "d_acc_real": 0.7, "d_acc_fake": 0.7}
EQUAL = {"d_real": 0.5, "d_fake": 0.5, "d_acc_real": 0.5, "d_acc_fake": 0.5}


def test_made_up_discriminator_win_is_one_event_after_a_full_window():
    _, monitor = _monitor(window=5)
    logs = _feed(monitor, [HEALTHY] * 3 + [D_WINS] * 20)
    assert [e["state"] for e in monitor.events] == ["discriminator_dominates"]
    assert monitor.events[0]["step"] == 8 and monitor.events[0]["epoch"] == 1  # 5 winning batches
    assert logs["imbalance_events"] == 1


def test_made_up_generator_win_and_equilibrium_and_health():
    _, monitor = _monitor(window=5, equilibrium_mode="warn")
    _feed(monitor, [G_WINS] * 10)
    _feed(monitor, [HEALTHY] * 10, epoch=1)  # ends the episode after a window of balance
    _feed(monitor, [EQUAL] * 10, epoch=2)
    assert [(e["state"], e["epoch"]) for e in monitor.events] == [
        ("generator_dominates", 1), ("equilibrium", 3)]
    assert monitor.events[0]["end_step"] is not None
    _, quiet = _monitor(window=5, equilibrium_mode="warn")
    _feed(quiet, [HEALTHY] * 50)
    assert quiet.events == []


def test_made_up_rebalance_scales_the_winner_down_to_its_floor():
    gan, monitor = _monitor(window=5, mode="rebalance", min_lr_scale=0.01)
    before = float(gan.d_optimizer.learning_rate.numpy())
    logs = _feed(monitor, [D_WINS] * 30)  # the episode lasts: a further window, a further cut
    assert logs["d_lr_scale"] == pytest.approx(0.01) and logs["g_lr_scale"] == 1.0
    assert float(gan.d_optimizer.learning_rate.numpy()) == pytest.approx(before * 0.01)
    assert monitor.events[0]["rebalances"] >= 1


def test_made_up_stop_sets_stop_training_and_the_reason():
    gan, monitor = _monitor(window=5, mode="stop")
    _feed(monitor, [D_WINS] * 6)
    assert gan.stop_training and "discriminator_dominates" in monitor.stop_reason


SURE_OF_REALS = {"d_real": 0.9, "d_fake": 0.5, "d_acc_real": 0.97, "d_acc_fake": 0.4}


def test_made_up_overfitting_from_the_sign_statistic_only_when_asked():
    _, monitor = _monitor(window=5, overfit_mode="warn")
    _feed(monitor, [HEALTHY] * 10 + [SURE_OF_REALS] * 10)  # r_t = 2 * 0.97 - 1 = 0.94 > 0.6
    assert [e["state"] for e in monitor.events] == ["discriminator_overfits"]
    _, off = _monitor(window=5)
    _feed(off, [SURE_OF_REALS] * 20)
    assert off.events == []
    _, quiet = _monitor(window=5, overfit_mode="warn")
    _feed(quiet, [HEALTHY] * 30)  # r_t = 0.4
    assert quiet.events == []


def test_made_up_overfitting_from_held_out_images_at_the_epoch_end():
    _, monitor = _monitor(window=5, overfit_mode="warn")
    monitor.on_epoch_begin(0)
    monitor.on_epoch_end(0, {"d_acc_real": 0.95, "val_d_acc_real": 0.6})  # r_t 0.9 vs 0.2
    monitor.on_epoch_begin(1)
    monitor.on_epoch_end(1, {"d_acc_real": 0.8, "val_d_acc_real": 0.75})  # 0.6 vs 0.5: generalises
    assert [(e["state"], e["epoch"], e["window"]) for e in monitor.events] == [
        ("discriminator_overfits", 1, "validation")]
    assert monitor.events[0]["real_sign"] == 0.9 and monitor.events[0]["val_real_sign"] == 0.2


def test_made_up_overfitting_rebalanced_by_raising_the_augmentation_probability():
    gan = tiny_gan(augment=tfgan_kit.ADA(initial_p=0.0))
    monitor = ImbalanceMonitor(verbose=0, window=5, overfit_mode="rebalance")
    monitor.set_model(gan)
    monitor.set_params({"steps": None})
    monitor.on_train_begin()
    lr = float(gan.d_optimizer.learning_rate.numpy())
    _feed(monitor, [SURE_OF_REALS] * 12)  # the episode's start and one more window
    assert float(gan.augment.p.numpy()) == pytest.approx(0.2)
    assert "raised the augmentation probability" in monitor.events[0]["action"]
    assert float(gan.d_optimizer.learning_rate.numpy()) == lr  # D's rate left alone
