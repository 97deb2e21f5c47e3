"""Precision/recall and density/coverage against the papers' definitions."""

import numpy as np
import pytest

from tfgan_kit import metrics
from tfgan_kit.metrics import manifold


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
    monkeypatch.setattr(manifold, "_CHUNK_ELEMENTS", 100)  # A couple of rows at a time.
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
