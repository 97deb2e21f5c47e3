"""Every data source, the pipeline's shape and range, and each bad input's error."""

import gzip
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from conftest import MNIST_DIR, needs_mnist

import tfgan_kit


def _first_batch(ds):
    return next(iter(ds))


def test_digits_default_is_embedded_scaled_and_drops_the_remainder():
    ds = tfgan_kit.load_dataset("digits", batch_size=64, seed=0)
    assert ds.element_spec.shape.as_list() == [64, 8, 8, 1]
    batches = list(ds)
    assert len(batches) == 1797 // 64
    x = np.concatenate([b.numpy() for b in batches])
    assert x.min() == -1.0 and x.max() == 1.0


def test_labels_come_as_int32_pairs():
    x, y = _first_batch(tfgan_kit.load_dataset("digits", batch_size=16, labels=True))
    assert x.shape == (16, 8, 8, 1) and y.dtype == tf.int32 and y.shape == (16,)


def test_mirror_flips_about_half_of_the_images_and_keeps_their_labels():
    plain = tfgan_kit.load_dataset("digits", batch_size=1797, labels=True, shuffle=False)
    mirrored = tfgan_kit.load_dataset("digits", batch_size=1797, labels=True, shuffle=False,
                                      mirror=True, seed=0)
    (x, y), (m, my) = _first_batch(plain), _first_batch(mirrored)
    np.testing.assert_array_equal(my, y)
    same = np.all(m.numpy() == x.numpy(), axis=(1, 2, 3))
    flipped = np.all(m.numpy() == x.numpy()[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same | flipped)
    flipped_only = flipped & ~same  # a symmetric digit is both
    assert 0.4 < flipped_only.mean() < 0.6
    again = _first_batch(mirrored)[0].numpy()  # a new epoch draws new flips
    assert not np.array_equal(again, m.numpy())
    rebuilt = tfgan_kit.load_dataset("digits", batch_size=1797, labels=True, shuffle=False,
                                     mirror=True, seed=0)
    np.testing.assert_array_equal(_first_batch(rebuilt)[0], m)  # the same seed, the same flips
    assert rebuilt.cardinality() == plain.cardinality()


@needs_mnist
def test_idx_reads_real_mnist_test_set():
    x, y = tfgan_kit.load_arrays(f"idx:{MNIST_DIR}", labels=True, split="test")
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert sorted(np.unique(y)) == list(range(10))
    ds = tfgan_kit.load_dataset(f"idx:{MNIST_DIR}", batch_size=100, limit=1000)
    assert len(list(ds)) == 10


def test_npz_with_uint8_and_float_ranges(tmp_path):
    path = tmp_path / "imgs.npz"
    np.savez(path, x=np.full((10, 4, 4), 255, np.uint8), y=np.arange(10))
    x, y = tfgan_kit.load_arrays(f"npz:{path}", labels=True)
    assert x.shape == (10, 4, 4, 1) and np.all(x == 1.0) and list(y) == list(range(10))
    np.savez(path, images=np.zeros((10, 4, 4, 3), np.float32) + 0.5)
    x, _ = tfgan_kit.load_arrays(f"npz:{path}")
    assert np.allclose(x, 0.0)  # [0, 1] data: 0.5 is the middle.


def test_folder_of_pngs_with_class_subfolders(tmp_path):
    for label in ("a", "b"):
        os.makedirs(tmp_path / label)
        for i in range(3):
            image = np.full((6, 6, 1), 255 * (label == "b"), np.uint8)
            tf.io.write_file(str(tmp_path / label / f"{i}.png"), tf.io.encode_png(image))
    x, y = _first_batch(tfgan_kit.load_dataset(f"folder:{tmp_path}", batch_size=6, labels=True,
                                               shuffle=False))
    assert x.shape == (6, 6, 6, 1)
    assert np.all(x.numpy()[y.numpy() == 0] == -1.0) and np.all(x.numpy()[y.numpy() == 1] == 1.0)


def test_pipelines_train_without_tf_data_autotuning_unless_asked(tmp_path):
    # The autotuner stalled fast steps on 2 cores (benchmarks/step_time.py); every source's
    # pipeline turns it off, still decodes every file, and a user's later option wins.
    tfgan_kit.data.write_image_folder(np.zeros((5, 4, 4, 1), np.float32), str(tmp_path))
    folder = tfgan_kit.load_dataset(f"folder:{tmp_path}", batch_size=1, shuffle=False)
    assert len(list(folder)) == 5
    with tfds.testing.mock_data(num_examples=4):
        tfds_ds = tfgan_kit.load_dataset("mnist", batch_size=2)
    stacked = tfgan_kit.load_dataset("stacked:digits", batch_size=2, limit=4)
    for ds in (tfgan_kit.load_dataset("digits"), folder, tfds_ds, stacked, folder.map(tf.abs)):
        assert ds.options().autotune.enabled is False
    options = tf.data.Options()
    options.autotune.enabled = True
    assert folder.with_options(options).options().autotune.enabled is True


def test_tfds_by_name_with_mock_data():
    with tfds.testing.mock_data(num_examples=20):
        x, y = _first_batch(tfgan_kit.load_dataset("mnist", batch_size=8, labels=True))
    assert x.shape == (8, 28, 28, 1) and y.shape == (8,)
    assert -1.0 <= x.numpy().min() and x.numpy().max() <= 1.0


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown dataset 'no_such_dataset'"):
        tfgan_kit.load_dataset("no_such_dataset")


@pytest.mark.parametrize("prefix", ["idx", "folder", "npz"])
def test_missing_paths_are_named(prefix, tmp_path):
    with pytest.raises(ValueError, match=f"{prefix}:.*missing"):
        tfgan_kit.load_dataset(f"{prefix}:{tmp_path}/missing")


def test_empty_nan_and_wrong_rank_data_are_rejected(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((0, 8, 8), np.float32))
    with pytest.raises(ValueError, match="holds no images"):
        tfgan_kit.load_dataset(f"npz:{path}")
    bad = np.zeros((10, 8, 8), np.float32)
    bad[3, 2, 2] = np.nan
    np.savez(path, x=bad)
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        tfgan_kit.load_dataset(f"npz:{path}")
    np.savez(path, x=np.zeros((10, 8), np.float32))
    with pytest.raises(ValueError, match=r"shape \(10, 8\)"):
        tfgan_kit.load_dataset(f"npz:{path}")
    np.savez(path, x=np.full((10, 8, 8), 1000.0, np.float32))
    with pytest.raises(ValueError, match="value_range"):
        tfgan_kit.load_dataset(f"npz:{path}")


def test_batch_larger_than_data_and_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="fewer than batch_size=4096"):
        tfgan_kit.load_dataset("digits", batch_size=4096)
    with pytest.raises(ValueError, match="no image files"):
        tfgan_kit.load_dataset(f"folder:{tmp_path}")


def test_corrupt_idx_file_is_named(tmp_path):
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x02\x00\x00\x00\x02abc")
    with pytest.raises(ValueError, match="truncated"):
        tfgan_kit.load_dataset(f"idx:{tmp_path}")
