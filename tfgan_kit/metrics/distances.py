"""Distances between two feature sets: FID (Fréchet) and KID (kernel MMD).

Plain numpy/scipy on features some extractor produced (`tfgan_kit.metrics.extractors`);
arguments may be arrays, tensors or a `tf.data.Dataset` of feature batches, flattened
to `(num_samples, num_features)`.
"""

import warnings
from typing import Dict

import numpy as np
import scipy.linalg

from tfgan_kit._internal.arrays import feature_pair


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

    Examples:

    ```python
    fid = tfgan_kit.metrics.frechet_distance(real_features, fake_features)
    ```
    """
    a, b = feature_pair(real, fake, "frechet_distance")
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
    a, b = feature_pair(real, fake, "kernel_inception_distance")
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
