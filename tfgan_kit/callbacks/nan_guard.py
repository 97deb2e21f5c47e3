"""`NaNGuard`: undoes a step that made the losses or weights NaN, lowers the rates, carries on."""

import keras
import numpy as np

from tfgan_kit._internal.logs import report
from tfgan_kit.callbacks.training_state import all_finite, flat, training_state


class NaNGuard(keras.callbacks.Callback):
    """Undoes a step that made the losses or weights NaN, instead of training on garbage.

    After every batch the logged losses are checked; at every epoch's end the
    weights too. On a non-finite value the guard puts back the last good state
    (both networks, both optimizers' slots, iterations and EMA: snapshots taken
    in memory at the start of each epoch), multiplies every learning rate by
    `lr_factor`, resets the running metrics and continues with fresh noise (the
    noise generators are not rewound, so the same bad draw does not repeat).
    After `max_recoveries` recoveries it restores the last good state once more
    and stops training with a message that says what to change. Every recovery
    is recorded in `guard.events` (`epoch` 1-based, `batch` 1-based within it or
    `None` for a check at the epoch's end), the stop message in `guard.stop_reason`;
    messages go to the `"tfgan_kit"` logger.

    Keras' `TerminateOnNaN` only stops, leaving NaN weights in the model; this
    guard always leaves finite ones.

    Args:
        max_recoveries: recoveries allowed before training stops. Defaults to 3.
        lr_factor: factor applied to both learning rates at each recovery, in
            (0, 1]; 1 keeps them. Defaults to 0.5.
        monitor: log names to check. Defaults to `("d_loss", "g_loss")`.
        verbose: 0 silences the log lines (events are still recorded). Defaults to 1.

    Examples:

    ```python
    guard = tfgan_kit.NaNGuard(max_recoveries=3, lr_factor=0.5)
    gan.fit(dataset, epochs=50, callbacks=[guard])
    print(guard.events)
    ```
    """

    def __init__(
        self,
        max_recoveries: int = 3,
        lr_factor: float = 0.5,
        monitor=("d_loss", "g_loss"),
        verbose: int = 1,
    ):
        super().__init__()
        if not isinstance(max_recoveries, int) or isinstance(max_recoveries, bool) or (
            max_recoveries < 0
        ):
            raise ValueError(
                f"NaNGuard received max_recoveries={max_recoveries!r}; expected an int >= 0."
            )
        if not 0.0 < lr_factor <= 1.0:
            raise ValueError(f"NaNGuard received lr_factor={lr_factor!r}; expected (0, 1].")
        if isinstance(monitor, str):
            monitor = (monitor,)
        self.max_recoveries = max_recoveries
        self.lr_factor = float(lr_factor)
        self.monitor = tuple(monitor)
        self.verbose = verbose
        self.events = []
        self.stop_reason = None

    def on_train_begin(self, logs=None):
        self._variables = flat(training_state(self.model, include_seeds=False))
        self._optimizers = [
            v for v in vars(self.model).values() if isinstance(v, keras.optimizers.Optimizer)
        ]
        self._snapshot = None
        self.events, self.stop_reason = [], None

    def on_epoch_begin(self, epoch, logs=None):
        # After every on_train_begin (a restored backup included).
        self._epoch = epoch
        if all_finite(self._variables):
            self._snapshot = [v.numpy() for v in self._variables]
            self._snapshot_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = self._non_finite(logs)
        if bad:
            self._recover(self._epoch, batch, bad)

    def on_epoch_end(self, epoch, logs=None):
        if not self.model.stop_training and not all_finite(self._variables):
            self._recover(epoch, None, {"weights": float("nan")})

    def _non_finite(self, logs) -> dict:
        logs = logs or {}
        bad = {}
        for name in self.monitor:
            if name in logs and not np.all(np.isfinite(np.asarray(logs[name], np.float64))):
                bad[name] = float(np.asarray(logs[name]).reshape(-1)[0])
        return bad

    def _recover(self, epoch, batch, bad):
        if self._snapshot is None:
            raise FloatingPointError(
                f"NaNGuard: {bad} before any finite state was seen; the initial weights "
                "or the data hold NaN or infinite values."
            )
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        lrs = [float(np.asarray(opt.learning_rate)) for opt in self._optimizers]
        for v, value in zip(self._variables, self._snapshot):
            v.assign(value)
        self.model.reset_metrics()
        if len(self.events) >= self.max_recoveries:
            self.model.stop_training = True
            self.stop_reason = (
                f"NaNGuard stopped training: non-finite {sorted(bad)} at {where} after "
                f"{len(self.events)} recoveries (max_recoveries={self.max_recoveries}); the "
                f"model holds the last finite state (start of epoch {self._snapshot_epoch + 1}). "
                "Lower the learning rates, add a gradient penalty (gradient_penalty= or "
                "r1_gamma=), or check the data for NaN or extreme values."
            )
            report(self.stop_reason, self.verbose)
            return
        new_lrs = []
        for opt, lr in zip(self._optimizers, lrs):
            try:
                opt.learning_rate = lr * self.lr_factor
                new_lrs.append(lr * self.lr_factor)
            except TypeError:  # A LearningRateSchedule cannot be set.
                new_lrs.append(lr)
        self.events.append(
            {"epoch": epoch + 1, "batch": None if batch is None else batch + 1, "values": bad,
             "learning_rates": new_lrs}
        )
        report(f"NaNGuard: non-finite {bad} at {where}; restored the state of the start of "
               f"epoch {self._snapshot_epoch + 1}, learning rates now {new_lrs} "
               f"(recovery {len(self.events)} of {self.max_recoveries}).", self.verbose)

    def get_config(self):
        return {
            "max_recoveries": self.max_recoveries,
            "lr_factor": self.lr_factor,
            "monitor": list(self.monitor),
            "verbose": self.verbose,
        }
