"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019), density/coverage (Naeem et al. 2020)."""

from typing import Dict, Iterator, Tuple

import numpy as np

from tfgan_kit._internal.arrays import feature_pair

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


def manifold_metrics(real, fake, k_pr: int, k_dc: int, fn: str) -> Dict[str, float]:
    """Precision/recall (k_pr) and density/coverage (k_dc) in one pass over each distance matrix."""
    a, b = feature_pair(real, fake, fn)
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
    return manifold_metrics(real, fake, k, 0, "precision_recall")


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
    return manifold_metrics(real, fake, 0, k, "density_coverage")
