"""SNGAN ResNet builders: every size and channel count, spectral norm, float32 ends,
projection and class-conditional batch norm, training, save/load, bad sizes."""

import keras
import numpy as np
import pytest

import tfgan_kit

LATENT = 8
ADAM = dict(learning_rate=2e-4, beta_1=0.0, beta_2=0.9)  # SNGAN's optimizer.


def _nets(size=32, channels=3, num_classes=None, width=8):
    g = tfgan_kit.resnet_generator(
        (size, size, channels), LATENT, width=width, num_classes=num_classes)
    d = tfgan_kit.resnet_discriminator((size, size, channels), width=width, num_classes=num_classes)
    return g, d


def _labels(values):
    return keras.ops.convert_to_tensor(np.asarray(values, np.int32))


def _convs(model, kernel_size=3):
    """Filters of the model's kernel_size convolutions, in order (unwrapping spectral norm)."""
    convs = [getattr(l, "layer", l) for l in model.layers]
    return [c.filters for c in convs
            if isinstance(c, keras.layers.Conv2D) and c.kernel_size == (kernel_size,) * 2]


def _hinge_gan(g, d, num_classes=None, d_steps=1):
    gan = tfgan_kit.GAN(g, d, latent_dim=LATENT, num_classes=num_classes, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(**ADAM), g_optimizer=keras.optimizers.Adam(**ADAM),
                loss="hinge", d_steps=d_steps, run_eagerly=True)  # A few steps: skip tracing.
    return gan


@pytest.mark.parametrize("size, up_blocks", [(32, 3), (64, 4), (128, 5)])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(size, up_blocks, channels):
    g, d = _nets(size, channels, width=16)
    images = g(keras.random.normal((2, LATENT), seed=0))
    assert images.shape == (2, size, size, channels)
    assert np.all(np.abs(images) <= 1.0)  # tanh.
    assert d(images).shape == (2, 1)
    upsamplings = sum(isinstance(l, keras.layers.UpSampling2D) for l in g.layers)
    assert upsamplings == 2 * up_blocks  # Residual branch and shortcut of every block.


def test_widths_follow_the_cifar_and_imagenet_designs():
    g32, d32 = _nets(32, width=16)
    assert set(_convs(g32)[:-1]) == {16} and set(_convs(d32)) == {16}  # One width throughout.
    g128, d128 = _nets(128, width=32)
    # Two 3x3 convolutions a block; G ends in the image's conv, D's blocks start at their input.
    assert _convs(g128)[:-1:2] == [32, 16, 8, 4, 2] and _convs(g128)[-1] == 3
    assert _convs(d128)[1::2] == [2, 4, 8, 16, 32, 32]
    features = {32: (8, 8), 64: (4, 4), 128: (4, 4)}  # D's last map: CIFAR 8x8, ImageNet 4x4.
    for size, (h, w) in features.items():
        d = d32 if size == 32 else d128 if size == 128 else _nets(64, width=32)[1]
        relu = [l for l in d.layers if isinstance(l, keras.layers.ReLU)][-1]
        assert tuple(relu.output.shape[1:3]) == (h, w)


def test_min_width_tapers_both_networks_at_any_size():
    # 32 px: G's blocks halve 128 down to 32 towards the image; D at width 32 stays at 32.
    g = tfgan_kit.resnet_generator((32, 32, 3), LATENT, width=128, min_width=32)
    assert _convs(g) == [128, 128, 64, 64, 32, 32, 3]  # two 3x3 convolutions a block, then the image's
    assert g(keras.random.normal((2, LATENT), seed=0)).shape == (2, 32, 32, 3)
    d = tfgan_kit.resnet_discriminator((32, 32, 3), width=32, min_width=32)
    assert set(_convs(d)) == {32}
    # 64 px: the floor replaces the ImageNet design's width / 16 (8 channels); the halvings
    # are the blocks nearest the image, as in that design.
    g64 = tfgan_kit.resnet_generator((64, 64, 3), LATENT, width=128, min_width=32)
    assert _convs(g64)[:-1:2] == [128, 128, 64, 32]
    d64 = tfgan_kit.resnet_discriminator((64, 64, 3), width=32, min_width=32)
    assert set(_convs(d64)) == {32}
    # Widths that are not powers of two keep the design's halvings.
    assert _convs(tfgan_kit.resnet_discriminator((64, 64, 3), width=24))[1::2] == [1, 3, 6, 12, 24]
    with pytest.raises(ValueError, match="min_width=0; expected >= 1"):
        tfgan_kit.resnet_generator((32, 32, 3), LATENT, min_width=0)


@pytest.mark.parametrize("num_classes", [None, 4])
def test_output_skips_sum_an_image_from_every_resolution(num_classes):
    g = tfgan_kit.resnet_generator((32, 32, 3), LATENT, width=16, num_classes=num_classes,
                                   output_skips=True)
    rgb = [l for l in g.layers if isinstance(l, keras.layers.Conv2D) and l.kernel_size == (1, 1)
           and l.filters == 3]
    assert [l.output.shape[1] for l in rgb] == [4, 8, 16, 32]  # One image a resolution, no conv3x3 image.
    assert _convs(g)[-1] == 16
    z = keras.random.normal((2, LATENT), seed=0)
    inputs = [z, _labels([0, 3])] if num_classes else z
    parts = keras.Model(g.inputs, [l.output for l in rgb])(inputs, training=False)
    total = parts[0]
    for part in parts[1:]:
        total = keras.layers.UpSampling2D(2, interpolation="bilinear")(total) + part
    np.testing.assert_allclose(g(inputs, training=False), np.tanh(total), atol=1e-5)
    clone = keras.Model.from_config(g.get_config())
    clone.set_weights(g.get_weights())
    np.testing.assert_array_equal(clone(inputs, training=False), g(inputs, training=False))


def test_discriminator_is_spectrally_normalized_throughout_and_generator_batch_normalized():
    g, d = _nets(32, num_classes=4)
    wrapped = [l.layer for l in d.layers if isinstance(l, keras.layers.SpectralNormalization)]
    bare = [l for l in d.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense,
                                                  keras.layers.Embedding))]
    # 2 convs a block (4 blocks), 1x1 shortcuts of the 2 halving blocks, readout and embedding.
    assert len(wrapped) == 12 and bare == []
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in g.layers)
    assert not any(isinstance(l, keras.layers.SpectralNormalization) for l in g.layers)


@pytest.mark.parametrize("num_classes", [None, 4])
def test_mixed_bfloat16_keeps_images_logits_and_weights_float32(num_classes):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    g, d = _nets(32, num_classes=num_classes)
    z, labels = keras.random.normal((2, LATENT), seed=0), _labels([0, 3])
    images = g(z if num_classes is None else [z, labels], training=True)
    logits = d(images if num_classes is None else [images, labels], training=True)
    assert images.dtype == "float32" and logits.dtype == "float32"
    assert any(l.compute_dtype == "bfloat16" for l in d.layers)  # The body does run in bfloat16.
    assert all(w.dtype == "float32" for w in g.weights + d.weights)


def test_projection_changes_the_logit_with_the_label():
    _, d = _nets(32, num_classes=4)
    images = keras.random.uniform((4, 32, 32, 3), -1, 1, seed=0)
    same = d([images, _labels([0, 1, 2, 3])]).numpy()
    other = d([images, _labels([1, 2, 3, 0])]).numpy()
    assert same.shape == (4, 1)
    # Far above float noise: the class embeddings are not truncated to integers on the way.
    assert np.all(np.abs(same - other) > 1e-3)


def test_generator_batch_norm_is_class_conditional():
    g, _ = _nets(32, num_classes=4)
    gains = [l for l in g.layers if isinstance(l, keras.layers.Embedding)]
    assert len(gains) == 2 * 2 * 3  # Gain and bias, 2 batch norms a block, 3 blocks.
    rng = np.random.default_rng(0)
    for layer in gains:
        layer.embeddings.assign(1.0 + 0.5 * rng.standard_normal(layer.embeddings.shape))
    z = keras.random.normal((2, LATENT), seed=0)
    a, b = g([z, _labels([0, 0])]).numpy(), g([z, _labels([1, 2])]).numpy()
    assert not np.allclose(a, b, atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("num_classes", [None, 4])
def test_hinge_training_with_five_d_steps_changes_both_networks(num_classes):
    g, d = _nets(32, num_classes=num_classes)
    gan = _hinge_gan(g, d, num_classes, d_steps=5)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    y = None if num_classes is None else rng.integers(0, num_classes, 8).astype("int32")
    before = [w.numpy().copy() for w in g.trainable_weights + d.trainable_weights]
    history = gan.fit(x, y, batch_size=8, epochs=1, verbose=0)  # One step: 5 D and 1 G updates.
    after = [w.numpy() for w in g.trainable_weights + d.trainable_weights]
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    n_g = len(g.trainable_weights)
    assert any(changed[:n_g]) and any(changed[n_g:])
    assert np.mean(changed[:n_g]) > 0.5 and np.mean(changed[n_g:]) > 0.5
    for key in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(history.history[key]))


@pytest.mark.slow
def test_saved_and_loaded_gan_generates_the_same_images(tmp_path):
    g, d = _nets(32, num_classes=4)
    gan = _hinge_gan(g, d, num_classes=4)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    gan.fit(x, rng.integers(0, 4, 8).astype("int32"), batch_size=8, verbose=0)  # Moves BN stats.
    path = str(tmp_path / "sngan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    labels = [0, 1, 2, 3]
    np.testing.assert_array_equal(loaded.generate(4, seed=1, labels=labels),
                                  gan.generate(4, seed=1, labels=labels))
    images = keras.ops.convert_to_tensor(x[:4])
    np.testing.assert_array_equal(loaded.discriminator([images, _labels(labels)]),
                                  gan.discriminator([images, _labels(labels)]))


@pytest.mark.parametrize("size", [8, 28, 48, 96])
def test_sizes_other_than_4_times_a_power_of_two_are_refused(size):
    for builder in (tfgan_kit.resnet_generator, tfgan_kit.resnet_discriminator):
        with pytest.raises(ValueError, match=f"{builder.__name__} received image size {size};"):
            builder((size, size, 3))


def test_non_square_images_are_refused():
    with pytest.raises(ValueError, match="square"):
        tfgan_kit.resnet_generator((32, 64, 3))
    with pytest.raises(ValueError, match="square"):
        tfgan_kit.resnet_discriminator((32, 32))
