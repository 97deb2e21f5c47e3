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


def _stacked(a, b, c):
    """One-hot joint probabilities of digit triples (a, b, c): class 100 a + 10 b + c."""
    return np.eye(1000)[100 * np.asarray(a) + 10 * np.asarray(b) + np.asarray(c)]


def test_stacked_mode_breakdown_of_every_triple_once_is_all_zero():
    t = np.arange(1000)
    out = metrics.stacked_mode_breakdown(_stacked(t // 100, t // 10 % 10, t % 10))
    assert out["modes_covered"] == 1000
    assert out["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert out["channel_kl"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert out["dependence_kl"] == pytest.approx(0.0, abs=1e-12)
    assert out["channel_digits"] == [10, 10, 10]
    assert out["independent_modes"] == pytest.approx(1000 * (1 - (1 - 1e-3) ** 1000))


def test_stacked_mode_breakdown_tells_a_coupled_channel_from_a_collapsed_one():
    t = np.arange(1000)
    # G copies channel a into b: every digit appears evenly, but only 100 triples do.
    coupled = metrics.stacked_mode_breakdown(_stacked(t % 10, t % 10, t // 10 % 10))
    assert coupled["channel_kl"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert coupled["modes_covered"] == 100
    assert coupled["dependence_kl"] == pytest.approx(np.log(10))
    assert coupled["kl_to_uniform"] == pytest.approx(np.log(10))
    assert coupled["independent_modes"] > 600  # The same marginals drawn apart would reach them.
    # Channel c always 7: no dependence, all of the KL is that channel's.
    collapsed = metrics.stacked_mode_breakdown(_stacked(t // 100, t // 10 % 10, np.full(1000, 7)))
    assert collapsed["channel_kl"] == pytest.approx([0.0, 0.0, np.log(10)], abs=1e-12)
    assert collapsed["dependence_kl"] == pytest.approx(0.0, abs=1e-12)
    assert collapsed["channel_digits"] == [10, 10, 1]
    assert collapsed["kl_to_uniform"] == pytest.approx(
        metrics.class_coverage(_stacked(t // 100, t // 10 % 10, np.full(1000, 7)))["kl_to_uniform"])
    assert collapsed["independent_modes"] < 100.5


def test_stacked_mode_breakdown_rejects_the_wrong_number_of_classes():
    with pytest.raises(ValueError, match="1000"):
        metrics.stacked_mode_breakdown(np.eye(10)[np.arange(20) % 10])
