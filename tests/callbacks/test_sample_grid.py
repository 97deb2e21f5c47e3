"""SampleGrid: PNG grids from fixed noise and TensorBoard image summaries."""

import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import digits, tiny_gan

import tfgan_kit
from tfgan_kit.callbacks import SampleGrid

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


@pytest.mark.slow
def test_sample_grid_writes_pngs_and_a_tensorboard_image_summary(tmp_path):
    gan = tiny_gan()
    grids = SampleGrid(str(tmp_path / "png"), num_samples=16, scale=2,
                                 log_dir=str(tmp_path / "tb"))
    gan.fit(digits(limit=128), epochs=2, verbose=0, callbacks=[grids])
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
