"""How varied generated samples are next to real ones: pairwise distances, duplicates, classes.

`ModeCollapseMonitor` reads these during training; they are plain numpy/scipy on
feature arrays, so they serve offline analysis too.
"""

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import entropy


def diversity_stats(
    generated: np.ndarray, real: np.ndarray, duplicate_distance: float = 0.1
) -> dict:
    """Diversity of `generated` relative to `real`, both `(n, ...)` feature arrays.

    Returns `diversity_ratio` (mean pairwise Euclidean distance among generated
    samples over the same among real ones: 0 when every sample is the same),
    `duplicate_rate` (fraction of generated samples whose nearest generated
    neighbour is closer than `duplicate_distance` times the median real
    nearest-neighbour distance) and `real_duplicate_rate` (the same for real
    samples among themselves: the floor to compare with).
    """
    generated = np.asarray(generated, np.float64).reshape(len(generated), -1)
    real = np.asarray(real, np.float64).reshape(len(real), -1)
    real_pairs = pdist(real)
    if real_pairs.mean() == 0.0:
        raise ValueError("The real samples are all identical; diversity cannot be compared.")

    def nearest(points):
        distances = squareform(pdist(points))
        np.fill_diagonal(distances, np.inf)
        return distances.min(axis=1)

    cutoff = duplicate_distance * float(np.median(nearest(real)))
    return {
        "diversity_ratio": float(pdist(generated).mean() / real_pairs.mean()),
        "duplicate_rate": float(np.mean(nearest(generated) <= cutoff)),
        "real_duplicate_rate": float(np.mean(nearest(real) <= cutoff)),
    }


def class_stats(generated_probs: np.ndarray, real_probs: np.ndarray) -> dict:
    """Classes of the real batch that generated samples cover, and KL(real || generated)."""
    num_classes = np.asarray(real_probs).shape[-1]
    gen = np.bincount(np.argmax(generated_probs, -1), minlength=num_classes).astype(np.float64)
    real = np.bincount(np.argmax(real_probs, -1), minlength=num_classes).astype(np.float64)
    real_classes = int(np.count_nonzero(real))
    covered = int(np.count_nonzero(gen[real > 0]))
    # Add-half smoothing keeps the KL finite when a real class is missing entirely.
    kl = entropy((real + 0.5) / (real + 0.5).sum(), (gen + 0.5) / (gen + 0.5).sum())
    return {"classes_covered": covered, "real_classes": real_classes,
            "class_coverage": covered / max(real_classes, 1), "class_kl": float(kl)}
