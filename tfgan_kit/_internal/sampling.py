"""Generator inputs: the latent prior, conditional labels and per-replica seeds, written once.

Training (`GAN`), `GAN.generate`, the exported signatures and `evaluate` all draw
through these functions, so one seed gives the same noise and labels everywhere.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

LATENT_DISTRIBUTIONS = ("normal", "uniform")


def check_latent_distribution(owner: str, distribution: str) -> None:
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"{owner} received latent_distribution={distribution!r}; "
            f"expected one of {LATENT_DISTRIBUTIONS}."
        )


def sample_latent(distribution: str, latent_dim: int, batch_size, seed) -> tf.Tensor:
    """`(batch_size, latent_dim)` noise from the prior, deterministic in `seed` (a [2] tensor)."""
    shape = tf.stack([batch_size, latent_dim])
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    return tf.random.stateless_normal(shape, seed)


def sample_labels(num_classes: int, batch_size, seed) -> tf.Tensor:
    """Uniform class ids for a conditional batch, from the same seed as its noise."""
    return tf.random.stateless_uniform(
        tf.reshape(batch_size, [1]), tf.random.experimental.stateless_fold_in(seed, 1),
        minval=0, maxval=num_classes, dtype=tf.int32,
    )


def generation_seed(seed: int) -> tf.Tensor:
    """The stateless seed `GAN.generate(n, seed=seed)` and the `sample` signature use."""
    return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])


def balanced_labels(num_samples: int, num_classes: Optional[int]) -> Optional[np.ndarray]:
    """Class ids 0, 1, ..., k-1, 0, 1, ...: every class equally often (None if unconditional)."""
    return None if not num_classes else np.arange(num_samples) % num_classes


def replica() -> tuple:
    """(index, count) of the current replica; (0, 1) outside `strategy.run`."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def draw_seed(seed_generator: keras.random.SeedGenerator, per_replica: bool = True) -> tf.Tensor:
    """A fresh stateless seed, the same on every replica unless `per_replica`.

    `SeedGenerator.next()` advances identically on all replicas, so a replica
    that needs its own randomness folds its id in (`per_replica=True`).
    """
    seed = tf.cast(seed_generator.next(), tf.int64)
    index, count = replica()
    if per_replica and count > 1:
        seed = tf.random.experimental.stateless_fold_in(seed, index)
    return seed


def replica_slice(values: Optional[tf.Tensor], batch_size) -> Optional[tf.Tensor]:
    """This replica's `batch_size` rows of a tensor drawn for the global batch."""
    index, count = replica()
    if values is None or count == 1:
        return values
    return values[index * batch_size : (index + 1) * batch_size]
