"""The contract between `GAN` and the callbacks that watch it: metric names, checks, log values."""

import numpy as np

# What `GAN.train_step` and `GAN.test_step` report every step, under these names.
METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake")
# The subset the imbalance monitor reads.
SIGNALS = ("d_real", "d_fake", "d_acc_real", "d_acc_fake")


def check_gan(owner: str, model) -> None:
    """The monitors read the GAN's reported signals; anything else is refused clearly."""
    names = {m.name for m in getattr(model, "metrics", [])}
    missing = [n for n in METRIC_NAMES if n not in names]
    if missing:
        raise ValueError(
            f"{owner} watches a tfgan_kit.GAN, but model {getattr(model, 'name', model)!r} "
            f"does not report {missing}; expected the metrics {METRIC_NAMES}."
        )


def check_mode(owner: str, mode, modes: tuple, argument: str = "mode") -> None:
    if mode not in modes:
        raise ValueError(f"{owner} received {argument}={mode!r}; expected one of {modes}.")


def scalar(value) -> float:
    """A logged value as a float (multi-worker runs log 1-element vectors)."""
    return float(np.asarray(value).reshape(-1)[0])
