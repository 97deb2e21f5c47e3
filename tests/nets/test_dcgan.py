"""Builders: every supported size and channel count, conditional variants, float32 ends."""

import keras
import numpy as np
import pytest

import tfgan_kit


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_size(size, channels):
    g = tfgan_kit.dcgan_generator((size, size, channels), latent_dim=8, width=4)
    d = tfgan_kit.dcgan_discriminator((size, size, channels), width=4)
    images = g(np.zeros((2, 8), np.float32))
    assert images.shape == (2, size, size, channels)
    assert d(images).shape == (2, 1)


@pytest.mark.parametrize("upsampling", ["transpose", "nearest", "bilinear"])
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_generator_options(upsampling, norm):
    g = tfgan_kit.dcgan_generator((16, 16, 1), 8, width=4, norm=norm, upsampling=upsampling)
    assert g(np.ones((2, 8), np.float32)).shape == (2, 16, 16, 1)


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "layer", "spectral"])
def test_discriminator_norms(norm):
    d = tfgan_kit.dcgan_discriminator((16, 16, 1), width=4, norm=norm)
    assert d(np.ones((2, 16, 16, 1), np.float32), training=True).shape == (2, 1)
    if norm == "spectral":
        assert any(isinstance(l, keras.layers.SpectralNormalization) for l in d.layers)


def test_generator_follows_dcgan_guidelines():
    g = tfgan_kit.dcgan_generator((28, 28, 1), 16)
    kinds = [type(l).__name__ for l in g.layers]
    assert "BatchNormalization" in kinds and "MaxPooling2D" not in kinds
    assert g.layers[-1].activation.__name__ == "tanh"
    d = tfgan_kit.dcgan_discriminator((28, 28, 1))
    assert any(isinstance(l, keras.layers.LeakyReLU) for l in d.layers)
    assert sum(isinstance(l, keras.layers.Dense) for l in d.layers) == 1  # Readout only.


def test_mixed_precision_keeps_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    g = tfgan_kit.dcgan_generator((16, 16, 1), 8, width=4)
    d = tfgan_kit.dcgan_discriminator((16, 16, 1), width=4)
    images = g(np.zeros((2, 8), np.float32))
    assert images.dtype == "float32" and d(images).dtype == "float32"
    assert all(w.dtype == "float32" for w in g.weights)


def test_conditional_and_mlp_builders():
    g = tfgan_kit.dcgan_generator((8, 8, 1), 8, width=4, num_classes=10)
    d = tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, num_classes=10)
    labels = keras.ops.convert_to_tensor(np.array([1, 2], np.int32))
    images = g([keras.ops.zeros((2, 8)), labels])
    assert d([images, labels]).shape == (2, 1)
    g2, d2 = tfgan_kit.mlp_generator(2, 4), tfgan_kit.mlp_discriminator(2, norm="spectral")
    assert d2(g2(np.zeros((3, 4), np.float32))).shape == (3, 1)


def test_bad_shapes_and_choices():
    with pytest.raises(ValueError, match="square"):
        tfgan_kit.dcgan_generator((8, 16, 1))
    with pytest.raises(ValueError, match="image size 7"):
        tfgan_kit.dcgan_discriminator((7, 7, 1))
    with pytest.raises(ValueError, match="upsampling='cubic'"):
        tfgan_kit.dcgan_generator((8, 8, 1), upsampling="cubic")


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("upsampling", ["nearest", "bilinear"])
def test_resize_convolution_generators_have_every_size_and_train(size, upsampling):
    g = tfgan_kit.dcgan_generator((size, size, 1), 8, width=4, upsampling=upsampling)
    assert not any(isinstance(l, keras.layers.Conv2DTranspose) and l.strides != (1, 1)
                   for l in g.layers)  # Resizing does the upsampling, not strided kernels.
    gan = tfgan_kit.GAN(g, tfgan_kit.dcgan_discriminator((size, size, 1), width=4), latent_dim=8)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)  # One step: skip tracing.
    before = [w.numpy().copy() for w in g.trainable_weights]
    logs = gan.train_on_batch(np.zeros((4, size, size, 1), np.float32), return_dict=True)
    assert np.isfinite(logs["g_loss"])
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, g.trainable_weights))


def test_spectral_norm_keeps_the_label_projection_and_float32_logits():
    # SpectralNormalization casts to its input's dtype: int32 labels once zeroed the class
    # embeddings (labels ignored) and bfloat16 features gave bfloat16 logits.
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    d = tfgan_kit.dcgan_discriminator((8, 8, 1), width=8, norm="spectral", num_classes=3, dropout=0)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
    zeros, twos = d([images, np.zeros(4, "int32")]), d([images, np.full(4, 2, "int32")])
    assert zeros.dtype == "float32"
    assert not np.allclose(zeros, twos)
    plain = tfgan_kit.dcgan_discriminator((8, 8, 1), width=8, norm="spectral")
    assert plain(images).dtype == "float32"
