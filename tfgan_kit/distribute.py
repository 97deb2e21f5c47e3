"""Strategies by name, and the checks that keep a distributed GAN equal to a 1-device one.

`GAN.train_step` is written so that N replicas on a global batch train exactly like
one device on that batch: each replica's gradients are divided by the replica count
before the optimizer sums them, each replica takes its own slice of the noise one
device would draw, and the reported metrics are means over the whole global batch.
What stays with the user: build and compile inside `strategy.scope()`, and feed
batches of the *global* size with `drop_remainder=True` (`check_dataset`).
"""

import json
import os
from typing import Optional, Sequence

import tensorflow as tf

from tfgan_kit._internal import batches

__all__ = [
    "STRATEGIES",
    "strategy_from_name",
    "is_multi_worker",
    "check_dataset",
]

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
"""The names `strategy_from_name` accepts."""


def strategy_from_name(
    name: str,
    devices: Optional[Sequence[str]] = None,
    tpu: Optional[str] = None,
) -> tf.distribute.Strategy:
    """Returns the `tf.distribute.Strategy` called `name`.

    Build the GAN and call `compile` inside the returned strategy's `scope()`;
    `fit` then runs every step on all replicas. Keras 3's own `keras.distribution`
    API covers JAX and PyTorch only, so on TensorFlow this is `tf.distribute`.

    - `"default"`: the current (by default no-op) strategy: one device.
    - `"mirrored"`: `tf.distribute.MirroredStrategy` over all local GPUs (or
      `devices`), synchronous, one machine.
    - `"multi_worker"`: `tf.distribute.MultiWorkerMirroredStrategy`, synchronous
      over several machines; each process reads its role from the `TF_CONFIG`
      environment variable (without it, one worker). Create it at program start,
      before TensorFlow runs any op.
    - `"tpu"`: `tf.distribute.TPUStrategy` through a `TPUClusterResolver(tpu)`
      (on a Cloud TPU VM `tpu=None` or `"local"` finds the attached TPU).

    Args:
        name: one of `"default"`, `"mirrored"`, `"multi_worker"`, `"tpu"`.
        devices: devices for `"mirrored"`, e.g. `["/gpu:0", "/gpu:1"]`.
            Defaults to `None` (all visible GPUs, else the CPU).
        tpu: TPU name or address for `"tpu"`. Defaults to `None` (local TPU).

    Examples:

    ```python
    strategy = tfgan_kit.distribute.strategy_from_name("mirrored")
    with strategy.scope():
        gan = tfgan_kit.GAN(generator_fn(), discriminator_fn(), latent_dim=100)
        gan.compile()
    gan.fit(tfgan_kit.load_dataset("mnist", batch_size=64 * strategy.num_replicas_in_sync))
    ```
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy_from_name received name={name!r}; expected one of {STRATEGIES}.")
    if devices is not None and name != "mirrored":
        raise ValueError(f"strategy_from_name received devices={devices!r} for {name!r}; "
                         "devices only apply to 'mirrored'.")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        raise RuntimeError(
            f"strategy_from_name('tpu') found no TPU (tpu={tpu!r}): {e}. Run on a Cloud TPU "
            "VM, or pass tpu='<name or grpc://address>'."
        ) from e
    return tf.distribute.TPUStrategy(resolver)


def _check_tf_config() -> None:
    """Refuses a TF_CONFIG that is not JSON or lacks a cluster/task before TF misreads it."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG={raw!r} is not valid JSON: {e}.") from e
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict) or "type" not in task:
        raise ValueError(
            f"TF_CONFIG={raw!r}; expected {{'cluster': {{'worker': ['host:port', ...]}}, "
            "'task': {'type': 'worker', 'index': i}}."
        )
    members = cluster.get(task["type"], [])
    if not 0 <= task.get("index", 0) < len(members):
        raise ValueError(
            f"TF_CONFIG names task {task}, but the cluster has {len(members)} "
            f"{task['type']!r} address(es): {cluster}."
        )


def is_multi_worker(strategy: Optional[tf.distribute.Strategy] = None) -> bool:
    """True when `strategy` (default: the current one) spans several worker processes."""
    strategy = strategy or tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    # The same test Keras' trainer applies before reducing step outputs over axis 0.
    return bool(strategy.extended._in_multi_worker_mode())


def check_dataset(dataset: tf.data.Dataset, strategy: Optional[tf.distribute.Strategy] = None) -> int:
    """Returns the global batch size of `dataset`, refusing batches a strategy would split unevenly.

    `fit` splits every global batch across the replicas. A last, short batch
    (`drop_remainder=False`) splits unevenly, so replicas with fewer examples get
    the same weight as full ones (and a batch smaller than the replica count leaves
    a replica empty: its mean loss is NaN). `tfgan_kit.load_dataset` already drops
    remainders; this check is for datasets built by hand.
    """
    strategy = strategy or tf.distribute.get_strategy()
    spec = batches.unpack(dataset.element_spec)[0]
    batch = spec.shape[0] if spec.shape.rank else None
    replicas = strategy.num_replicas_in_sync
    if batch is None:
        raise ValueError(
            f"The dataset's batch size is unknown ({spec}): batch it with drop_remainder=True "
            f"so that each of the {replicas} replica(s) gets an equal share of every batch."
        )
    if batch % replicas:
        raise ValueError(
            f"The dataset's global batch size {batch} is not divisible by the {replicas} "
            f"replicas; use a multiple of {replicas} (e.g. {replicas * max(1, batch // replicas)})."
        )
    return int(batch)
