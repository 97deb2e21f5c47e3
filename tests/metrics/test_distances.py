"""FID and KID against closed forms and direct computations."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from tfgan_kit import metrics
from tfgan_kit.metrics import distances


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

    monkeypatch.setattr(distances.scipy.linalg, "sqrtm", failing_first)
    value = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2, eps=1e-6)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-6 * np.eye(3)) @ (s2 + 1e-6 * np.eye(3)))
    assert value == pytest.approx(_closed_form_fid(mu1, s1, mu2, s2), rel=1e-5)


def test_fid_drops_tiny_imaginary_parts_and_rejects_large_ones(monkeypatch):
    rng = np.random.default_rng(4)
    mu1, s1 = _gaussian_params(rng, 3, 0.0)
    mu2, s2 = _gaussian_params(rng, 3, 1.0)
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(distances.scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 1e-9j)
    value = metrics.frechet_distance_from_stats(mu1, s1, mu2, s2)
    assert isinstance(value, float)
    assert value == pytest.approx(_closed_form_fid(mu1, s1, mu2, s2), rel=1e-6)
    monkeypatch.setattr(distances.scipy.linalg, "sqrtm", lambda m: real_sqrtm(m) + 0.5j)
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
