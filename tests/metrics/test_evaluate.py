"""`evaluate`: every kind of generator, the ranking of real, noise and collapse."""

import numpy as np
import pytest
from conftest import tiny_gan

import tfgan_kit
from tfgan_kit.metrics import evaluation


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


def test_evaluate_ranks_real_above_noise_above_collapse(digits):
    x, _ = digits
    names = ["fid", "precision", "recall", "coverage", "classifier_score", "classes_covered"]
    real = evaluation.evaluate(x[900:], x[:900], metrics=names, verbose=0)
    noise = np.random.default_rng(0).uniform(-1, 1, (897, 8, 8, 1)).astype(np.float32)
    bad = evaluation.evaluate(noise, x[:900], metrics=names, verbose=0)
    collapsed = evaluation.evaluate(np.repeat(x[:1], 897, 0), x[:900], metrics=names, verbose=0)
    assert real["fid"] < 0.1 * min(bad["fid"], collapsed["fid"])
    assert real["recall"] > 0.6 and real["coverage"] > 0.8 and real["classifier_score"] > 9
    assert real["classes_covered"] == 10 and collapsed["classes_covered"] == 1
    assert collapsed["recall"] < 0.01 and collapsed["classifier_score"] == pytest.approx(1, abs=0.01)
    assert bad["precision"] < 0.5 and bad["coverage"] < 0.3
    assert real["num_fake"] == 897 and real["num_real"] == 900 and real["eval_seconds"] > 0


@pytest.mark.slow
def test_evaluate_reads_every_kind_of_generator(tmp_path, digits):
    gan = tiny_gan(latent_dim=8, width=8)
    from_gan = evaluation.generate_images(gan, 100, seed=3)
    assert from_gan.shape == (100, 8, 8, 1)
    np.testing.assert_array_equal(from_gan, gan.generate(100, seed=3))
    gan.save(tmp_path / "gan.keras")
    np.testing.assert_allclose(evaluation.generate_images(str(tmp_path / "gan.keras"), 100, seed=3),
                               from_gan, atol=1e-6)
    exported = tfgan_kit.export_generator(gan, str(tmp_path / "served"), name="g", version=1)
    np.testing.assert_allclose(evaluation.generate_images(exported, 100, seed=3), from_gan, atol=1e-5)
    assert evaluation.generate_images(gan.generator, 10, seed=3).shape == (10, 8, 8, 1)
    assert evaluation.generate_images(lambda n, seed: np.zeros((n, 8, 8, 1)), 5).shape == (5, 8, 8, 1)
    with pytest.raises(ValueError, match="no such .keras file or SavedModel"):
        evaluation.generate_images(str(tmp_path / "nothing"), 10)
    scores = evaluation.evaluate(exported, tfgan_kit.load_dataset("digits", batch_size=64),
                                 metrics=["fid", "classes_covered"], num_samples=300, verbose=0)
    assert set(scores) == {"fid", "classes_covered", "num_fake", "num_real", "eval_seconds"}
    assert scores["num_real"] == 1792  # 28 whole batches of 64.
    with pytest.raises(ValueError, match=r"metrics \['is'\]"):
        evaluation.evaluate(gan, digits[0], metrics=["is"], verbose=0)
    with pytest.raises(ValueError, match="generated images are"):
        evaluation.evaluate(np.zeros((10, 28, 28, 1)), digits[0], verbose=0)


def test_manifold_metrics_compare_equal_sized_sets():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(4000, 8)), rng.normal(size=(1000, 8))
    names = ["fid", "precision", "recall", "density", "coverage"]
    scores = evaluation.score_features((real, None), (fake, None), names)
    # Same distribution: coverage near 1 - 2^-5 (Naeem et al.) although real is 4x larger.
    assert scores["coverage"] > 0.9 and 0.85 < scores["density"] < 1.15
    unequal = tfgan_kit.metrics.density_coverage(real, fake)
    assert unequal["coverage"] < 0.8  # What comparing 4,000 balls with 1,000 samples gives.
    # FID keeps every real sample: identical to the direct call.
    assert scores["fid"] == tfgan_kit.metrics.frechet_distance(real, fake)


def test_a_bare_generator_gets_the_gans_prior_when_told():
    # Before: a bare generator always got normal noise, even from a uniform-prior GAN.
    gan = tfgan_kit.GAN(tfgan_kit.dcgan_generator((8, 8, 1), 16, width=8),
                        tfgan_kit.dcgan_discriminator((8, 8, 1), width=8), latent_dim=16,
                        latent_distribution="uniform")
    expected = gan.generate(12, seed=3)
    uniform = evaluation.generate_images(gan.generator, 12, seed=3, latent_distribution="uniform")
    np.testing.assert_allclose(uniform, expected, rtol=1e-5, atol=1e-6)
    normal = evaluation.generate_images(gan.generator, 12, seed=3)
    assert not np.allclose(normal, expected, atol=1e-3)
    with pytest.raises(ValueError, match="latent_distribution='cauchy'"):
        evaluation.generate_images(gan.generator, 12, latent_distribution="cauchy")
