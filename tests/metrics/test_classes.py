"""Classifier score, Mode score and class coverage against known answers."""

import numpy as np
import pytest

from tfgan_kit import metrics


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
    from tfgan_kit.metrics import evaluation

    assert "mode_score" in evaluation.PROBABILITY_METRICS  # evaluate/FIDMonitor report it by default
    features = np.random.default_rng(5).normal(size=(1000, 4))
    real_p, fake_p = np.eye(10)[np.arange(1000) % 10], np.eye(10)[np.arange(1000) % 5]
    out = evaluation.score_features((features, real_p), (features, fake_p),
                                    ["classifier_score", "mode_score"])
    assert out["classifier_score"] == pytest.approx(5.0, rel=1e-6)
    assert out["mode_score"] == pytest.approx(2.5, rel=1e-6)
