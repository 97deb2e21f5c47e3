"""A GAN's training state as variables: what `CrashSafeBackup` saves and `NaNGuard` restores.

The part the two callbacks share, as Keras keeps `monitor_callback.py` beside its callbacks.
"""

from typing import Dict, List

import keras
import numpy as np

from tfgan_kit import regularizers


def training_state(model: keras.Model, include_seeds: bool = True) -> Dict[str, List]:
    """The variables that make up a model's training state, grouped by owner.

    `"model"` holds the networks' weights and non-trainable statistics (and, with
    `include_seeds`, the state of every `SeedGenerator`); then one entry per
    optimizer attribute (`d_optimizer`, `g_optimizer`: slots, iterations, learning
    rate, EMA) and per historical-average penalty.
    """
    state = {"model": list(model.variables if include_seeds else model.weights)}
    for name, value in sorted(vars(model).items()):
        if isinstance(value, keras.optimizers.Optimizer):
            state[name] = list(value.variables)
        elif isinstance(value, regularizers.HistoricalAverage):
            state[name] = [value.count] + list(value.averages)
    return state


def all_finite(variables) -> bool:
    return all(
        np.all(np.isfinite(v.numpy())) for v in variables if keras.backend.is_float_dtype(v.dtype)
    )


def flat(state: Dict[str, List]) -> List:
    return [v for group in state.values() for v in group]
