"""NaNGuard: a poisoned batch or NaN weights are undone; it stops after max_recoveries."""

import logging
import os
import re

import keras
import numpy as np
import tensorflow as tf
from conftest import REPO, tiny_gan, values

import tfgan_kit

EXAMPLE = os.path.join(REPO, "examples", "train_dcgan.py")
EPOCHS = 6


def _data():
    return tfgan_kit.load_dataset("digits", batch_size=32, seed=0, limit=64)


def _poisoned_data(bad_batch=1):
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    x[16 * bad_batch : 16 * (bad_batch + 1)] = np.nan
    return tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)


def _finite(model):
    return all(np.isfinite(w).all() for w in values(model.weights))


def test_without_the_guard_a_poisoned_batch_ruins_the_weights():
    gan = tiny_gan()
    gan.fit(_poisoned_data(), epochs=1, verbose=0)
    assert not _finite(gan)


def test_guard_undoes_a_poisoned_batch_lowers_the_learning_rates_and_trains_on():
    gan = tiny_gan()
    guard = tfgan_kit.NaNGuard(max_recoveries=3, lr_factor=0.5)
    history = gan.fit(_poisoned_data(), epochs=2, verbose=0, callbacks=[guard])
    assert _finite(gan)
    assert [(e["epoch"], e["batch"]) for e in guard.events] == [(1, 2), (2, 2)]  # 1-based
    assert np.isnan(guard.events[0]["values"]["d_loss"])
    np.testing.assert_allclose(float(gan.d_optimizer.learning_rate), 2e-4 * 0.25, rtol=1e-6)
    np.testing.assert_allclose(float(gan.g_optimizer.learning_rate), 2e-4 * 0.25, rtol=1e-6)
    assert np.isfinite(history.history["d_loss"]).all()  # Metrics reset after each recovery.
    assert guard.stop_reason is None
    assert int(gan.d_optimizer.iterations) > 0


class _PoisonWeights(keras.callbacks.Callback):
    """Sets one discriminator weight to NaN before every batch (or at epoch end)."""

    def __init__(self, when="batch"):
        super().__init__()
        self.when = when

    def _poison(self):
        kernel = self.model.discriminator.trainable_weights[0]
        kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    def on_train_batch_begin(self, batch, logs=None):
        if self.when == "batch":
            self._poison()

    def on_epoch_end(self, epoch, logs=None):
        if self.when == "epoch_end":
            self._poison()


def test_guard_stops_after_max_recoveries_with_its_message_and_finite_weights(caplog):
    gan = tiny_gan()
    guard = tfgan_kit.NaNGuard(max_recoveries=2)
    with caplog.at_level(logging.WARNING, logger="tfgan_kit"):
        gan.fit(_data(), epochs=5, verbose=0,
                callbacks=[_PoisonWeights(), guard])
    assert re.search(r"NaNGuard stopped training.*after 2 recoveries", caplog.text)
    assert len(guard.events) == 2
    assert "Lower the learning rates" in guard.stop_reason
    assert _finite(gan)
    assert int(gan.d_optimizer.iterations) == 0  # Back at the last good state: the start.


def test_nan_weights_at_an_epoch_end_are_undone_and_never_backed_up(tmp_path):
    gan = tiny_gan()
    guard = tfgan_kit.NaNGuard()
    gan.fit(_data(), epochs=1, verbose=0,
            callbacks=[_PoisonWeights("epoch_end"), guard,
                       tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    assert [list(e["values"]) for e in guard.events] == [["weights"]]
    assert _finite(gan)
    restored = tiny_gan(seed=5)
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(restored)
    assert backup.restore() == 1
    assert _finite(restored)
