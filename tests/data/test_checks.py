"""Bad input is refused before training: a clear exception naming the problem and the fix,
and nothing already on disk touched. One test per bad input."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, tiny_gan

import tfgan_kit
from tfgan_kit.data import checks as validation


@pytest.fixture(scope="module")
def gan():
    return tiny_gan()


@pytest.fixture(scope="module")
def cgan():
    return tiny_gan(num_classes=10)


def _images(n=64, shape=(8, 8, 1), low=-1.0, high=1.0, dtype="float32"):
    return np.random.default_rng(0).uniform(low, high, (n,) + shape).astype(dtype)


def _batched(*arrays, batch=16):
    data = arrays[0] if len(arrays) == 1 else arrays
    return tf.data.Dataset.from_tensor_slices(data).batch(batch, drop_remainder=True)


def _snapshot(root):
    return {
        os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(root) for f in files
    }


def _assert_refused(tmp_path, model, x, match, y=None, **fit_kwargs):
    """fit raises ValueError(match) and the files of a previous run stay as they were."""
    (tmp_path / "log.csv").write_text("epoch,d_loss\n0,1.25\n")
    (tmp_path / "samples").mkdir(exist_ok=True)
    (tmp_path / "samples" / "epoch_001.png").write_bytes(b"previous grid")
    before = _snapshot(tmp_path)
    callbacks = [  # Each would write on its first hook if training started.
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),  # Truncates at train begin.
        tfgan_kit.SampleGrid(str(tmp_path / "samples"), num_samples=4),
        tfgan_kit.CrashSafeBackup(str(tmp_path / "backup")),
    ]
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, verbose=0, callbacks=callbacks, **fit_kwargs)
    assert _snapshot(tmp_path) == before


def test_unbatched_dataset(gan, tmp_path):
    data = tf.data.Dataset.from_tensor_slices(_images())
    _assert_refused(tmp_path, gan, data, r"single images of shape \(8, 8, 1\).*\.batch\(")


def test_wrong_rank(gan, tmp_path):
    flat = _images().reshape(64, 64)
    _assert_refused(tmp_path, gan, _batched(flat), r"rank 2.*takes batches of shape")


def test_wrong_channel_count(gan, tmp_path):
    rgb = _images(shape=(8, 8, 3))
    _assert_refused(tmp_path, gan, _batched(rgb), r"3 channels.*takes 1.*rgb_to_grayscale")


def test_wrong_image_size(gan, tmp_path):
    big = _images(shape=(16, 16, 1))
    _assert_refused(tmp_path, gan, _batched(big),
                    r"shape \(16, 16, 16, 1\).*takes \(None, 8, 8, 1\).*Resize")


def test_integer_pixels(gan, tmp_path):
    pixels = _images(low=0, high=255, dtype="uint8")
    _assert_refused(tmp_path, gan, _batched(pixels), r"uint8 images.*/ 127.5 - 1")


def test_array_input_is_checked_too(gan, tmp_path):
    _assert_refused(tmp_path, gan, _images(shape=(8, 8, 3)), r"array passed to GAN.fit.*3 channels",
                    batch_size=16)


def test_evaluate_is_checked_too(gan):
    with pytest.raises(ValueError, match=r"GAN.evaluate.*3 channels"):
        gan.evaluate(_images(shape=(8, 8, 3)), batch_size=16, verbose=0)


def test_non_finite_pixels(gan, tmp_path):
    x = _images()
    x[3, 2, 2, 0] = np.nan
    x[5, 1, 1, 0] = np.inf
    _assert_refused(tmp_path, gan, _batched(x), r"2 NaN or infinite pixel values")


def test_pixels_in_0_255_for_a_tanh_generator(gan, tmp_path):
    x = _images(low=0, high=255)
    _assert_refused(tmp_path, gan, _batched(x),
                    r"values in \[0.*, 25\d.*\].*outputs \[-1, 1\].*/ 127.5 - 1")


def test_pixels_in_0_1_for_a_tanh_generator_warn(gan):
    with pytest.warns(UserWarning, match=r"half its range.*x \* 2 - 1"):
        validation.check_data(gan, _batched(_images(low=0, high=1)))
    validation.check_data(gan, _batched(_images()))  # [-1, 1]: silent.


def test_unbounded_generator_skips_the_range_check():
    gan = tfgan_kit.GAN(tfgan_kit.mlp_generator(2, 4), tfgan_kit.mlp_discriminator(2), latent_dim=4)
    validation.check_data(gan, np.full((32, 2), 4.0, "float32"))  # Raw 2-D mixture coordinates.


def test_empty_dataset(gan, tmp_path):
    empty = _batched(_images()).filter(lambda x: False)  # Unknown length: found by one read.
    _assert_refused(tmp_path, gan, empty, r"yields no batches: it is empty")


def test_batch_larger_than_the_dataset_with_drop_remainder(gan, tmp_path):
    _assert_refused(tmp_path, gan, _batched(_images(10), batch=64),
                    r"fewer examples than one batch.*Lower batch_size")


def test_endless_dataset_without_steps_per_epoch(gan, tmp_path):
    endless = _batched(_images()).repeat()
    _assert_refused(tmp_path, gan, endless, r"repeats forever.*steps_per_epoch")


def test_zero_steps_per_epoch(gan, tmp_path):
    _assert_refused(tmp_path, gan, _batched(_images()), r"received 0 steps", steps_per_epoch=0)


def test_latent_size_mismatch():
    generator = tfgan_kit.dcgan_generator((8, 8, 1), latent_dim=16, width=8)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(None, 16\).*latent_dim=32"):
        tfgan_kit.GAN(generator, tfgan_kit.dcgan_discriminator((8, 8, 1), width=8), latent_dim=32)


def test_labels_given_to_an_unconditional_gan(gan, tmp_path):
    data = _batched(_images(), np.zeros(64, "int32"))
    _assert_refused(tmp_path, gan, data, r"unconditional.*map\(lambda x, y: x\).*num_classes=")


def test_labels_missing_for_a_conditional_gan(cgan, tmp_path):
    _assert_refused(tmp_path, cgan, _batched(_images()),
                    r"conditional \(num_classes=10\).*labels=True")


def test_labels_outside_the_classes(cgan, tmp_path):
    data = _batched(_images(), np.full(64, 10, "int32"))
    _assert_refused(tmp_path, cgan, data, r"labels in \[10, 10\].*\[0, 9\]")


def test_one_hot_labels(cgan, tmp_path):
    data = _batched(_images(), np.eye(10, dtype="int32")[np.arange(64) % 10])
    _assert_refused(tmp_path, cgan, data, r"labels of shape \(16, 10\).*tf.argmax")


def test_output_path_under_a_file_is_unwritable(tmp_path):
    (tmp_path / "file.txt").write_text("keep")
    with pytest.raises(ValueError, match=r"--output_dir '.*file.txt/run' is not writable"):
        validation.check_writable_dir(str(tmp_path / "file.txt" / "run"), "--output_dir")
    assert (tmp_path / "file.txt").read_text() == "keep"


@pytest.mark.slow
def test_example_refuses_an_output_dir_that_is_a_file(tmp_path):
    target = tmp_path / "results"
    target.write_text("a previous run's results")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), "--epochs=1",
         "--limit=64", "--width=8", "--latent_dim=16", f"--output_dir={target}"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode != 0
    assert "is an existing file, not a directory" in result.stderr
    assert "Epoch 1/1" not in result.stdout
    assert target.read_text() == "a previous run's results"


def test_check_data_false_skips_the_check(gan):
    pixels = _images(low=0, high=255)  # Refused above; accepted when the caller opts out.
    logs = gan.evaluate(pixels, batch_size=16, verbose=0, return_dict=True, check_data=False)
    assert np.isfinite(logs["d_loss"])
