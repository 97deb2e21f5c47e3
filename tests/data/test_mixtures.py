"""The 2-D mixtures have all their modes."""

import numpy as np

import tfgan_kit
from tfgan_kit import data


def _first_batch(ds):
    return next(iter(ds))


def test_mixtures_have_all_their_modes():
    ring = data.mixture_means("ring8")
    assert len(np.unique(np.round(ring, 6), axis=0)) == 8  # endpoint=False: not 7.
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    grid = data.mixture_means("grid25")
    assert grid.shape == (25, 2) and grid.min() == -4 and grid.max() == 4
    x = _first_batch(tfgan_kit.load_dataset("grid25", batch_size=500, limit=1000))
    assert x.shape == (500, 2)
