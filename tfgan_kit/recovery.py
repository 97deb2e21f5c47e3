"""Losing nothing: crash-safe backups, a NaN guard and deterministic runs.

- `CrashSafeBackup`: after every epoch, the whole GAN state (both networks with
  their BatchNorm statistics, both optimizers' slots, iteration counts and
  generator EMA, every noise generator's state, the historical averages and the
  epoch counter) goes to `backup_dir` atomically; a re-run resumes from it.
- `NaNGuard`: on a non-finite loss or weight, puts back the last good weights and
  optimizer state, optionally lowers the learning rates, and stops after
  `max_recoveries`.
- `set_seed`: seeds Python, NumPy and TensorFlow and turns on op determinism.

Why not `keras.callbacks.BackupAndRestore` (measured, Keras 3.15): its weights
file holds both optimizers but no `SeedGenerator` state (neither the GAN's noise
nor the Dropout layers'), so a resumed run draws other noise; and it overwrites
`latest.weights.h5`, then writes the epoch to a second file, so a kill between
or during the two writes leaves a truncated file or weights from one epoch
labelled with another. `tf.train.CheckpointManager` writes each backup under a
new name and then commits it by atomically replacing one small state file.
"""

import logging
import os
import warnings
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit import regularizers


def set_seed(seed: int) -> None:
    """Makes runs repeatable: the same `seed` gives bitwise-identical weights on CPU.

    Seeds Python's `random`, NumPy and TensorFlow (`keras.utils.set_random_seed`)
    and calls `tf.config.experimental.enable_op_determinism()`, which makes every
    TF op and `tf.data` pipeline deterministic (ops without a deterministic kernel
    then raise instead of varying). Call it once, before building the networks
    and the dataset. Determinism holds on one machine with one software version;
    another CPU, thread count or TF release may round differently.

    Example:

    ```python
    tfgan_kit.set_seed(0)
    gan = tfgan_kit.GAN(generator, discriminator, latent_dim=64)
    ```
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed received seed={seed!r}; expected an int >= 0.")
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


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


def _all_finite(variables) -> bool:
    return all(
        np.all(np.isfinite(v.numpy())) for v in variables if keras.backend.is_float_dtype(v.dtype)
    )


def _flat(state: Dict[str, List]) -> List:
    return [v for group in state.values() for v in group]


class CrashSafeBackup(keras.callbacks.Callback):
    """Backs up the whole GAN state every epoch, so a killed run resumes where it was.

    Re-running the same script with the same `backup_dir` restores the newest
    backup when `fit` starts and continues from the next epoch: both networks
    (with BatchNorm statistics), both optimizers (slots, iteration counts,
    learning rates, generator EMA), every noise generator's state, the
    historical averages and the epoch counter. Pass the training `dataset` too and
    its reshuffling is fast-forwarded by the epochs already done, so the resumed
    run sees the same batches as an uninterrupted one and, after `set_seed`,
    ends with bitwise the same weights.

    Each backup is written under a new name and committed by atomically
    replacing one small state file (`tf.train.CheckpointManager`), so a kill
    during a write leaves the previous backup usable; the newest `max_to_keep`
    are kept, and an unreadable newest backup falls back to the one before
    (with a warning). A state with NaNs is never backed up. When `fit` completes
    all its epochs the backup files are deleted; a run stopped early (e.g. by
    `NaNGuard`) keeps them. What was backed up wins over a changed learning
    rate; to start over, delete `backup_dir`. A damaged or foreign backup is
    refused with a `ValueError` when `fit` starts: put this callback first, so
    no other callback has written anything by then.

    Args:
        backup_dir: directory for the backup files, used by this run only.
        dataset: the `tf.data.Dataset` passed to `fit`, to replay its shuffling
            exactly (one-device runs). Defaults to `None` (batches then come in
            another order after a resume; the state is still restored).
        max_to_keep: backups kept on disk. Defaults to 2.
        delete_on_finish: delete the backup files once all epochs are done.
            Defaults to `True`.

    Example:

    ```python
    tfgan_kit.set_seed(0)
    dataset = tfgan_kit.load_dataset("digits", seed=0)
    gan.fit(dataset, epochs=50, callbacks=[
        tfgan_kit.CrashSafeBackup("runs/digits/backup", dataset=dataset),
        tfgan_kit.NaNGuard(),
    ])
    ```
    """

    def __init__(
        self,
        backup_dir: str,
        dataset: Optional[tf.data.Dataset] = None,
        max_to_keep: int = 2,
        delete_on_finish: bool = True,
    ):
        super().__init__()
        if not backup_dir or not isinstance(backup_dir, (str, os.PathLike)):
            raise ValueError(
                f"CrashSafeBackup received backup_dir={backup_dir!r}; expected a directory path."
            )
        if dataset is not None and not isinstance(dataset, tf.data.Dataset):
            raise ValueError(
                f"CrashSafeBackup received dataset of type {type(dataset).__name__}; "
                "expected the tf.data.Dataset passed to fit (or None)."
            )
        if not isinstance(max_to_keep, int) or max_to_keep < 1:
            raise ValueError(
                f"CrashSafeBackup received max_to_keep={max_to_keep!r}; expected an int >= 1."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.dataset = dataset
        self.max_to_keep = max_to_keep
        self.delete_on_finish = delete_on_finish
        self.restored_epoch = 0
        self.restored_path = None
        self._manager = None

    def _make_manager(self):
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._variables = training_state(self.model)
        checkpoint = tf.train.Checkpoint(epoch=self._epoch, **self._variables)
        manager = tf.train.CheckpointManager(
            checkpoint, self.backup_dir, self.max_to_keep, checkpoint_name="backup"
        )
        index = os.path.join(self.backup_dir, "checkpoint")
        if os.path.exists(index) and not manager.checkpoints:
            # TF only logs "Checkpoint ignored" and would start over, then overwrite it.
            raise ValueError(
                f"CrashSafeBackup cannot read the backup index {index!r} (corrupted, or "
                "written by another tool). Delete the directory to start from scratch, or "
                "pass another backup_dir; nothing was changed."
            )
        return manager

    def on_train_begin(self, logs=None):
        if os.path.exists(self.backup_dir) and not os.path.isdir(self.backup_dir):
            raise ValueError(
                f"CrashSafeBackup received backup_dir={self.backup_dir!r}, which is a file; "
                "expected a directory (it is left untouched)."
            )
        self._manager = self._make_manager()
        self.restored_epoch = self.restore()
        self._finished = False
        if self.restored_epoch:
            self.model._initial_epoch = self.restored_epoch  # As Keras' BackupAndRestore.
            if self.dataset is not None:
                self._replay_shuffling(self.restored_epoch)
            print(f"CrashSafeBackup: resuming after epoch {self.restored_epoch} "
                  f"from {self.restored_path}")

    def _replay_shuffling(self, epochs_done: int) -> None:
        """Advances the dataset's reshuffling to where the interrupted run was.

        tf.data draws each new iterator's shuffle order from a counter that
        restarts with the process. Keras 3 (`EpochIterator`) opens two iterators
        per epoch when the number of batches is known and `steps_per_epoch` is not
        given: one for the epoch and one it opens ahead at the epoch's end. Opening
        the same number here (without reading from them) puts the counter back;
        tests/test_recovery.py checks the replay is exact.
        """
        batches = int(self.dataset.cardinality())
        one_device = self.model.distribute_strategy.num_replicas_in_sync == 1
        if batches < 1 or batches != self.params.get("steps") or not one_device:
            warnings.warn(
                "CrashSafeBackup restored the training state but cannot replay the data "
                "order (it needs a dataset of known length, no steps_per_epoch and one "
                "device): the resumed epochs see the batches in another order.",
                RuntimeWarning,
            )
            return
        for _ in range(2 * epochs_done):
            iter(self.dataset)

    def restore(self) -> int:
        """Loads the newest readable backup into the model; returns its epoch (0 if none)."""
        if self._manager is None:
            self._manager = self._make_manager()
        errors = []
        for path in reversed(self._manager.checkpoints):
            status = None
            try:
                status = self._manager.checkpoint.restore(path)
                status.assert_consumed()
            except Exception as e:  # Damaged files raise OpError, IndexError, DecodeError...
                if status is not None:
                    status.expect_partial()
                if not isinstance(e, tf.errors.DataLossError) and _structure_error(e):
                    raise ValueError(
                        f"CrashSafeBackup: the backup {path!r} was written by a different "
                        f"model or optimizer setup ({str(e).splitlines()[0][:300]}). Delete "
                        f"{self.backup_dir!r} to start from scratch, or pass another backup_dir."
                    ) from e
                errors.append(f"{os.path.basename(path)}: {type(e).__name__}")
                continue
            if errors:
                warnings.warn(
                    f"CrashSafeBackup skipped unreadable backups ({', '.join(errors)}) "
                    f"and restored {path!r}.",
                    RuntimeWarning,
                )
            self.restored_path = path
            return int(self._epoch.numpy())
        if errors:
            raise ValueError(
                f"CrashSafeBackup found no readable backup in {self.backup_dir!r} "
                f"({', '.join(errors)}): the files are corrupted. Delete that directory to "
                "start from scratch (it is left untouched)."
            )
        return 0

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return  # Stopped mid-epoch (or stopping): this epoch may be incomplete.
        if not _all_finite(_flat(self._variables)):
            warnings.warn(
                f"CrashSafeBackup: the state after epoch {epoch + 1} holds NaN or infinite "
                "values; kept the previous backup (add tfgan_kit.NaNGuard to recover).",
                RuntimeWarning,
            )
            return
        self._epoch.assign(epoch + 1)
        logger = tf.get_logger()  # The saver logs every save at INFO level.
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            self._manager.save()
        finally:
            logger.setLevel(level)
        self._finished = epoch + 1 >= self.params.get("epochs", np.inf)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # The next fit starts where its caller says.
        if self.delete_on_finish and self._finished:
            self.delete()

    def delete(self) -> None:
        """Removes this callback's backup files (nothing else in `backup_dir`)."""
        if not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            if name == "checkpoint" or name.startswith("backup-"):
                path = os.path.join(self.backup_dir, name)
                if os.path.isdir(path):  # A write's leftover `backup-N_temp`.
                    tf.io.gfile.rmtree(path)
                else:
                    os.remove(path)
        if not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)

    def get_config(self):
        return {
            "backup_dir": self.backup_dir,
            "max_to_keep": self.max_to_keep,
            "delete_on_finish": self.delete_on_finish,
        }


def _structure_error(error: Exception) -> bool:
    """True when a restore failed because the model differs, not because a file is damaged."""
    text = str(error)
    return isinstance(error, AssertionError) or any(
        fragment in text for fragment in ("shape", "Shape", "dtype", "not found in checkpoint")
    )


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
    is recorded in `guard.events`, the stop message in `guard.stopped_message`.

    Keras' `TerminateOnNaN` only stops, leaving NaN weights in the model; this
    guard always leaves finite ones.

    Args:
        max_recoveries: recoveries allowed before training stops. Defaults to 3.
        lr_factor: factor applied to both learning rates at each recovery, in
            (0, 1]; 1 keeps them. Defaults to 0.5.
        monitor: log names to check. Defaults to `("d_loss", "g_loss")`.

    Example:

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
        self.events = []
        self.stopped_message = None

    def on_train_begin(self, logs=None):
        self._variables = _flat(training_state(self.model, include_seeds=False))
        self._optimizers = [
            v for v in vars(self.model).values() if isinstance(v, keras.optimizers.Optimizer)
        ]
        self._snapshot = None
        self.events, self.stopped_message = [], None

    def on_epoch_begin(self, epoch, logs=None):
        # After every on_train_begin (a restored backup included).
        self._epoch = epoch
        if _all_finite(self._variables):
            self._snapshot = [v.numpy() for v in self._variables]
            self._snapshot_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = self._non_finite(logs)
        if bad:
            self._recover(self._epoch, batch, bad)

    def on_epoch_end(self, epoch, logs=None):
        if not self.model.stop_training and not _all_finite(self._variables):
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
            self.stopped_message = (
                f"NaNGuard stopped training: non-finite {sorted(bad)} at {where} after "
                f"{len(self.events)} recoveries (max_recoveries={self.max_recoveries}); the "
                f"model holds the last finite state (start of epoch {self._snapshot_epoch + 1}). "
                "Lower the learning rates, add a gradient penalty (gradient_penalty= or "
                "r1_gamma=), or check the data for NaN or extreme values."
            )
            warnings.warn(self.stopped_message, RuntimeWarning)
            return
        new_lrs = []
        for opt, lr in zip(self._optimizers, lrs):
            try:
                opt.learning_rate = lr * self.lr_factor
                new_lrs.append(lr * self.lr_factor)
            except TypeError:  # A LearningRateSchedule cannot be set.
                new_lrs.append(lr)
        self.events.append(
            {"epoch": epoch, "batch": batch, "values": bad, "learning_rates": new_lrs}
        )
        print(f"NaNGuard: non-finite {bad} at {where}; restored the state of the start of "
              f"epoch {self._snapshot_epoch + 1}, learning rates now {new_lrs} "
              f"(recovery {len(self.events)} of {self.max_recoveries}).")

    def get_config(self):
        return {
            "max_recoveries": self.max_recoveries,
            "lr_factor": self.lr_factor,
            "monitor": list(self.monitor),
        }
