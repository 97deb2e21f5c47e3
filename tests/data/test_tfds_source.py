"""TFDS sources at the requested shape (mock data: nothing is downloaded), and a short typo error."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfgan_kit


def test_celeb_a_at_64_pixels_from_mock_data():
    with tfds.testing.mock_data(num_examples=8):
        ds = tfgan_kit.load_dataset("celeb_a", batch_size=4, image_size=64)
        batch = next(iter(ds)).numpy()
    assert batch.shape == (4, 64, 64, 3) and -1.0 <= batch.min() and batch.max() <= 1.0


def test_non_square_tfds_images_without_image_size_name_the_argument():
    with tfds.testing.mock_data(num_examples=8):
        with pytest.raises(ValueError, match=r"218x178.*image_size=64"):
            tfgan_kit.load_dataset("celeb_a", batch_size=4)


def test_mnist_in_color_at_32_pixels():
    with tfds.testing.mock_data(num_examples=8):
        batch = next(iter(tfgan_kit.load_dataset("mnist", 4, image_size=32, channels=3))).numpy()
    assert batch.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(batch[..., 0], batch[..., 2])  # gray repeated


def test_a_typo_gets_a_short_message_with_the_likely_name():
    with pytest.raises(ValueError) as error:
        tfgan_kit.load_dataset("mnsit")
    message = str(error.value)
    assert "did you mean 'mnist'" in message.lower()
    assert len(message) < 600 and message.count("\n") <= 3
