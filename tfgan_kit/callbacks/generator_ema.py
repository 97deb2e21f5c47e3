"""`GeneratorEMA`: when the generator's weight average starts, its decay, and its final copy."""

from typing import Optional

import keras
import numpy as np

from tfgan_kit._internal.keras_access import ema_variables, inner_optimizer


class GeneratorEMA(keras.callbacks.Callback):
    """Controls the exponential moving average of the generator's weights.

    Averaged generator weights (Polyak averaging) give smoother, often better
    samples than the last training step's. The average itself lives in-graph in
    `g_optimizer` (Keras' optimizer EMA, switched on by
    `gan.compile(generator_ema=...)`), so there is one copy, updated inside the
    train step: `gan.generate`, `SampleGrid` and `gan.ema_weights()` (export)
    use it. This callback adds what compile cannot:

    - `decay`: sets the decay before the train step is traced (the optimizer
      reads it as a Python number; if `fit` already traced the step with another
      decay, the step is re-traced once);
    - `start_step`: until the generator has taken `start_step` optimizer steps
      the average is reset to the current weights after every batch, so early,
      poor weights never enter it (counted with `g_optimizer.iterations`, so
      it continues across `fit` calls and resumed runs);
    - `finalize`: at the end of `fit`, copy the average into the generator's
      weights (what Keras' `finalize_variable_values` does for `model.optimizer`),
      for code that reads `gan.generator` directly. Off by default: the next
      `fit` would then resume the game from the averaged generator, not the
      trained one, and `generate`/`SampleGrid`/export already use the average.

    Only trainable weights are averaged; BatchNormalization moving statistics are
    the training generator's.

    Args:
        decay: EMA decay in (0, 1) (e.g. 0.999 averages ~1000 steps). Defaults to
            `None`: the decay given to `compile`.
        start_step: generator step at which averaging starts. Defaults to 0.
        finalize: copy the average into the generator at the end of `fit`.
            Defaults to False.

    Examples:

    ```python
    gan.compile(generator_ema=0.999)
    gan.fit(dataset, epochs=20, callbacks=[tfgan_kit.GeneratorEMA(start_step=1000)])
    images = gan.generate(16, seed=0)  # drawn with the averaged weights
    ```
    """

    def __init__(self, decay: Optional[float] = None, start_step: int = 0, finalize: bool = False):
        super().__init__()
        if decay is not None and not 0.0 < decay < 1.0:
            raise ValueError(
                f"GeneratorEMA received decay={decay!r}; expected a value in (0, 1), e.g. 0.999."
            )
        if not isinstance(start_step, (int, np.integer)) or start_step < 0:
            raise ValueError(
                f"GeneratorEMA received start_step={start_step!r}; expected an int >= 0."
            )
        self.decay = decay
        self.start_step = int(start_step)
        self.finalize = finalize

    def _optimizer(self):
        optimizer = inner_optimizer(getattr(self.model, "g_optimizer", None))
        if not ema_variables(optimizer):
            raise ValueError(
                f"GeneratorEMA needs a GAN compiled with generator_ema, but model "
                f"{self.model.name!r} has g_optimizer={optimizer!r} without an EMA; "
                f"call gan.compile(..., generator_ema={self.decay or 0.999}) first (the average "
                "lives in the optimizer, whose variables are made when it is built)."
            )
        return optimizer

    def on_train_begin(self, logs=None):
        optimizer = self._optimizer()
        if self.decay is not None and self.decay != optimizer.ema_momentum:
            optimizer.ema_momentum = float(self.decay)
            self.model.generator_ema = float(self.decay)  # keeps the compile config true
            self.model.make_train_function(force=True)  # a traced step holds the old decay
        self._averages = ema_variables(optimizer)
        self._variables = list(self.model.generator.trainable_variables)
        step = int(optimizer.iterations.numpy())
        self._started = step >= self.start_step
        if step < self.start_step or 0 < step == self.start_step:
            self._reset()

    def on_train_batch_end(self, batch, logs=None):
        if self._started:
            return
        self._reset()
        self._started = int(self._optimizer().iterations.numpy()) >= self.start_step

    def on_train_end(self, logs=None):
        if self.finalize:
            for variable, average in zip(self._variables, self._averages):
                variable.assign(average)

    def _reset(self):
        """The average restarts from the current weights."""
        for variable, average in zip(self._variables, self._averages):
            average.assign(variable)

    def get_config(self):
        return {"decay": self.decay, "start_step": self.start_step, "finalize": self.finalize}
