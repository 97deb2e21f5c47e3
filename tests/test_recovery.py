"""Recovery: a SIGKILLed run resumes to the same weights, backups survive failed writes,
NaNs are undone, seeds make runs repeatable."""

import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, tiny_gan

import tfgan_kit
from tfgan_kit.recovery import training_state

EXAMPLE = os.path.join(REPO, "examples", "train_dcgan.py")
EPOCHS = 6


@pytest.fixture(autouse=True)
def _no_lasting_op_determinism():
    yield  # set_seed turns it on for the whole process; other tests expect it off.
    from tensorflow.python.framework import config

    config.disable_op_determinism()


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------- resume


def _example(out):
    return [sys.executable, EXAMPLE, f"--epochs={EPOCHS}", "--limit=256", "--batch_size=64",
            "--width=8", "--latent_dim=16", "--seed=3", f"--output_dir={out}"]


def test_sigkilled_example_resumes_with_the_same_command_to_the_uninterrupted_weights(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    whole = subprocess.Popen(_example(tmp_path / "whole"), env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    command = _example(tmp_path / "killed")
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    state_file = tmp_path / "killed" / "backup" / "checkpoint"
    deadline = time.time() + 300
    while not state_file.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # Right after the first backup is committed.
    assert first.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (tmp_path / "killed" / "gan.keras").exists()

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = [line for line in again.stdout.splitlines() if "resuming after epoch" in line]
    assert len(resumed) == 1, again.stdout[-2000:]
    epoch = int(resumed[0].split("resuming after epoch ")[1].split()[0])
    assert 1 <= epoch < EPOCHS
    out, _ = whole.communicate(timeout=300)
    assert whole.returncode == 0, out[-3000:]

    a = keras.models.load_model(tmp_path / "whole" / "gan.keras")
    b = keras.models.load_model(tmp_path / "killed" / "gan.keras")
    assert int(b.d_optimizer.iterations) == int(b.g_optimizer.iterations) == EPOCHS * 4
    # Weights and BatchNorm statistics (a .keras file does not store noise generator states).
    _assert_same(_values(a.weights), _values(b.weights))
    _assert_same(_values(a.d_optimizer.variables), _values(b.d_optimizer.variables))
    _assert_same(_values(a.g_optimizer.variables), _values(b.g_optimizer.variables))
    assert not (tmp_path / "killed" / "backup").exists()  # Deleted once finished.


def _data():
    return tfgan_kit.load_dataset("digits", batch_size=32, seed=0, limit=64)


def test_backup_restores_networks_optimizers_ema_noise_histories_and_epoch(tmp_path):
    kwargs = dict(generator_ema=0.9, historical_averaging=0.1)
    gan = tiny_gan(**kwargs)
    gan.fit(_data(), epochs=2, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    saved = {k: _values(v) for k, v in training_state(gan).items()}
    assert set(saved) == {"model", "d_optimizer", "g_optimizer", "_d_history", "_g_history"}
    assert int(gan.g_optimizer.iterations) == 4

    fresh = tiny_gan(seed=7, **kwargs)  # Other initial weights and noise.
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    assert backup.restore() == 2
    for key, values in training_state(fresh).items():
        _assert_same(saved[key], _values(values))


def test_failed_backup_write_leaves_the_previous_backup_loadable(tmp_path):
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    after_one = _values(gan.variables)
    # The second backup's index cannot be written: its data file is already on disk.
    os.makedirs(tmp_path / "backup-2.index")
    with pytest.raises(tf.errors.OpError, match="backup-2.index"):
        gan.fit(_data(), epochs=2, verbose=0, callbacks=[tfgan_kit.CrashSafeBackup(tmp_path)])
    assert (tmp_path / "backup-2.data-00000-of-00001").exists()

    fresh = tiny_gan(seed=5)
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    assert backup.restore() == 1
    _assert_same(after_one, _values(fresh.variables))


def test_unreadable_newest_backup_falls_back_to_the_one_before(tmp_path):
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    after_one = _values(gan.variables)
    gan.fit(_data(), epochs=2, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    data_file = tmp_path / "backup-2.data-00000-of-00001"
    data_file.write_bytes(data_file.read_bytes()[:100])  # Truncated, as by a failing disk.

    fresh = tiny_gan(seed=5)
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    with pytest.warns(RuntimeWarning, match="skipped unreadable backups"):
        assert backup.restore() == 1
    _assert_same(after_one, _values(fresh.variables))


def test_finished_run_deletes_only_its_backup_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0, callbacks=[tfgan_kit.CrashSafeBackup(tmp_path)])
    assert os.listdir(tmp_path) == ["notes.txt"]
    assert gan._initial_epoch is None


# ---------------------------------------------------------------- NaN guard


def _poisoned_data(bad_batch=1):
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    x[16 * bad_batch : 16 * (bad_batch + 1)] = np.nan
    return tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)


def _finite(model):
    return all(np.isfinite(w).all() for w in _values(model.weights))


def test_without_the_guard_a_poisoned_batch_ruins_the_weights():
    gan = tiny_gan()
    gan.fit(_poisoned_data(), epochs=1, verbose=0)
    assert not _finite(gan)


def test_guard_undoes_a_poisoned_batch_lowers_the_learning_rates_and_trains_on():
    gan = tiny_gan()
    guard = tfgan_kit.NaNGuard(max_recoveries=3, lr_factor=0.5)
    history = gan.fit(_poisoned_data(), epochs=2, verbose=0, callbacks=[guard])
    assert _finite(gan)
    assert [(e["epoch"], e["batch"]) for e in guard.events] == [(0, 1), (1, 1)]
    assert np.isnan(guard.events[0]["values"]["d_loss"])
    np.testing.assert_allclose(float(gan.d_optimizer.learning_rate), 2e-4 * 0.25, rtol=1e-6)
    np.testing.assert_allclose(float(gan.g_optimizer.learning_rate), 2e-4 * 0.25, rtol=1e-6)
    assert np.isfinite(history.history["d_loss"]).all()  # Metrics reset after each recovery.
    assert guard.stopped_message is None
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


def test_guard_stops_after_max_recoveries_with_its_message_and_finite_weights():
    gan = tiny_gan()
    guard = tfgan_kit.NaNGuard(max_recoveries=2)
    with pytest.warns(RuntimeWarning, match=r"NaNGuard stopped training.*after 2 recoveries"):
        gan.fit(_data(), epochs=5, verbose=0,
                callbacks=[_PoisonWeights(), guard])
    assert len(guard.events) == 2
    assert "Lower the learning rates" in guard.stopped_message
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


# -------------------------------------------------------------- determinism


def _seeded_run(seed):
    tfgan_kit.set_seed(seed)
    data = tfgan_kit.load_dataset("digits", batch_size=32, seed=seed, limit=128)
    gan = tiny_gan(seed=None)  # Initial weights and noise come from set_seed alone.
    gan.fit(data, epochs=2, verbose=0)
    return gan


def test_same_seed_gives_identical_weights_and_another_seed_different_ones():
    first, again, other = _seeded_run(4), _seeded_run(4), _seeded_run(5)
    for key, variables in training_state(first).items():
        _assert_same(_values(variables), _values(training_state(again)[key]))
    for a, b in zip(first.trainable_weights, other.trainable_weights):
        assert not np.array_equal(a.numpy(), b.numpy()), a.path
    with pytest.raises(ValueError, match="seed=-1"):
        tfgan_kit.set_seed(-1)
