"""The only code that touches Keras-private names: optimizer EMA slots, schedules, resume epoch.

Keras keeps an optimizer's weight averages (`use_ema=True`) in
`_model_variables_moving_average` and a schedule in `_learning_rate`, and
`BackupAndRestore` resumes by setting `model._initial_epoch`. Should Keras rename
them, this file is the one to change.
"""

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
