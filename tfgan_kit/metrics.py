"""Sample-quality metrics computed from arrays (features, probabilities, 2-D points)."""

from typing import Dict

import numpy as np

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
