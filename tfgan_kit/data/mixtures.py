"""The 2-D Gaussian mixtures of the mode-coverage benchmark: 8 modes on a ring, a 5x5 grid."""

from typing import Tuple

import numpy as np

MIXTURES = ("ring8", "grid25")
"""The mixtures' names, as `load_dataset` takes them."""



def mixture_means(name: str) -> np.ndarray:
    """Mode centres: `ring8` (radius 2) or `grid25` (-4..4 step 2)."""
    if name == "ring8":
        # endpoint=False: linspace(0, 2*pi, 8) repeats the first angle -> 7 modes.
        angles = np.linspace(0.0, 2.0 * np.pi, 8, endpoint=False)
        return np.stack([2.0 * np.cos(angles), 2.0 * np.sin(angles)], axis=1)
    if name == "grid25":
        axis = np.arange(-4.0, 5.0, 2.0)
        return np.array([(x, y) for x in axis for y in axis])
    raise ValueError(f"Unknown mixture {name!r}; expected one of {MIXTURES}.")


def mixture_std(name: str) -> float:
    """The standard deviation of every mode of mixture `name`: 0.02 (`ring8`) or 0.05 (`grid25`)."""
    return {"ring8": 0.02, "grid25": 0.05}[name]


def sample_mixture(name: str, num_samples: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """`num_samples` points drawn uniformly over the modes, and each point's mode index."""
    means = mixture_means(name)
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, len(means), num_samples)
    points = means[modes] + rng.normal(0.0, mixture_std(name), (num_samples, 2))
    return points.astype(np.float32), modes.astype(np.int32)
