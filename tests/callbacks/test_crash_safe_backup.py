"""CrashSafeBackup: a SIGKILLed run resumes to the same weights; backups survive failed writes."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import pytest
import tensorflow as tf
from conftest import REPO, assert_same, digits, tiny_gan, values

import tfgan_kit
from tfgan_kit.callbacks.training_state import training_state

EXAMPLE = os.path.join(REPO, "examples", "train_dcgan.py")
EPOCHS = 6


def _example(out):
    return [sys.executable, EXAMPLE, f"--epochs={EPOCHS}", "--limit=256", "--batch_size=64",
            "--width=8", "--latent_dim=16", "--seed=3", f"--output_dir={out}"]


@pytest.mark.slow
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
    # The message goes through the tfgan_kit logger (absl's handler under app.run: stderr).
    output = (again.stdout + again.stderr).splitlines()
    resumed = [line for line in output if "resuming after epoch" in line]
    assert len(resumed) == 1, again.stdout[-2000:] + again.stderr[-2000:]
    epoch = int(resumed[0].split("resuming after epoch ")[1].split()[0])
    assert 1 <= epoch < EPOCHS
    out, _ = whole.communicate(timeout=300)
    assert whole.returncode == 0, out[-3000:]

    a = keras.models.load_model(tmp_path / "whole" / "gan.keras")
    b = keras.models.load_model(tmp_path / "killed" / "gan.keras")
    assert int(b.d_optimizer.iterations) == int(b.g_optimizer.iterations) == EPOCHS * 4
    # Weights and BatchNorm statistics (a .keras file does not store noise generator states).
    assert_same(values(a.weights), values(b.weights))
    assert_same(values(a.d_optimizer.variables), values(b.d_optimizer.variables))
    assert_same(values(a.g_optimizer.variables), values(b.g_optimizer.variables))
    assert not (tmp_path / "killed" / "backup").exists()  # Deleted once finished.


def _data():
    return tfgan_kit.load_dataset("digits", batch_size=32, seed=0, limit=64)


@pytest.mark.slow
def test_backup_restores_networks_optimizers_ema_noise_histories_and_epoch(tmp_path):
    kwargs = dict(generator_ema=0.9, historical_averaging=0.1)
    gan = tiny_gan(**kwargs)
    gan.fit(_data(), epochs=2, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    saved = {k: values(v) for k, v in training_state(gan).items()}
    assert set(saved) == {"model", "d_optimizer", "g_optimizer", "_d_history", "_g_history"}
    assert int(gan.g_optimizer.iterations) == 4

    fresh = tiny_gan(seed=7, **kwargs)  # Other initial weights and noise.
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    assert backup.restore() == 2
    for key, variables in training_state(fresh).items():
        assert_same(saved[key], values(variables))


def test_a_fit_that_started_at_a_later_epoch_resumes_to_the_same_batches(tmp_path):
    # A grown run's full-size stage: its fit starts at initial_epoch=2 and its dataset is new, so
    # a resume replays the shuffling of the epochs since 2, not since 0. A fresh dataset and GAN
    # stand for a new process (each dataset draws its shuffles from its own seed generator).
    def run(epochs, backup_dir=None):
        keras.utils.set_random_seed(0)
        gan, data = tiny_gan(), _data()
        backups = [] if backup_dir is None else [
            tfgan_kit.CrashSafeBackup(backup_dir, dataset=data, delete_on_finish=False)]
        gan.fit(data, initial_epoch=2, epochs=epochs, verbose=0, callbacks=backups)
        return gan, backups

    whole, _ = run(5)
    run(4, tmp_path)  # stopped after epoch 4
    resumed, [backup] = run(5, tmp_path)
    assert backup.restored_epoch == 4
    assert int(resumed.g_optimizer.iterations) == int(whole.g_optimizer.iterations) == 3 * 2
    assert_same(values(whole.weights), values(resumed.weights))


def test_failed_backup_write_leaves_the_previous_backup_loadable(tmp_path):
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    after_one = values(gan.variables)
    # The second backup's index cannot be written: its data file is already on disk.
    os.makedirs(tmp_path / "backup-2.index")
    with pytest.raises(tf.errors.OpError, match="backup-2.index"):
        gan.fit(_data(), epochs=2, verbose=0, callbacks=[tfgan_kit.CrashSafeBackup(tmp_path)])
    assert (tmp_path / "backup-2.data-00000-of-00001").exists()

    fresh = tiny_gan(seed=5)
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    assert backup.restore() == 1
    assert_same(after_one, values(fresh.variables))


@pytest.mark.slow
def test_unreadable_newest_backup_falls_back_to_the_one_before(tmp_path, caplog):
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    after_one = values(gan.variables)
    gan.fit(_data(), epochs=2, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    data_file = tmp_path / "backup-2.data-00000-of-00001"
    data_file.write_bytes(data_file.read_bytes()[:100])  # Truncated, as by a failing disk.

    fresh = tiny_gan(seed=5)
    backup = tfgan_kit.CrashSafeBackup(tmp_path)
    backup.set_model(fresh)
    with caplog.at_level(logging.WARNING, logger="tfgan_kit"):
        assert backup.restore() == 1
    assert "skipped unreadable backups" in caplog.text
    assert_same(after_one, values(fresh.variables))


def test_finished_run_deletes_only_its_backup_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    gan = tiny_gan()
    gan.fit(_data(), epochs=1, verbose=0, callbacks=[tfgan_kit.CrashSafeBackup(tmp_path)])
    assert os.listdir(tmp_path) == ["notes.txt"]
    assert gan._initial_epoch is None


@pytest.fixture(scope="module")
def gan():
    return tiny_gan()


def _snapshot(root):
    return {
        os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(root) for f in files
    }


@pytest.fixture(scope="module")
def backup_dir(tmp_path_factory):
    """A real backup after one epoch, for the corruption tests to copy and damage."""
    path = tmp_path_factory.mktemp("backup")
    gan = tiny_gan()
    gan.fit(tfgan_kit.load_dataset("digits", batch_size=32, limit=32), epochs=1, verbose=0,
            callbacks=[tfgan_kit.CrashSafeBackup(str(path), delete_on_finish=False)])
    return path


def _refused_resume(backup, model, match):
    before = _snapshot(backup)
    with pytest.raises(ValueError, match=match):
        model.fit(tfgan_kit.load_dataset("digits", batch_size=32, limit=32), epochs=2,
                  verbose=0, callbacks=[tfgan_kit.CrashSafeBackup(str(backup))])
    assert _snapshot(backup) == before


def test_corrupted_backup_file(backup_dir, tmp_path):
    backup = shutil.copytree(backup_dir, tmp_path / "backup")
    data = backup / "backup-1.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:64])
    _refused_resume(backup, tiny_gan(), r"no readable backup.*corrupted.*Delete that directory")


def test_corrupted_backup_index(backup_dir, tmp_path):
    backup = shutil.copytree(backup_dir, tmp_path / "backup")
    (backup / "checkpoint").write_text("not a checkpoint state {")
    _refused_resume(backup, tiny_gan(), r"cannot read the backup index")


def test_backup_of_a_different_model(backup_dir, tmp_path):
    backup = shutil.copytree(backup_dir, tmp_path / "backup")
    _refused_resume(backup, tiny_gan(width=16), r"written by a different model.*shape")


def test_saving_a_backup_prints_no_tensorflow_info_lines(tmp_path, caplog):
    # An absl program shows absl INFO records; TF's saver logged one per save into the progress bar.
    with caplog.at_level(logging.INFO):
        tiny_gan().fit(digits(limit=128), epochs=2, verbose=0,
                       callbacks=[tfgan_kit.CrashSafeBackup(tmp_path, delete_on_finish=False)])
    noisy = [r.getMessage() for r in caplog.records
             if r.name in ("absl", "tensorflow") and r.levelno < logging.WARNING]
    assert noisy == []  # (TF's retracing *warnings* from other tests' functions may appear)
    assert (tmp_path / "checkpoint").exists()
