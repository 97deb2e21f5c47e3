"""`ImbalanceMonitor`: notices when one network overpowers the other, says so, and acts."""

import collections
from typing import Dict, Optional

import keras

from tfgan_kit._internal.keras_access import inner_optimizer, learning_rate_schedule
from tfgan_kit._internal.logs import report
from tfgan_kit._internal.signals import SIGNALS, check_gan, check_mode, scalar

STATES = ("balanced", "discriminator_dominates", "generator_dominates", "discriminator_overfits",
          "equilibrium")
OVERFIT_MODES = (None, "warn", "rebalance", "stop")
IMBALANCE_MODES = ("warn", "rebalance", "stop")
EQUILIBRIUM_MODES = (None, "warn", "stop")


class ImbalanceMonitor(keras.callbacks.Callback):
    """Detects a discriminator or a generator that overpowers the other, and acts.

    "Both models should improve together": when the discriminator wins outright,
    D(G(z)) goes to 0 with near-perfect accuracy and the generator's gradient
    vanishes; when the generator wins, the discriminator calls fakes real and
    stops teaching. The monitor reads the GAN's `d_real`, `d_fake`, `d_acc_real`
    and `d_acc_fake` after every call of the train function, averages them over
    a sliding window of the last `window` batches, and classifies the state:

    - `"discriminator_dominates"`: mean D(G(z)) < `d_fake_low` **and** mean
      accuracy ((real + fake) / 2) > `accuracy_high`;
    - `"generator_dominates"`: D rates fakes at least as real as real data
      (mean D(G(z)) - mean D(x) > `fake_real_gap`) **and** fake accuracy <
      `fake_accuracy_low`;
    - `"discriminator_overfits"` (only when `overfit_mode` is set): D is sure of
      the training images, ADA's r_t = E[sign(D(x))] = 2 * real accuracy - 1 over
      the window above `overfit_sign`; and, at an epoch's end when `fit` has
      `validation_data`, r_t on training images exceeds r_t on the held-out ones
      by more than `overfit_gap` (D memorised, rather than learnt, the real data).
      In `"rebalance"` mode the action raises the augmentation probability of a
      GAN compiled with `augment=` by `overfit_p_step` (else D's learning rate falls);
    - `"equilibrium"` (only when `equilibrium_mode` is set): mean accuracy
      within `equilibrium_band` of 50 % **and** |mean D(x) - mean D(G(z))| <=
      `equilibrium_gap`: D can no longer tell real from generated images, as
      at the game's equilibrium (D = 1/2 everywhere), so its feedback to the
      generator carries little information and training on wastes compute;
    - `"balanced"` otherwise.

    Why these defaults (the measurements behind each threshold) is in
    `docs/concepts.md`, "Why the monitors' defaults".

    An *episode* starts when the windowed state leaves `"balanced"` (or switches
    side) and ends after a whole window of balance. Per episode: `mode="warn"`
    logs one line (logger `"tfgan_kit"`); `"rebalance"` multiplies the dominating
    network's learning rate (an optimizer variable, so the traced step sees it) by
    `rebalance_factor` at the start and after every further window, never below
    `min_lr_scale` times its rate when `fit` began; `"stop"` ends `fit` and keeps
    the reason in `stop_reason`. Equilibrium and overfitting episodes follow
    `equilibrium_mode` / `overfit_mode` instead (equilibrium never rebalances).
    Every episode is appended to `events` (`epoch` 1-based, `step` = batches since
    `fit` began, `state`, the windowed signals, the `action`, `end_step`), and the
    epoch logs get `imbalance_events` (plus `equilibrium_events`, and `d_lr_scale` /
    `g_lr_scale` in rebalance mode), so `History` keeps them. The exact window means
    are recovered from Keras' running means (also with `steps_per_execution`);
    under a `tf.distribute` strategy the logs are already global means.

    Args:
        window: batches the state is averaged over. Defaults to 50.
        d_fake_low: D(G(z)) below this (with high accuracy) means the
            discriminator dominates. Defaults to 0.1.
        accuracy_high: mean D accuracy above this (with low D(G(z))) means the
            discriminator dominates. Defaults to 0.95.
        fake_accuracy_low: fake accuracy below this (with D(G(z)) > D(x)) means
            the generator dominates. Defaults to 0.1.
        fake_real_gap: how far D(G(z)) must exceed D(x) for generator dominance.
            Defaults to 0.0.
        mode: `"warn"`, `"rebalance"` or `"stop"`. Defaults to `"warn"`.
        rebalance_factor: learning-rate multiplier applied to the dominating
            network in rebalance mode, in (0, 1). Defaults to 0.1.
        min_lr_scale: lowest learning-rate scale rebalancing may reach, in
            (0, 1]. Defaults to 0.01.
        verbose: 0 silences the log lines (events are still recorded).
            Defaults to 1.
        overfit_mode: `None` (no overfitting detection), `"warn"`, `"rebalance"`
            or `"stop"`. Defaults to None.
        overfit_sign: window r_t above which D overfits, in (0, 1]. Defaults to 0.6
            (ADA's target).
        overfit_gap: training minus validation r_t above which D overfits.
            Defaults to 0.3.
        overfit_p_step: rise of the augmentation probability per action.
            Defaults to 0.1.
        equilibrium_mode: `None` (no equilibrium detection), `"warn"` or
            `"stop"`. Defaults to None.
        equilibrium_band: half-width of the accuracy band around 50 %, in
            (0, 0.5]: 0.05 is [45 %, 55 %]. Defaults to 0.05.
        equilibrium_gap: largest |D(x) - D(G(z))| (window means) that counts
            as equilibrium, in [0, 1]; 1.0 judges by accuracy alone.
            Defaults to 0.01.

    Examples:

    ```python
    monitor = tfgan_kit.ImbalanceMonitor(mode="rebalance")
    gan.fit(dataset, epochs=20, callbacks=[monitor])
    for event in monitor.events:
        print(event["epoch"], event["state"], event["d_fake"], event["action"])
    # Also stop once D can no longer tell real from generated images:
    monitor = tfgan_kit.ImbalanceMonitor(mode="rebalance", equilibrium_mode="stop")
    ```
    """

    def __init__(
        self,
        window: int = 50,
        d_fake_low: float = 0.1,
        accuracy_high: float = 0.95,
        fake_accuracy_low: float = 0.1,
        fake_real_gap: float = 0.0,
        mode: str = "warn",
        rebalance_factor: float = 0.1,
        min_lr_scale: float = 0.01,
        verbose: int = 1,
        equilibrium_mode: Optional[str] = None,
        equilibrium_band: float = 0.05,
        equilibrium_gap: float = 0.01,
        overfit_mode: Optional[str] = None,
        overfit_sign: float = 0.6,
        overfit_gap: float = 0.3,
        overfit_p_step: float = 0.1,
    ):
        super().__init__()
        name = self.__class__.__name__
        check_mode(name, mode, IMBALANCE_MODES)
        check_mode(name, equilibrium_mode, EQUILIBRIUM_MODES, "equilibrium_mode")
        check_mode(name, overfit_mode, OVERFIT_MODES, "overfit_mode")
        for key, value in (("overfit_sign", overfit_sign), ("overfit_gap", overfit_gap),
                           ("overfit_p_step", overfit_p_step)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} received {key}={value!r}; expected (0, 1].")
        if not 0.0 < equilibrium_band <= 0.5:
            raise ValueError(f"{name} received equilibrium_band={equilibrium_band!r}; expected (0, 0.5].")
        if not 0.0 <= equilibrium_gap <= 1.0:
            raise ValueError(f"{name} received equilibrium_gap={equilibrium_gap!r}; expected [0, 1].")
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"{name} received window={window!r}; expected an int >= 1 (batches).")
        for key, value in (("d_fake_low", d_fake_low), ("accuracy_high", accuracy_high),
                           ("fake_accuracy_low", fake_accuracy_low)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} received {key}={value!r}; expected a value in [0, 1].")
        if not -1.0 <= fake_real_gap < 1.0:
            raise ValueError(f"{name} received fake_real_gap={fake_real_gap!r}; expected [-1, 1).")
        if not 0.0 < rebalance_factor < 1.0:
            raise ValueError(
                f"{name} received rebalance_factor={rebalance_factor!r}; expected (0, 1)."
            )
        if not 0.0 < min_lr_scale <= 1.0:
            raise ValueError(f"{name} received min_lr_scale={min_lr_scale!r}; expected (0, 1].")
        self.window = window
        self.d_fake_low = float(d_fake_low)
        self.accuracy_high = float(accuracy_high)
        self.fake_accuracy_low = float(fake_accuracy_low)
        self.fake_real_gap = float(fake_real_gap)
        self.mode = mode
        self.rebalance_factor = float(rebalance_factor)
        self.min_lr_scale = float(min_lr_scale)
        self.verbose = verbose
        self.equilibrium_mode = equilibrium_mode
        self.equilibrium_band = float(equilibrium_band)
        self.equilibrium_gap = float(equilibrium_gap)
        self.overfit_mode = overfit_mode
        self.overfit_sign = float(overfit_sign)
        self.overfit_gap = float(overfit_gap)
        self.overfit_p_step = float(overfit_p_step)
        self.events = []
        self.stop_reason = None
        self.state = "balanced"

    # ------------------------------------------------------------------ hooks

    def on_train_begin(self, logs=None):
        check_gan(self.__class__.__name__, self.model)
        self._chunks = collections.deque()  # (batches, {signal: mean over them})
        self._step = 0
        self._episode = None
        self._balanced_run = 0
        self._last_action_step = 0
        self.state = "balanced"
        self.stop_reason = None
        self.lr_scale = {"d": 1.0, "g": 1.0}
        self._base_lr = {}
        if "rebalance" in (self.mode, self.overfit_mode):
            for key in ("d", "g"):
                optimizer = inner_optimizer(getattr(self.model, f"{key}_optimizer"))
                schedule = learning_rate_schedule(optimizer)
                if schedule is not None:
                    raise ValueError(
                        f"ImbalanceMonitor(mode='rebalance') scales learning rates, but "
                        f"{key}_optimizer uses the schedule {schedule!r}; "
                        "give it a float learning rate, or use mode='warn'."
                    )
                self._base_lr[key] = float(optimizer.learning_rate.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._seen = 0
        self._previous = dict.fromkeys(SIGNALS, 0.0)
        self._epoch_events = 0
        self._epoch_equilibria = 0

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        if any(key not in logs for key in SIGNALS):
            return
        seen = batch + 1
        if self.params and self.params.get("steps"):
            seen = min(seen, self.params["steps"])  # a short last execution
        count = seen - self._seen
        if count <= 0:
            return
        current = {key: scalar(logs[key]) for key in SIGNALS}
        # Exact mean of the batches since the last call, from two running means.
        chunk = {
            key: (current[key] * seen - self._previous[key] * self._seen) / count
            for key in SIGNALS
        }
        chunk = {key: min(1.0, max(0.0, value)) for key, value in chunk.items()}
        self._previous, self._seen = current, seen
        self._step += count
        self._chunks.append((count, chunk))
        while sum(n for n, _ in self._chunks) - self._chunks[0][0] >= self.window:
            self._chunks.popleft()
        if sum(n for n, _ in self._chunks) >= self.window:
            self._update(self.classify(self.window_means()), count)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self.overfit_mode is not None and {"d_acc_real", "val_d_acc_real"} <= set(logs):
            train, held_out = (2 * scalar(logs[k]) - 1 for k in ("d_acc_real", "val_d_acc_real"))
            if train - held_out > self.overfit_gap:
                self._begin_episode("discriminator_overfits",
                                    {"real_sign": round(train, 4), "val_real_sign": round(held_out, 4)})
                self._end_episode()
        logs["imbalance_events"] = self._epoch_events
        if self.equilibrium_mode is not None:
            logs["equilibrium_events"] = self._epoch_equilibria
        if self.mode == "rebalance":
            logs["d_lr_scale"] = self.lr_scale["d"]
            logs["g_lr_scale"] = self.lr_scale["g"]

    # ---------------------------------------------------------------- the logic

    def window_means(self) -> Dict[str, float]:
        """The signals averaged over the current window (batch-weighted)."""
        total = sum(n for n, _ in self._chunks)
        means = {
            key: sum(n * chunk[key] for n, chunk in self._chunks) / total for key in SIGNALS
        }
        means["accuracy"] = 0.5 * (means["d_acc_real"] + means["d_acc_fake"])
        return means

    def classify(self, means: Dict[str, float]) -> str:
        if means["d_fake"] < self.d_fake_low and means["accuracy"] > self.accuracy_high:
            return "discriminator_dominates"
        if (means["d_fake"] - means["d_real"] > self.fake_real_gap
                and means["d_acc_fake"] < self.fake_accuracy_low):
            return "generator_dominates"
        if self.overfit_mode is not None and 2 * means["d_acc_real"] - 1 > self.overfit_sign:
            return "discriminator_overfits"
        if (self.equilibrium_mode is not None
                and abs(means["accuracy"] - 0.5) <= self.equilibrium_band
                and abs(means["d_real"] - means["d_fake"]) <= self.equilibrium_gap):
            return "equilibrium"
        return "balanced"

    def _update(self, state: str, count: int) -> None:
        self.state = state
        if state == "balanced":
            if self._episode is not None:
                self._balanced_run += count
                if self._balanced_run >= self.window:
                    self._end_episode()
            return
        self._balanced_run = 0
        if self._episode is None or self._episode["state"] != state:
            if self._episode is not None:
                self._end_episode()
            self._begin_episode(state)
        elif ((self.overfit_mode if state == "discriminator_overfits" else self.mode) == "rebalance"
              and state != "equilibrium" and self._step - self._last_action_step >= self.window):
            self._episode["rebalances"] += 1
            self._rebalance(state)

    def _begin_episode(self, state: str, validation: Optional[dict] = None) -> None:
        event = {"epoch": self._epoch + 1, "step": self._step, "state": state}
        if validation is None:
            event.update({key: round(value, 4) for key, value in self.window_means().items()})
            event["window"] = sum(n for n, _ in self._chunks)
        else:  # From D's verdicts on held-out real images at the epoch's end.
            event.update(validation, window="validation")
        event.update({"end_step": None, "rebalances": 0})
        mode = {"equilibrium": self.equilibrium_mode,
                "discriminator_overfits": self.overfit_mode}.get(state, self.mode)
        if mode == "rebalance":
            event["action"] = self._rebalance(state)
        elif mode == "stop":
            event["action"] = "stopped training"
            self.model.stop_training = True
        else:
            event["action"] = "warned"
        self._episode = event
        self.events.append(event)
        if state == "equilibrium":
            self._epoch_equilibria += 1
        else:
            self._epoch_events += 1
        message = self._describe(event)
        if mode == "stop":
            self.stop_reason = message
        report(message, self.verbose)

    def _end_episode(self) -> None:
        self._episode["end_step"] = self._step
        self._episode = None
        self._balanced_run = 0

    def _rebalance(self, state: str) -> str:
        """Scales the dominating network's learning rate variable (or, for an overfitting D of
        an augmenting GAN, raises the augmentation probability); returns what it did."""
        augment = getattr(self.model, "augment", None)
        self._last_action_step = self._step
        if state == "discriminator_overfits" and augment is not None:
            p = min(1.0, float(augment.p.numpy()) + self.overfit_p_step)
            augment.p.assign(p)
            return f"raised the augmentation probability to {p:.2f}"
        key = "g" if state == "generator_dominates" else "d"
        scale = max(self.lr_scale[key] * self.rebalance_factor, self.min_lr_scale)
        if scale == self.lr_scale[key]:
            return f"{key}_optimizer learning rate already at its floor"
        self.lr_scale[key] = scale
        optimizer = inner_optimizer(getattr(self.model, f"{key}_optimizer"))
        optimizer.learning_rate = self._base_lr[key] * scale
        return (f"scaled {'the discriminator' if key == 'd' else 'the generator'}'s learning "
                f"rate to {scale:g}x ({self._base_lr[key] * scale:.3g})")

    def _describe(self, event: dict) -> str:
        why = {
            "discriminator_dominates": (
                f"D(G(z)) < {self.d_fake_low:g} and D accuracy > {self.accuracy_high:.0%}: "
                "the generator's gradient is vanishing"
            ),
            "generator_dominates": (
                f"D rates fakes above real data and fake accuracy < "
                f"{self.fake_accuracy_low:.0%}: the discriminator has stopped teaching"
            ),
            "discriminator_overfits": (
                "D is sure of the training images (r_t = E[sign(D(x))] "
                + (f"{event.get('real_sign', 0):.2f} on them, {event.get('val_real_sign', 0):.2f} on "
                   f"held-out ones, gap > {self.overfit_gap:g}" if event["window"] == "validation"
                   else f"> {self.overfit_sign:g}")
                + "): it memorises the data; augment what it sees"
            ),
            "equilibrium": (
                f"D accuracy within {self.equilibrium_band:.0%} of 50 % and "
                f"|D(x) - D(G(z))| <= {self.equilibrium_gap:g}: D cannot tell real from "
                "generated images, so its feedback to the generator carries little information"
            ),
        }[event["state"]]
        if event["window"] == "validation":
            where = "at the epoch's end, against the validation images ("
        else:
            where = (f"over the last {event['window']} batches (D(x)={event['d_real']:.3f}, "
                     f"D(G(z))={event['d_fake']:.3f}, D accuracy real/fake "
                     f"{event['d_acc_real']:.0%}/{event['d_acc_fake']:.0%}; ")
        return (f"ImbalanceMonitor: epoch {event['epoch']}, batch {event['step']}: "
                f"{event['state']} {where}{why}). Action: {event['action']}.")

    def get_config(self) -> dict:
        return {
            "window": self.window,
            "d_fake_low": self.d_fake_low,
            "accuracy_high": self.accuracy_high,
            "fake_accuracy_low": self.fake_accuracy_low,
            "fake_real_gap": self.fake_real_gap,
            "mode": self.mode,
            "rebalance_factor": self.rebalance_factor,
            "min_lr_scale": self.min_lr_scale,
            "verbose": self.verbose,
            "equilibrium_mode": self.equilibrium_mode,
            "equilibrium_band": self.equilibrium_band,
            "equilibrium_gap": self.equilibrium_gap,
            "overfit_mode": self.overfit_mode,
            "overfit_sign": self.overfit_sign,
            "overfit_gap": self.overfit_gap,
            "overfit_p_step": self.overfit_p_step,
        }
