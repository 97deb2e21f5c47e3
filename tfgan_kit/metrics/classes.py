"""Scores from class predictions: classifier (Inception) and Mode score, classes and modes covered.

`classifier_score`, `mode_score` and `class_coverage` take a classifier's softmax
outputs on generated images; `mixture_mode_stats` counts the modes 2-D samples reach
on the `ring8` / `grid25` mixtures (the VEEGAN / PacGAN protocol);
`stacked_mode_breakdown` splits a Stacked MNIST run's KL into its channels' and their dependence.
"""

import functools
from typing import Dict, Tuple

import numpy as np
from scipy.stats import entropy

from tfgan_kit._internal.arrays import as_features
from tfgan_kit.data import mixtures


def _kl(p: np.ndarray, q=None) -> float:
    """KL(p || q) in nats between histograms of any shape; `q` defaults to uniform over p's cells."""
    q = np.ones(p.size) if q is None else np.ravel(q)
    return float(entropy(np.ravel(p), q))


def mixture_mode_stats(samples: np.ndarray, mixture: str, num_stds: float = 3.0) -> Dict[str, float]:
    """Mode coverage of 2-D samples on `ring8` / `grid25` (the VEEGAN / PacGAN protocol).

    A sample is high quality when it lies within `num_stds` standard deviations of
    its nearest mode; a mode is captured when it has at least one high-quality
    sample. `kl_to_uniform` is KL(mode histogram of the high-quality samples || uniform).

    Returns:
        `{"modes": captured count, "num_modes": total, "high_quality": fraction,
        "kl_to_uniform": nats}`.
    """
    samples = np.asarray(samples, np.float64).reshape(-1, 2)
    means = mixtures.mixture_means(mixture)
    distances = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= num_stds * mixtures.mixture_std(mixture)
    counts = np.bincount(nearest[good], minlength=len(means)).astype(np.float64)
    # Nothing captured: as far from uniform as it gets.
    kl = _kl(counts / counts.sum()) if counts.sum() > 0 else float(np.log(len(means)))
    return {
        "modes": int(np.count_nonzero(counts)),
        "num_modes": len(means),
        "high_quality": float(good.mean()) if len(samples) else 0.0,
        "kl_to_uniform": kl,
    }



def _probabilities(p, fn: str) -> np.ndarray:
    p = as_features(p, fn, "probabilities", min_samples=1)
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            f"{fn} received rows that are not probability distributions (negative values or "
            f"sums in [{p.sum(axis=1).min():.3g}, {p.sum(axis=1).max():.3g}]); expected softmax outputs."
        )
    return p


def _log_classifier_score(p: np.ndarray) -> Tuple[float, np.ndarray]:
    """E_x KL(p(y|x) || p(y)) and the marginal p(y), from checked probabilities."""
    p = np.clip(p, 1e-12, 1.0)
    marginal = p.mean(axis=0)
    kl = np.sum(p * (np.log(p) - np.log(marginal)[None, :]), axis=1)
    return float(kl.mean()), marginal


def classifier_score(probabilities) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception Score on any classifier's probabilities.

    High when each image is classified confidently and the classes are used evenly:
    between 1 (one class, or no confidence) and the number of classes.

    Args:
        probabilities: `(num_samples, num_classes)` softmax outputs.
    """
    return float(np.exp(_log_classifier_score(_probabilities(probabilities, "classifier_score"))[0]))


def _class_distribution(x, num_classes: int, fn: str) -> np.ndarray:
    """A 1-D histogram (counts or frequencies) or 2-D probabilities as one class distribution."""
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        x = _probabilities(x, fn).mean(axis=0)
    if x.ndim != 1 or len(x) != num_classes:
        raise ValueError(
            f"{fn} received train_probabilities of shape {x.shape}; expected ({num_classes},) "
            f"(a class histogram) or (num_samples, {num_classes}) (softmax outputs)."
        )
    if not np.all(np.isfinite(x)) or np.any(x < 0) or x.sum() <= 0:
        raise ValueError(
            f"{fn} received the class histogram {x.tolist()}; expected non-negative counts "
            "or frequencies with a positive sum."
        )
    return x / x.sum()


def mode_score(probabilities, train_probabilities) -> float:
    """exp(E_x KL(p(y|x) || p(y)) - KL(p(y) || p_train(y))): the Mode Score (Che et al. 2017).

    The classifier (Inception) score times exp(-KL(p(y) || p_train(y))): it also
    penalises a generated class distribution p(y) that differs from the training
    data's, which the Inception Score cannot see (a generator that draws evenly
    from 10 classes scores 10 even if the data holds 90 % ones). Equal to
    `classifier_score` when p(y) = p_train(y), lower otherwise. (Writing p_train
    inside the first KL instead, as some papers print it, cancels algebraically to
    the Inception Score itself; this is the informative form.)

    Args:
        probabilities: `(num_samples, num_classes)` softmax outputs on generated images.
        train_probabilities: the training data's class distribution: softmax
            outputs on real images `(num_samples, num_classes)` (their mean is
            used), or a `(num_classes,)` histogram of counts or frequencies.

    Examples:

    ```python
    _, real_p = extractor(real_images)
    _, fake_p = extractor(gan.generate(2000))
    score = tfgan_kit.metrics.mode_score(fake_p, real_p)  # or np.bincount(labels)
    ```
    """
    p = _probabilities(probabilities, "mode_score")
    log_score, marginal = _log_classifier_score(p)
    train = np.clip(_class_distribution(train_probabilities, p.shape[1], "mode_score"), 1e-12, 1.0)
    mismatch = float(np.sum(marginal * (np.log(marginal) - np.log(train))))
    return float(np.exp(log_score - mismatch))


def class_coverage(probabilities, min_count: int = 1) -> Dict[str, float]:
    """How many classes the predicted labels reach, and KL(label histogram || uniform).

    The image analogue of `mixture_mode_stats`: a class is covered when at least
    `min_count` samples are predicted as it.

    Args:
        probabilities: `(num_samples, num_classes)` softmax outputs.
        min_count: samples a class needs to count as covered. Defaults to 1.

    Returns:
        `{"classes_covered": count, "num_classes": total, "kl_to_uniform": nats}`.
    """
    p = _probabilities(probabilities, "class_coverage")
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1]).astype(np.float64)
    return {
        "classes_covered": int(np.count_nonzero(counts >= min_count)),
        "num_classes": int(p.shape[1]),
        "kl_to_uniform": _kl(counts / counts.sum()),
    }


def stacked_mode_breakdown(probabilities, digits: int = 10, channels: int = 3) -> Dict[str, object]:
    """Where a Stacked MNIST generator's missing modes go: each channel, or their dependence.

    The modes of stacked digits are triples, and KL(mode histogram || uniform) splits
    exactly into the channels' own KL (a channel draws some digits too rarely) plus
    the total correlation KL(joint || product of the channels' marginals) (the digits
    are fine alone but some combinations are missing). The two call for different
    fixes (a per-channel failure looks like ordinary mode collapse; a dependence one
    means G couples its channels), so this says which one a run suffers from.

    Args:
        probabilities: `(num_samples, digits ** channels)` joint softmax outputs, as
            from the `"stacked_mnist28"` classifier (class `100 a + 10 b + c` is digits a, b, c).
        digits: classes per channel. Defaults to 10.
        channels: stacked channels. Defaults to 3.

    Returns:
        `{"modes_covered", "kl_to_uniform", "channel_kl": [per channel], "dependence_kl",
        "channel_digits": [digits reached per channel], "independent_modes"}` where
        `independent_modes` is the modes the same number of samples would be expected
        to reach if the channels kept their marginals but were drawn independently.
    """
    p = _probabilities(probabilities, "stacked_mode_breakdown")
    if p.shape[1] != digits**channels:
        raise ValueError(f"stacked_mode_breakdown received {p.shape[1]} classes; expected "
                         f"digits ** channels = {digits**channels}.")
    joint = np.bincount(p.argmax(axis=1), minlength=p.shape[1]).astype(np.float64)
    joint = joint.reshape((digits,) * channels) / len(p)
    axes = range(channels)
    marginals = [joint.sum(axis=tuple(a for a in axes if a != c)) for c in axes]
    product = functools.reduce(np.multiply.outer, marginals)
    return {
        "modes_covered": int(np.count_nonzero(joint)),
        "kl_to_uniform": _kl(joint),
        "channel_kl": [_kl(m) for m in marginals],
        "dependence_kl": _kl(joint, product),
        "channel_digits": [int(np.count_nonzero(m)) for m in marginals],
        "independent_modes": float(np.sum(1.0 - (1.0 - product) ** len(p))),
    }
