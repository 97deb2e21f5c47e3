"""copy_matching_weights: a trained half-size pair's shared layers carried into the full-size pair."""

import keras
import numpy as np
import pytest
from conftest import same, values

import tfgan_kit
from tfgan_kit.nets import copy_matching_weights
from tfgan_kit.nets.growing import _weighted_layers as _weighted


def _same(a, b) -> bool:
    """Two layers' weights are bitwise equal."""
    return same(values(a.weights), values(b.weights))


def _trained_like(model, seed=1):
    """Every weight moved off its initialization, as training would (BN statistics too: positive)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.uniform(0.1, 1.0, size=w.shape).astype(w.dtype))
    return model


def test_a_generator_grown_at_the_image_end_starts_from_the_smaller_ones_coarse_blocks():
    small = _trained_like(tfgan_kit.resnet_generator((32, 32, 3), 16, width=32, min_width=8))
    large = tfgan_kit.resnet_generator((64, 64, 3), 16, width=32, min_width=4)
    fresh = [[w.numpy() for w in layer.weights] for layer in _weighted(large)]
    copied = copy_matching_weights(small, large)
    # z's projection and three up blocks of 5 layers; then the small G's last BN meets the new
    # block's first BN (both over 8 channels), and its 3-channel output conv the new block's conv.
    assert copied == 1 + 3 * 5 + 1
    ours, theirs = _weighted(small), _weighted(large)
    assert all(_same(a, b) for a, b in zip(ours[:copied], theirs[:copied]))
    assert all(np.array_equal(w.numpy(), f) for layer, kept in zip(theirs[copied:], fresh[copied:])
               for w, f in zip(layer.weights, kept))
    # The grown G's 32 px features are the small G's: same z, same activations.
    z = keras.random.normal((4, 16), seed=0)

    def block3(g):
        return keras.Model(g.input, [l for l in g.layers if isinstance(l, keras.layers.Add)][2].output)

    np.testing.assert_allclose(block3(small)(z, training=False), block3(large)(z, training=False),
                               rtol=1e-5, atol=1e-5)


def test_a_discriminator_grown_at_the_image_end_keeps_its_logit_and_coarse_blocks():
    small = _trained_like(tfgan_kit.resnet_discriminator((32, 32, 3), width=32, min_width=8))
    large = tfgan_kit.resnet_discriminator((64, 64, 3), width=32, min_width=4)
    copied = copy_matching_weights(small, large, from_end="output")
    # The readout, then 3 blocks from the logit back (2 + 3 + 3 convolutions); the small D's
    # first block reads 3 image channels where the large D's second block reads 4 features.
    assert copied == 1 + 2 + 3 + 3
    assert all(_same(a, b) for a, b in zip(_weighted(small)[::-1][:copied], _weighted(large)[::-1][:copied]))
    assert not _same(_weighted(small)[0], _weighted(large)[0])


def test_networks_that_share_nothing_at_that_end_copy_nothing():
    small = _trained_like(tfgan_kit.resnet_generator((32, 32, 3), 16, width=32))
    large = tfgan_kit.resnet_generator((64, 64, 3), 16, width=64)  # z's projection differs
    before = [w.numpy() for w in large.weights]
    assert copy_matching_weights(small, large) == 0
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(large.weights, before))


def test_an_unknown_end_is_refused():
    g = tfgan_kit.resnet_generator((16, 16, 3), 8, width=8)
    with pytest.raises(ValueError, match="from_end='middle'"):
        copy_matching_weights(g, g, from_end="middle")
