"""`CrashSafeBackup`: the whole GAN state after every epoch, atomically; a re-run resumes.

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
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from tfgan_kit._internal.keras_access import set_initial_epoch
from tfgan_kit._internal.logs import report
from tfgan_kit.callbacks.training_state import all_finite, flat, training_state


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
        verbose: 0 silences the log lines (logger `"tfgan_kit"`). Defaults to 1.

    Examples:

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
        verbose: int = 1,
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
        self.verbose = verbose
        self.restored_epoch = 0
        self.restored_path = None
        self._manager = None

    def _make_manager(self):
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        # The epoch this run's `fit` started at (its initial_epoch): its dataset ran the epochs since.
        self._first_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="first_epoch")
        self._variables = training_state(self.model)
        checkpoint = tf.train.Checkpoint(epoch=self._epoch, first_epoch=self._first_epoch, **self._variables)
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
            set_initial_epoch(self.model, self.restored_epoch)
            if self.dataset is not None:
                self._replay_shuffling(self.restored_epoch - int(self._first_epoch.numpy()))
            report(f"CrashSafeBackup: resuming after epoch {self.restored_epoch} "
                   f"from {self.restored_path}", self.verbose, logging.INFO)

    def _replay_shuffling(self, epochs_done: int) -> None:
        """Advances the dataset's reshuffling to where the interrupted run was.

        tf.data draws each new iterator's shuffle order from a counter that
        restarts with the process. Keras 3 (`EpochIterator`) opens two iterators
        per epoch when the number of batches is known and `steps_per_epoch` is not
        given: one for the epoch and one it opens ahead at the epoch's end. Opening
        the same number here (without reading from them) puts the counter back;
        tests/callbacks/test_crash_safe_backup.py checks the replay is exact.
        """
        batches = int(self.dataset.cardinality())
        one_device = self.model.distribute_strategy.num_replicas_in_sync == 1
        if batches < 1 or batches != self.params.get("steps") or not one_device:
            report(
                "CrashSafeBackup restored the training state but cannot replay the data "
                "order (it needs a dataset of known length, no steps_per_epoch and one "
                "device): the resumed epochs see the batches in another order.",
                self.verbose,
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
                report(
                    f"CrashSafeBackup skipped unreadable backups ({', '.join(errors)}) "
                    f"and restored {path!r}.",
                    self.verbose,
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

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch.numpy() < 0:  # a fresh run: its fit's initial_epoch
            self._first_epoch.assign(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return  # Stopped mid-epoch (or stopping): this epoch may be incomplete.
        if not all_finite(flat(self._variables)):
            report(
                f"CrashSafeBackup: the state after epoch {epoch + 1} holds NaN or infinite "
                "values; kept the previous backup (add tfgan_kit.NaNGuard to recover).",
                self.verbose,
            )
            return
        self._epoch.assign(epoch + 1)
        # TF's savers log every save at INFO, through its own logger and absl's (which an
        # absl program prints into the progress bar: "Sharding callback duration: ...").
        loggers = [tf.get_logger(), logging.getLogger("absl")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            self._manager.save()
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
        self._finished = epoch + 1 >= self.params.get("epochs", np.inf)

    def on_train_end(self, logs=None):
        set_initial_epoch(self.model, None)  # The next fit starts where its caller says.
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
            "verbose": self.verbose,
        }


def _structure_error(error: Exception) -> bool:
    """True when a restore failed because the model differs, not because a file is damaged."""
    text = str(error)
    return isinstance(error, AssertionError) or any(
        fragment in text for fragment in ("shape", "Shape", "dtype", "not found in checkpoint")
    )
