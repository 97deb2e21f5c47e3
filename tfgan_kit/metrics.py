"""Sample-quality metrics computed from arrays (features, probabilities, 2-D points).

Every function here is plain numpy/scipy on features that some extractor already
produced (see `tfgan_kit.evaluation` for the extractors and `evaluate`):

- `frechet_distance` (FID when the features are Inception's or a classifier's),
- `kernel_inception_distance` (KID: unbiased MMD^2 with a cubic polynomial kernel),
- `precision_recall` (Kynkaanniemi et al. 2019) and `density_coverage` (Naeem et al. 2020),
- `classifier_score` (the Inception Score formula), `mode_score` (Che et al. 2017) and
  `class_coverage` from class probabilities,
- `mixture_mode_stats` for the 2-D Gaussian mixtures.

Feature arguments may be numpy arrays, tensors, or a `tf.data.Dataset` of feature
batches; they are flattened to `(num_samples, num_features)`.
"""

import warnings
from typing import Dict, Iterator, Tuple

import numpy as np
import scipy.linalg

from tfgan_kit import data


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
    means = data.mixture_means(mixture)
    distances = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= num_stds * data.mixture_std(mixture)
    counts = np.bincount(nearest[good], minlength=len(means)).astype(np.float64)
    if counts.sum() > 0:
        p = counts / counts.sum()
        nonzero = p > 0
        kl = float(np.sum(p[nonzero] * np.log(p[nonzero] * len(means))))
    else:
        kl = float(np.log(len(means)))  # Nothing captured: as far from uniform as it gets.
    return {
        "modes": int(np.count_nonzero(counts)),
        "num_modes": len(means),
        "high_quality": float(good.mean()) if len(samples) else 0.0,
        "kl_to_uniform": kl,
    }


# ------------------------------------------------------------------ input checks


def _as_features(x, fn: str, name: str, min_samples: int = 2) -> np.ndarray:
    """`x` (array, tensor or dataset of batches) as float64 `(num_samples, num_features)`."""
    if hasattr(x, "as_numpy_iterator"):  # A tf.data.Dataset of (batches of) features.
        parts = [np.asarray(b[0] if isinstance(b, (tuple, list)) else b) for b in x.as_numpy_iterator()]
        x = np.concatenate([p.reshape((-1,) + p.shape[-1:]) for p in parts]) if parts else np.zeros((0, 1))
    x = np.asarray(x, np.float64)
    if x.ndim < 2:
        raise ValueError(
            f"{fn} received {name} of shape {x.shape}; expected (num_samples, num_features)."
        )
    x = x.reshape(len(x), -1)
    if len(x) < min_samples:
        raise ValueError(f"{fn} received {len(x)} samples in {name}; expected at least {min_samples}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{fn} received {name} with NaN or infinite values.")
    return x


def _pair(a, b, fn: str, names=("real", "fake"), min_samples: int = 2):
    a = _as_features(a, fn, names[0], min_samples)
    b = _as_features(b, fn, names[1], min_samples)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{fn} received {names[0]} with {a.shape[1]} features and {names[1]} with "
            f"{b.shape[1]}; both must come from the same feature extractor."
        )
    return a, b


# ------------------------------------------------------------------ FID


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for two Gaussians, in float64.

    When `sqrtm` of the product is not finite (singular covariances), `eps * I` is
    added to both covariances and it is retried; imaginary parts from numerical
    error are dropped, and large ones raise.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    diff = mu1 - mu2
    with warnings.catch_warnings():  # Singular (e.g. dead ReLU features) is expected; handled below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(len(sigma1)) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        largest = float(np.max(np.abs(covmean.imag)))
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            raise ValueError(
                f"frechet_distance: sqrtm(S1 S2) has an imaginary component of {largest:.3g}; "
                "the covariances are too ill-conditioned (use more samples)."
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance(real, fake, eps: float = 1e-6, allow_singular: bool = False) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

    FID is biased upwards at small sample counts, and the covariance is singular
    when there are no more samples than feature dimensions; compare FIDs only at
    the same sample count. Symmetric in its arguments.

    Args:
        real: features, `(num_samples, num_features)` (array, tensor or dataset).
        fake: features of the same width.
        eps: diagonal offset for the retry when `sqrtm` is not finite. Defaults to 1e-6.
        allow_singular: compute even when a set has no more samples than features
            (the result is then mostly noise). Defaults to False (raise).

    Example:

    ```python
    fid = tfgan_kit.metrics.frechet_distance(real_features, fake_features)
    ```
    """
    a, b = _pair(real, fake, "frechet_distance")
    n, d = min(len(a), len(b)), a.shape[1]
    if n <= d and not allow_singular:
        raise ValueError(
            f"frechet_distance received {n} samples for {d} feature dimensions; the covariance "
            "is singular and the distance meaningless. Use more samples than dimensions, or "
            "pass allow_singular=True."
        )
    return frechet_distance_from_stats(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False), eps
    )


# ------------------------------------------------------------------ KID


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel: (x . y / d + 1)^3."""
    k = x @ y.T / x.shape[1] + 1.0
    return k * k * k


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012) with `polynomial_kernel`: can be slightly negative."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2.0 * kxy.mean()
    )


def kernel_inception_distance(
    real, fake, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> Dict[str, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel, over subsets.

    Unlike FID it is unbiased at any sample count (so its expectation is 0 for
    identical distributions, and single estimates can be slightly negative).

    Args:
        real: features `(num_samples, num_features)`.
        fake: features of the same width.
        num_subsets: random subsets averaged. Defaults to 100.
        subset_size: samples per subset (capped at the smaller set). Defaults to 1000.
        seed: seed of the subset draws. Defaults to 0.

    Returns:
        `{"kid": mean over subsets, "kid_std": their standard deviation}`.
    """
    a, b = _pair(real, fake, "kernel_inception_distance")
    if num_subsets < 1 or subset_size < 2:
        raise ValueError(
            f"kernel_inception_distance received num_subsets={num_subsets}, "
            f"subset_size={subset_size}; expected >= 1 and >= 2."
        )
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(num_subsets)
    ]
    return {"kid": float(np.mean(values)), "kid_std": float(np.std(values))}


# ------------------------------------------------------------------ k-NN manifolds

_CHUNK_ELEMENTS = 1 << 23  # 64 MB of float64 distances at a time: 10k x 10k fits anywhere.


def _squared_distances(x: np.ndarray, y: np.ndarray) -> Iterator[Tuple[int, np.ndarray]]:
    """`(start, |x[start:stop] - y|^2)` in row chunks of at most `_CHUNK_ELEMENTS` values."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, len(y)))
    y_norms = np.sum(y * y, axis=1)
    for start in range(0, len(x), rows):
        part = x[start : start + rows]
        d2 = np.sum(part * part, axis=1)[:, None] + y_norms[None, :] - 2.0 * part @ y.T
        yield start, np.maximum(d2, 0.0)


def _knn_radii2(x: np.ndarray, ks, fn: str, name: str) -> Dict[int, np.ndarray]:
    """Squared distance from each point to its k-th nearest neighbour in `x` (itself excluded)."""
    for k in ks:
        if not 1 <= k < len(x):
            raise ValueError(
                f"{fn} received k={k} for {len(x)} {name} samples; expected 1 <= k < {len(x)}."
            )
    radii = {k: np.empty(len(x)) for k in ks}
    for start, d2 in _squared_distances(x, x):
        # Column 0 after partitioning is the point itself (distance 0); column k its k-th neighbour.
        part = np.partition(d2, list(ks), axis=1)
        for k in ks:
            radii[k][start : start + len(d2)] = part[:, k]
    return radii


def _manifold_metrics(real, fake, k_pr: int, k_dc: int, fn: str) -> Dict[str, float]:
    """Precision/recall (k_pr) and density/coverage (k_dc) in one pass over each distance matrix."""
    a, b = _pair(real, fake, fn)
    real_radii = _knn_radii2(a, sorted({k for k in (k_pr, k_dc) if k}), fn, "real")
    fake_radii = _knn_radii2(b, [k_pr], fn, "fake")[k_pr] if k_pr else None
    precise = np.zeros(len(b), bool)  # fake inside some real k_pr-ball
    recalled = np.zeros(len(a), bool)  # real inside some fake k_pr-ball
    density = np.zeros(len(b), np.int64)  # real k_dc-balls holding each fake (strict <)
    covered = np.zeros(len(a), bool)  # real k_dc-ball holding some fake (strict <)
    for start, d2 in _squared_distances(b, a):  # rows: fake, columns: real
        rows = slice(start, start + len(d2))
        if k_pr:
            precise[rows] = (d2 <= real_radii[k_pr][None, :]).any(axis=1)
            recalled |= (d2 <= fake_radii[rows][:, None]).any(axis=0)
        if k_dc:
            inside = d2 < real_radii[k_dc][None, :]
            density[rows] = inside.sum(axis=1)
            covered |= inside.any(axis=0)
    out = {}
    if k_pr:
        out.update(precision=float(precise.mean()), recall=float(recalled.mean()))
    if k_dc:
        out.update(density=float(density.sum() / (k_dc * len(b))), coverage=float(covered.mean()))
    return out


def precision_recall(real, fake, k: int = 3) -> Dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its samples, each ball
    reaching the sample's k-th nearest neighbour in its own set. Precision: the
    fraction of fake samples inside the real manifold (quality); recall: the
    fraction of real samples inside the fake manifold (diversity).

    Args:
        real: features `(num_samples, num_features)`.
        fake: features of the same width.
        k: the neighbour that sets each ball's radius. Defaults to 3 (the paper's).

    Returns:
        `{"precision": ..., "recall": ...}`, each in [0, 1].
    """
    return _manifold_metrics(real, fake, k, 0, "precision_recall")


def density_coverage(real, fake, k: int = 5) -> Dict[str, float]:
    """Density and coverage (Naeem et al. 2020), on the real samples' k-NN balls only.

    Density: the mean number of real balls that contain each fake sample, over k
    (about 1 when the distributions match; above 1 when fakes crowd dense real
    regions). Coverage: the fraction of real balls that contain at least one fake
    sample (robust to outliers, unlike recall). Both use strict `<` as the paper's code.

    Args:
        real: features `(num_samples, num_features)`.
        fake: features of the same width.
        k: the neighbour that sets each real ball's radius. Defaults to 5 (the paper's).

    Returns:
        `{"density": ..., "coverage": ...}`; coverage in [0, 1], density >= 0.
    """
    return _manifold_metrics(real, fake, 0, k, "density_coverage")


# ------------------------------------------------------------------ class probabilities


def _probabilities(p, fn: str) -> np.ndarray:
    p = _as_features(p, fn, "probabilities", min_samples=1)
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

    Example:

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
    hist = counts / counts.sum()
    nonzero = hist > 0
    return {
        "classes_covered": int(np.count_nonzero(counts >= min_count)),
        "num_classes": int(p.shape[1]),
        "kl_to_uniform": float(np.sum(hist[nonzero] * np.log(hist[nonzero] * p.shape[1]))),
    }
