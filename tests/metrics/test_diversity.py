"""Diversity statistics against hand computations."""

import numpy as np
import pytest

import tfgan_kit
from tfgan_kit.metrics import class_stats, diversity_stats

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


def test_diversity_statistics_by_hand():
    real = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # pairwise 3, 4, 5; nearest 3, 3, 4
    same = diversity_stats(np.ones((3, 2)), real)
    assert same["diversity_ratio"] == 0.0 and same["duplicate_rate"] == 1.0
    itself = diversity_stats(real, real)
    assert itself["diversity_ratio"] == pytest.approx(1.0) and itself["duplicate_rate"] == 0.0
    half = diversity_stats(real / 2, real)  # pairwise 1.5, 2, 2.5 over 3, 4, 5
    assert half["diversity_ratio"] == pytest.approx(0.5)
    near = diversity_stats(np.array([[0.0, 0.0], [0.2, 0.0], [9.0, 9.0]]), real)  # cutoff 0.3
    assert near["duplicate_rate"] == pytest.approx(2 / 3)
    probs = np.eye(3)[[0, 0, 0, 1]]
    stats = class_stats(probs, np.eye(3)[[0, 1, 2, 2]])
    assert (stats["classes_covered"], stats["real_classes"]) == (2, 3)
    p, q = np.array([1.5, 1.5, 2.5]) / 5.5, np.array([3.5, 1.5, 0.5]) / 5.5
    assert stats["class_kl"] == pytest.approx(float(np.sum(p * np.log(p / q))))
