"""Adversarial loss families: small pure functions, logits in, scalar out.

Every discriminator loss takes `(real_logits, fake_logits, real_target)` and every
generator loss takes `fake_logits`; both return the mean over the batch. The
`real_target` argument carries one-sided label smoothing: only the real target
moves (1 -> 0.9), the fake target stays 0, which is what Salimans et al. (2016)
recommend and what `keras.losses.BinaryCrossentropy(label_smoothing=...)` does
*not* do (it smooths both sides).

`get(identifier)` turns a name from `LOSSES` (or a `(d_loss, g_loss)` pair) into
the pair of functions `GAN.compile` uses.
"""

import inspect
from typing import Callable, Tuple, Union

import tensorflow as tf

__all__ = [
    "LOSSES",
    "get",
    "minimax_loss_dis",
    "minimax_loss_gen",
    "ns_loss_gen",
    "hinge_loss_dis",
    "hinge_loss_gen",
    "least_squares_loss_dis",
    "least_squares_loss_gen",
    "wasserstein_loss_dis",
    "wasserstein_loss_gen",
    "relativistic_loss_dis",
    "relativistic_loss_gen",
    "takes_real_logits",
]

LossPair = Tuple[Callable, Callable]


def _bce(logits: tf.Tensor, target: float) -> tf.Tensor:
    logits = tf.cast(logits, tf.float32)
    labels = tf.fill(tf.shape(logits), tf.cast(target, tf.float32))
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    )


def _mean(x: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(x, tf.float32))


def minimax_loss_dis(real_logits, fake_logits, real_target=1.0):
    """-log D(x) - log(1 - D(G(z))): the discriminator side of the original game."""
    return _bce(real_logits, real_target) + _bce(fake_logits, 0.0)


def minimax_loss_gen(fake_logits):
    """log(1 - D(G(z))): saturates when D rejects fakes confidently."""
    return -_bce(fake_logits, 0.0)


def ns_loss_gen(fake_logits):
    """-log D(G(z)): the non-saturating generator loss (Goodfellow et al. 2014)."""
    return _bce(fake_logits, 1.0)


def hinge_loss_dis(real_logits, fake_logits, real_target=1.0):
    """mean(relu(t - D(x))) + mean(relu(1 + D(G(z)))), t = 1 unless smoothed."""
    return _mean(tf.nn.relu(real_target - tf.cast(real_logits, tf.float32))) + _mean(
        tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))
    )


def hinge_loss_gen(fake_logits):
    """-mean(D(G(z))): the generator side of the hinge loss (SNGAN)."""
    return -_mean(fake_logits)


def least_squares_loss_dis(real_logits, fake_logits, real_target=1.0):
    """LSGAN (Mao et al. 2017): 0.5 (D(x) - t)^2 + 0.5 D(G(z))^2 on raw outputs."""
    real = tf.cast(real_logits, tf.float32)
    return 0.5 * _mean(tf.square(real - real_target)) + 0.5 * _mean(
        tf.square(tf.cast(fake_logits, tf.float32))
    )


def least_squares_loss_gen(fake_logits):
    """0.5 (D(G(z)) - 1)^2 on raw outputs: the generator side of LSGAN."""
    return 0.5 * _mean(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))


def wasserstein_loss_dis(real_logits, fake_logits, real_target=1.0):
    """Critic loss E[D(G(z))] - E[D(x)]; pair it with a gradient penalty."""
    del real_target  # A critic has no target to smooth.
    return _mean(fake_logits) - _mean(real_logits)


def wasserstein_loss_gen(fake_logits):
    """-E[D(G(z))]: the generator side of the Wasserstein loss."""
    return -_mean(fake_logits)


def relativistic_loss_dis(real_logits, fake_logits, real_target=1.0):
    """RpGAN (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): softplus(-(D(x) - D(G(z)))).

    Each real sample is paired with the fake one at the same batch position, and D
    learns that the real one is *more* real than its partner.
    """
    del real_target  # The pairing has no target to smooth.
    return _mean(tf.nn.softplus(-(tf.cast(real_logits, tf.float32) - tf.cast(fake_logits, tf.float32))))


def relativistic_loss_gen(fake_logits, real_logits):
    """The mirror of `relativistic_loss_dis`: softplus(-(D(G(z)) - D(x))). Needs D's real logits."""
    return _mean(tf.nn.softplus(-(tf.cast(fake_logits, tf.float32) - tf.cast(real_logits, tf.float32))))


LOSSES = {
    "non_saturating": (minimax_loss_dis, ns_loss_gen),
    "minimax": (minimax_loss_dis, minimax_loss_gen),
    "hinge": (hinge_loss_dis, hinge_loss_gen),
    "least_squares": (least_squares_loss_dis, least_squares_loss_gen),
    "wasserstein": (wasserstein_loss_dis, wasserstein_loss_gen),
    "relativistic": (relativistic_loss_dis, relativistic_loss_gen),
}
"""The loss families by name, as `compile(loss=...)` takes them: `(discriminator_loss, generator_loss)`."""


def takes_real_logits(generator_loss: Callable) -> bool:
    """Whether a generator loss reads D's real logits too (a second positional argument)."""
    try:
        parameters = inspect.signature(generator_loss).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def get(identifier: Union[str, LossPair]) -> LossPair:
    """Returns the `(discriminator_loss, generator_loss)` pair for `identifier`."""
    if isinstance(identifier, str):
        if identifier not in LOSSES:
            raise ValueError(
                f"Unknown GAN loss {identifier!r}; expected one of {sorted(LOSSES)} "
                "or a (discriminator_loss, generator_loss) pair of callables."
            )
        return LOSSES[identifier]
    if (
        isinstance(identifier, (tuple, list))
        and len(identifier) == 2
        and all(callable(f) for f in identifier)
    ):
        return tuple(identifier)
    raise ValueError(
        f"Received loss={identifier!r}; expected one of {sorted(LOSSES)} "
        "or a (discriminator_loss, generator_loss) pair of callables."
    )
