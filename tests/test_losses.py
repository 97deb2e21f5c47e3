"""Each loss against a hand computation on fixed logits."""

import numpy as np
import pytest

from tfgan_kit import losses

REAL = np.array([[2.0], [-1.0], [0.5]], np.float32)
FAKE = np.array([[0.5], [-3.0], [1.5]], np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


def bce(logits, target):
    p = 1.0 / (1.0 + np.exp(-logits))
    return np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p)))


def test_bce_discriminator_loss_matches_hand_computation():
    expected = np.mean(softplus(-REAL)) + np.mean(softplus(FAKE))
    np.testing.assert_allclose(losses.minimax_loss_dis(REAL, FAKE), expected, rtol=1e-6)


def test_non_saturating_and_minimax_generator_losses():
    np.testing.assert_allclose(losses.ns_loss_gen(FAKE), np.mean(softplus(-FAKE)), rtol=1e-6)
    np.testing.assert_allclose(losses.minimax_loss_gen(FAKE), -np.mean(softplus(FAKE)), rtol=1e-6)


def test_one_sided_label_smoothing_moves_only_the_real_target():
    smoothed = losses.minimax_loss_dis(REAL, FAKE, real_target=0.9)
    np.testing.assert_allclose(smoothed, bce(REAL, 0.9) + bce(FAKE, 0.0), rtol=1e-5)
    # The fake half is the same as unsmoothed: only the real half changed.
    fake_only = losses.minimax_loss_dis(np.full_like(REAL, 30.0), FAKE, real_target=1.0)
    np.testing.assert_allclose(fake_only, bce(FAKE, 0.0), rtol=1e-5, atol=1e-6)


def test_hinge_least_squares_and_wasserstein():
    np.testing.assert_allclose(
        losses.hinge_loss_dis(REAL, FAKE),
        np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)), rtol=1e-6)
    np.testing.assert_allclose(losses.hinge_loss_gen(FAKE), -np.mean(FAKE), rtol=1e-6)
    np.testing.assert_allclose(
        losses.least_squares_loss_dis(REAL, FAKE),
        0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE ** 2), rtol=1e-6)
    np.testing.assert_allclose(
        losses.least_squares_loss_gen(FAKE), 0.5 * np.mean((FAKE - 1) ** 2), rtol=1e-6)
    np.testing.assert_allclose(
        losses.wasserstein_loss_dis(REAL, FAKE), np.mean(FAKE) - np.mean(REAL), rtol=1e-6)
    np.testing.assert_allclose(losses.wasserstein_loss_gen(FAKE), -np.mean(FAKE), rtol=1e-6)


def test_get_by_name_pair_and_errors():
    assert losses.get("hinge") == (losses.hinge_loss_dis, losses.hinge_loss_gen)
    pair = (losses.hinge_loss_dis, losses.ns_loss_gen)
    assert losses.get(pair) == pair
    with pytest.raises(ValueError, match="Unknown GAN loss 'bce'"):
        losses.get("bce")
    with pytest.raises(ValueError, match="pair of callables"):
        losses.get(42)


def test_relativistic_pairing_loss_by_hand():
    # D: softplus(-(D(x) - D(G(z)))) per pair; G: the mirror.
    np.testing.assert_allclose(losses.relativistic_loss_dis(REAL, FAKE),
                               np.mean(softplus(-(REAL - FAKE))), rtol=1e-6)
    np.testing.assert_allclose(losses.relativistic_loss_gen(FAKE, REAL),
                               np.mean(softplus(-(FAKE - REAL))), rtol=1e-6)
    # Pairs, not means: swapping two fakes changes the loss.
    swapped = FAKE[[1, 0, 2]]
    assert not np.isclose(losses.relativistic_loss_dis(REAL, swapped),
                          losses.relativistic_loss_dis(REAL, FAKE))
    assert losses.get("relativistic") == (losses.relativistic_loss_dis, losses.relativistic_loss_gen)
    assert losses.takes_real_logits(losses.relativistic_loss_gen)
    assert not losses.takes_real_logits(losses.ns_loss_gen)
