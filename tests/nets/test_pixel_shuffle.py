"""PixelShuffle / PixelUnshuffle: the pixel layout, the inverse, and the ResNet builders'
`pixel_shuffle` (networks at a fraction of the image's size)."""

import keras
import numpy as np
import pytest

import tfgan_kit
from tfgan_kit.nets import PixelShuffle, PixelUnshuffle

LATENT = 8


def test_each_position_unfolds_into_a_block_of_pixels_and_folds_back():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 12)).astype(np.float32)
    out = np.asarray(PixelShuffle(2)(x))
    assert out.shape == (2, 6, 8, 3) == PixelShuffle(2).compute_output_shape((2, 3, 4, 12))
    for dy in range(2):
        for dx in range(2):  # pixel (2i + dy, 2j + dx) holds channel group 2 dy + dx of (i, j)
            group = 2 * dy + dx
            np.testing.assert_array_equal(out[:, dy::2, dx::2], x[..., 3 * group:3 * group + 3])
    np.testing.assert_array_equal(PixelUnshuffle(2)(out), x)
    assert PixelUnshuffle(2).compute_output_shape((None, 6, 8, 3)) == (None, 3, 4, 12)
    assert PixelShuffle(3)(np.zeros((1, 2, 2, 18), np.float32)).shape == (1, 6, 6, 2)


def test_layers_serialize_and_refuse_what_they_cannot_fold():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, PixelShuffle(2)(PixelUnshuffle(2)(inputs)))
    clone = keras.Model.from_config(model.get_config())
    assert [l.factor for l in clone.layers[1:]] == [2, 2]
    for layer in (PixelShuffle, PixelUnshuffle):
        with pytest.raises(ValueError, match="factor=1; expected an int >= 2"):
            layer(1)
    with pytest.raises(ValueError, match="received 6 channels; expected a multiple of factor\\*\\*2 = 4"):
        PixelShuffle(2)(keras.Input((4, 4, 6)))
    with pytest.raises(ValueError, match="received images of 5x6; expected sides divisible by 2"):
        PixelUnshuffle(2)(keras.Input((5, 6, 3)))


def test_pixel_shuffle_runs_both_networks_at_half_size():
    g = tfgan_kit.resnet_generator((64, 64, 3), LATENT, width=32, min_width=16, pixel_shuffle=2)
    d = tfgan_kit.resnet_discriminator((64, 64, 3), width=32, pixel_shuffle=2)
    # The 32 px pair's blocks (the CIFAR design: 3 up blocks in G, D down to 8x8 then 2 more),
    # G's last convolution drawing 4x3 channels a position, D reading 12.
    small_g = tfgan_kit.resnet_generator((32, 32, 3), LATENT, width=32, min_width=16)
    small_d = tfgan_kit.resnet_discriminator((32, 32, 3), width=32)
    convs = lambda model: [getattr(l, "layer", l).filters for l in model.layers
                           if isinstance(getattr(l, "layer", l), keras.layers.Conv2D)]
    assert convs(g) == convs(small_g)[:-1] + [12]
    assert convs(d) == convs(small_d)
    assert max(l.output.shape[1] for l in g.layers[:-2] if len(l.output.shape) == 4) == 32
    assert g.output.shape[1:] == (64, 64, 3) and d.input.shape[1:] == (64, 64, 3)
    assert d.layers[1].output.shape[1:] == (32, 32, 12)
    images = g(keras.random.normal((2, LATENT), seed=0), training=False)
    assert images.shape == (2, 64, 64, 3) and np.all(np.abs(images) <= 1)
    assert d(images).shape == (2, 1)
    # Every pixel reaches D: changing one changes the logit.
    x = np.zeros((1, 64, 64, 3), np.float32)
    y = x.copy()
    y[0, 63, 63, 2] = 1.0
    assert float(d(x)[0, 0]) != float(d(y)[0, 0])


@pytest.mark.parametrize("builder", [tfgan_kit.resnet_generator, tfgan_kit.resnet_discriminator])
def test_a_pixel_shuffle_that_leaves_too_few_pixels_is_refused(builder):
    with pytest.raises(ValueError, match=f"{builder.__name__} with pixel_shuffle=4 received image size 8"):
        builder((32, 32, 3), pixel_shuffle=4)
    with pytest.raises(ValueError, match="pixel_shuffle=0; expected an int >= 1"):
        builder((32, 32, 3), pixel_shuffle=0)
