"""Feature-space metrics against known answers and direct computations."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfgan_kit import metrics


def _psd_sqrt(m):
    """Square root of a symmetric PSD matrix by eigendecomposition (not scipy's sqrtm)."""
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _closed_form_fid(mu1, s1, mu2, s2):
    root1 = _psd_sqrt(s1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(_psd_sqrt(root1 @ s2 @ root1)))


def _gaussian_params(rng, d, shift):
    a = rng.normal(size=(d, d))
    return rng.normal(size=d) + shift, a @ a.T / d + 0.5 * np.eye(d)


# ------------------------------------------------------------------ FID


def test_fid_of_two_known_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    d = 4
    (mu1, s1), (mu2, s2) = _gaussian_params(rng, d, 0.0), _gaussian_params(rng, d, 1.0)
    expected = _closed_form_fid(mu1, s1, mu2, s2)
    assert expected > 2.0  # A distance worth measuring.
    # Exactly, from the parameters.
    assert metrics.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    # From samples: within sampling error.
    a = rng.multivariate_normal(mu1, s1, 40_000)
    b = rng.multivariate_normal(mu2, s2, 40_000)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.03)


def test_fid_is_near_zero_for_the_same_gaussian_and_symmetric():
    rng = np.random.default_rng(1)
    mu, s = _gaussian_params(rng, 8, 0.0)
    a, b = rng.multivariate_normal(mu, s, 5000), rng.multivariate_normal(mu, s, 5000)
    same = metrics.frechet_distance(a, b)
    assert 0.0 <= same < 0.05
    c = rng.multivariate_normal(mu + 1.0, s, 3000)
    assert metrics.frechet_distance(a, c) == pytest.approx(metrics.frechet_distance(c, a), rel=1e-9)
    assert metrics.frechet_distance(a, c) > 100 * same


def test_fid_refuses_fewer_samples_than_dimensions_unless_forced():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 32)), rng.normal(size=(20, 32))
    with pytest.raises(ValueError, match=r"20 samples for 32 feature dimensions.*allow_singular"):
        metrics.frechet_distance(a, b)
    assert np.isfinite(metrics.frechet_distance(a, b, allow_singular=True))


def test_fid_retries_with_eps_when_sqrtm_is_not_finite(monkeypatch):
    rng = np.random.default_rng(3)
    mu1, s1 = _gaussian_params(rng, 3, 0.0)
    mu2, s2 = _gaussian_params(rng, 3, 1.0)
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def failing_first(m):
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", failing_first)
    value = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2, eps=1e-6)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-6 * np.eye(3)) @ (s2 + 1e-6 * np.eye(3)))
    assert value == pytest.approx(_closed_form_fid(mu1, s1, mu2, s2), rel=1e-5)


def test_fid_drops_tiny_imaginary_parts_and_rejects_large_ones(monkeypatch):
    rng = np.random.default_rng(4)
    mu1, s1 = _gaussian_params(rng, 3, 0.0)
    mu2, s2 = _gaussian_params(rng, 3, 1.0)
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 1e-9j)
    value = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2)
    assert isinstance(value, float)
    assert value == pytest.approx(_closed_form_fid(mu1, s1, mu2, s2), rel=1e-6)
    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 0.5j)
    with pytest.raises(ValueError, match="imaginary component"):
        metrics.frechet_distance_from_stats(mu1, s1, mu2, s2)


def test_bad_feature_inputs_are_named():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="real with 3 features and fake with 4"):
        metrics.frechet_distance(a, np.zeros((10, 4)))
    bad = np.ones((10, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="fake with NaN"):
        metrics.kernel_inception_distance(a, bad)
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        metrics.precision_recall(np.zeros(10), a)
    with pytest.raises(ValueError, match="k=3 for 3 real samples"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((5, 2)))


def test_features_may_come_as_a_dataset_of_batches():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 0.5
    ds = tf.data.Dataset.from_tensor_slices(b).batch(64)
    assert metrics.frechet_distance(a, ds) == pytest.approx(metrics.frechet_distance(a, b), rel=1e-9)


# ------------------------------------------------------------------ KID


def _direct_mmd2(x, y):
    """The unbiased MMD^2 estimator, written out term by term."""
    d = x.shape[1]

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_a_direct_quadratic_computation():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(25, 5)), rng.normal(size=(25, 5)) + 0.3
    direct = _direct_mmd2(x, y)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(direct, rel=1e-10)
    # One subset of all the samples is a permutation: the estimator ignores order.
    kid = metrics.kernel_inception_distance(x, y, num_subsets=1, subset_size=25)
    assert kid["kid"] == pytest.approx(direct, rel=1e-10) and kid["kid_std"] == 0.0


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_for_shifted():
    rng = np.random.default_rng(7)
    same = [metrics.mmd2_unbiased(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)))
            for _ in range(30)]
    assert min(same) < 0.0 < max(same)  # Unbiased: single estimates fall on both sides of 0.
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    identical = metrics.kernel_inception_distance(a, b, num_subsets=20, subset_size=500)
    shifted = metrics.kernel_inception_distance(a, b + 0.5, num_subsets=20, subset_size=500)
    assert abs(identical["kid"]) < 3 * identical["kid_std"]
    assert shifted["kid"] > 10 * max(abs(identical["kid"]), identical["kid_std"])


# ------------------------------------------------------------------ precision/recall, density/coverage


def _clusters(rng, modes, per_mode, d=8, spread=0.3):
    centers = np.stack([10 * np.eye(d)[i % d] * (1 + i // d) for i in range(10)])
    return np.concatenate([centers[m] + spread * rng.normal(size=(per_mode, d)) for m in modes])


def _direct_pr_dc(real, fake, k_pr=3, k_dc=5):
    """The papers' definitions with full distance matrices and explicit loops."""
    def radii(x, k):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]

    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=-1)  # [real, fake]
    r_real3, r_fake3, r_real5 = radii(real, k_pr), radii(fake, k_pr), radii(real, k_dc)
    precision = np.mean([any(d_rf[i, j] <= r_real3[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(d_rf[i, j] <= r_fake3[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(d_rf[i, j] < r_real5[i] for i in range(len(real)) for j in range(len(fake))) / (k_dc * len(fake))
    coverage = np.mean([d_rf[i].min() < r_real5[i] for i in range(len(real))])
    return dict(precision=precision, recall=recall, density=density, coverage=coverage)


def test_pr_dc_match_the_papers_definitions_also_when_chunked(monkeypatch):
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(60, 3)), rng.normal(size=(45, 3)) * 1.5 + 0.3
    expected = _direct_pr_dc(real, fake)
    got = {**metrics.precision_recall(real, fake), **metrics.density_coverage(real, fake)}
    assert got == pytest.approx(expected, abs=1e-12)
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 100)  # A couple of rows at a time.
    chunked = {**metrics.precision_recall(real, fake), **metrics.density_coverage(real, fake)}
    assert chunked == pytest.approx(expected, abs=1e-12)
    assert 0.05 < expected["precision"] < 0.95 and 0.05 < expected["coverage"] < 0.95  # Not trivial.


def test_pr_dc_identical_distributions_cover_everything():
    rng = np.random.default_rng(9)
    real, fake = _clusters(rng, range(10), 150), _clusters(rng, range(10), 150)
    pr, dc = metrics.precision_recall(real, fake), metrics.density_coverage(real, fake)
    assert pr["precision"] > 0.8 and pr["recall"] > 0.8
    assert dc["coverage"] > 0.9 and 0.8 < dc["density"] < 1.2
    # The same set: every sample sits in its own ball.
    assert metrics.precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}


def test_pr_dc_disjoint_sets_score_zero():
    rng = np.random.default_rng(10)
    real = _clusters(rng, range(10), 100)
    fake = real + 100.0
    assert metrics.precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0}
    assert metrics.density_coverage(real, fake) == {"density": 0.0, "coverage": 0.0}


def test_half_the_modes_gives_half_coverage_and_recall_but_full_precision():
    rng = np.random.default_rng(11)
    real = _clusters(rng, range(10), 150)
    fake = _clusters(rng, range(5), 300)  # Same count, only modes 0-4.
    pr, dc = metrics.precision_recall(real, fake), metrics.density_coverage(real, fake)
    assert pr["precision"] > 0.8 and 0.4 < pr["recall"] <= 0.5
    assert 0.45 < dc["coverage"] <= 0.5 and dc["density"] > 0.8
    # The mirror image: half the fakes are far off -> precision halves, recall stays.
    junk = _clusters(rng, range(10), 75) + 100.0
    mixed = np.concatenate([_clusters(rng, range(10), 75), junk])
    pr = metrics.precision_recall(real, mixed)
    assert 0.4 < pr["precision"] <= 0.5 and pr["recall"] > 0.7


# ------------------------------------------------------------------ class probabilities


def test_classifier_score_known_answers():
    one_hot = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(one_hot) == pytest.approx(10.0, rel=1e-6)
    assert metrics.classifier_score(np.eye(10)[np.zeros(1000, int)]) == pytest.approx(1.0)
    assert metrics.classifier_score(np.full((1000, 10), 0.1)) == pytest.approx(1.0)  # Unsure.
    five = np.eye(10)[np.arange(1000) % 5]
    assert metrics.classifier_score(five) == pytest.approx(5.0, rel=1e-6)


def test_class_coverage_counts_predicted_classes():
    probs = np.eye(10)[np.arange(700) % 7]
    out = metrics.class_coverage(probs)
    assert out["classes_covered"] == 7 and out["num_classes"] == 10
    assert out["kl_to_uniform"] == pytest.approx(np.log(10 / 7))
    assert metrics.class_coverage(np.eye(10)[np.arange(1000) % 10])["kl_to_uniform"] == pytest.approx(0.0)
    assert metrics.class_coverage(probs, min_count=101)["classes_covered"] == 0


def test_probabilities_must_be_distributions():
    with pytest.raises(ValueError, match="classifier_score received rows that are not probability"):
        metrics.classifier_score(np.ones((5, 10)))
    with pytest.raises(ValueError, match="class_coverage received rows"):
        metrics.class_coverage(-np.eye(3))


# ------------------------------------------------------------------ Mode Score


def test_mode_score_equals_classifier_score_when_class_distributions_match():
    p = np.random.default_rng(4).dirichlet(np.full(10, 0.3), size=1000)
    score = metrics.classifier_score(p)
    assert 1.5 < score < 10  # A score worth comparing.
    assert metrics.mode_score(p, p) == pytest.approx(score, rel=1e-9)  # Probabilities as p_train.
    assert metrics.mode_score(p, p.mean(axis=0)) == pytest.approx(score, rel=1e-9)  # A histogram.
    one_hot = np.eye(10)[np.arange(1000) % 10]
    assert metrics.mode_score(one_hot, np.full(10, 600)) == pytest.approx(10.0, rel=1e-6)  # Counts.


def test_mode_score_penalises_a_class_distribution_unlike_the_training_one():
    even = np.eye(10)[np.arange(1000) % 10]  # Inception Score 10 whatever the data holds.
    skewed = np.array([0.91] + [0.01] * 9)  # Training data: 91 % class 0.
    assert metrics.classifier_score(even) == pytest.approx(10.0, rel=1e-6)
    expected = 10.0 * np.exp(-np.sum(0.1 * np.log(0.1 / skewed)))
    assert metrics.mode_score(even, skewed) == pytest.approx(expected, rel=1e-6)
    assert metrics.mode_score(even, skewed) < 0.5 * metrics.classifier_score(even)
    # Half the classes dropped: IS 5, KL(p(y) || uniform) = log 2, so 5 / 2.
    five = np.eye(10)[np.arange(1000) % 5]
    assert metrics.mode_score(five, np.full(10, 0.1)) == pytest.approx(2.5, rel=1e-6)


def test_mode_score_by_hand_on_two_samples():
    p = np.array([[0.8, 0.2], [0.4, 0.6]])  # p(y) = (0.6, 0.4)
    expected_kl = 0.5 * (0.8 * np.log(0.8 / 0.6) + 0.2 * np.log(0.2 / 0.4)
                         + 0.4 * np.log(0.4 / 0.6) + 0.6 * np.log(0.6 / 0.4))
    mismatch = 0.6 * np.log(0.6 / 0.25) + 0.4 * np.log(0.4 / 0.75)  # p_train = counts 1, 3
    assert metrics.mode_score(p, [1, 3]) == pytest.approx(np.exp(expected_kl - mismatch), rel=1e-9)
    assert metrics.classifier_score(p) == pytest.approx(np.exp(expected_kl), rel=1e-9)


def test_mode_score_refuses_a_bad_training_distribution():
    p = np.eye(3)
    with pytest.raises(ValueError, match=r"mode_score received train_probabilities of shape \(4,\)"):
        metrics.mode_score(p, np.ones(4))
    with pytest.raises(ValueError, match="mode_score received the class histogram"):
        metrics.mode_score(p, [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="mode_score received rows that are not probability"):
        metrics.mode_score(p, np.ones((5, 3)))


def test_evaluate_reports_mode_score_against_the_real_images_classes():
    from tfgan_kit import evaluation

    assert "mode_score" in evaluation.PROBABILITY_METRICS  # evaluate/FIDMonitor report it by default
    features = np.random.default_rng(5).normal(size=(1000, 4))
    real_p, fake_p = np.eye(10)[np.arange(1000) % 10], np.eye(10)[np.arange(1000) % 5]
    out = evaluation.score_features((features, real_p), (features, fake_p),
                                    ["classifier_score", "mode_score"])
    assert out["classifier_score"] == pytest.approx(5.0, rel=1e-6)
    assert out["mode_score"] == pytest.approx(2.5, rel=1e-6)
