"""The only code that touches Keras-private names: optimizer EMA slots, schedules, resume epoch.

Keras keeps an optimizer's weight averages (`use_ema=True`) in
`_model_variables_moving_average` and a schedule in `_learning_rate`, and
`BackupAndRestore` resumes by setting `model._initial_epoch`; `keras.utils.get_file`
caches under a home that Keras 3.15 does not export. Should Keras rename them, this
file is the one to change.
"""

import os
from typing import List, Optional

import keras


def inner_optimizer(optimizer):
    """The optimizer that owns the learning rate and EMA (unwraps a LossScaleOptimizer)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def ema_variables(optimizer) -> List:
    """The EMA averages `optimizer` keeps of its variables, in their order; [] when off."""
    optimizer = inner_optimizer(optimizer)
    if optimizer is None or not getattr(optimizer, "use_ema", False) or not optimizer.built:
        return []
    return list(optimizer._model_variables_moving_average)


def learning_rate_schedule(optimizer) -> Optional[keras.optimizers.schedules.LearningRateSchedule]:
    """The schedule driving `optimizer`'s learning rate, or None for a plain rate."""
    rate = inner_optimizer(optimizer)._learning_rate
    return rate if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) else None


def set_initial_epoch(model: keras.Model, epoch: Optional[int]) -> None:
    """Makes the running `fit` continue at `epoch` (as `BackupAndRestore` does); None resets."""
    model._initial_epoch = epoch


def keras_home() -> str:
    """The directory `keras.utils.get_file` caches into: `$KERAS_HOME`, else ~/.keras (or /tmp/.keras)."""
    try:
        from keras.src.backend.config import keras_home as home
    except ImportError:
        user = os.path.expanduser("~")
        return os.environ.get("KERAS_HOME", os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras"))
    return home()
