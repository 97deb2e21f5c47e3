"""Subprocess half of tests/test_distribute.py: trains a tiny GAN under a strategy.

    python distribute_worker.py mirrored OUT.npz       # 2 logical CPUs: 1-device vs 2 replicas
    python distribute_worker.py multi_worker OUT.npz   # one worker; TF_CONFIG names the cluster

Devices and strategies must be configured before TensorFlow touches a device, so
this runs in its own process. Every run starts from the same initial weights
(`keras.utils.set_random_seed(0)` before building), sees the same global batches
and the same noise seed, and writes its weights and per-batch logs to OUT.npz for
the test to compare. Plain SGD, because Adam divides out a constant gradient
scale: under Adam, a loss scaled twice would leave the weights almost unchanged.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

MODE, OUT = sys.argv[1], sys.argv[2]
if MODE == "mirrored":
    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfgan_kit  # noqa: E402
from tfgan_kit import distribute  # noqa: E402

# A multi-worker strategy must exist before any collective op runs.
STRATEGY = distribute.strategy_from_name(MODE)

GLOBAL_BATCH, STEPS, LATENT, LR = 16, 4, 8, 0.05
METRICS = tfgan_kit.gan.METRIC_NAMES
MONITORED = ("d_real", "d_fake", "d_acc_real", "d_acc_fake")


def data() -> tf.data.Dataset:
    x = np.random.RandomState(0).uniform(-1, 1, (GLOBAL_BATCH * STEPS, 8, 8, 1))
    return tf.data.Dataset.from_tensor_slices(x.astype("float32")).batch(
        GLOBAL_BATCH, drop_remainder=True
    )


def build(norm: str) -> tfgan_kit.GAN:
    keras.utils.set_random_seed(0)
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator((8, 8, 1), LATENT, width=4, norm=norm),
        tfgan_kit.dcgan_discriminator((8, 8, 1), width=4, dropout=0.0),
        latent_dim=LATENT,
        seed=0,
    )
    gan.compile(d_optimizer=keras.optimizers.SGD(LR), g_optimizer=keras.optimizers.SGD(LR))
    return gan


def imbalance_monitor():
    """An ImbalanceMonitor that fires after 2 batches, recording what it read (if it exists)."""
    monitor = getattr(tfgan_kit, "ImbalanceMonitor", None)
    if monitor is None:
        return None
    # Thresholds every state passes: an event at batch 2 with the window means it saw.
    return monitor(window=2, d_fake_low=1.0, accuracy_high=0.0, mode="warn", verbose=0)


def train(strategy, norm: str, factors=(1.0,)) -> dict:
    """Weights (G then D, all of them, flattened) and per-batch logs after STEPS steps.

    Each factor in `factors` is a run from the same start with learning rate
    `LR * factor`, reusing the traced step (the learning rate is a variable).
    """
    with strategy.scope():
        gan = build(norm)
    networks = gan.generator.variables + gan.discriminator.variables
    state = networks + [gan.seed_generator.state]
    start = [v.numpy() for v in state]
    results = {"initial": np.concatenate([w.ravel() for w in start[: len(networks)]])}
    for factor in factors:
        for variable, value in zip(state, start):
            variable.assign(value)
        for optimizer in (gan.d_optimizer, gan.g_optimizer):
            optimizer.learning_rate.assign(LR * factor)
        rows = []
        record = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: rows.append(
                [float(np.squeeze(logs[k])) for k in METRICS]
            )
        )
        callbacks = [record]
        monitor = imbalance_monitor() if factor == 1.0 else None
        if monitor is not None:
            callbacks.append(monitor)
        gan.fit(data(), epochs=1, verbose=0, callbacks=callbacks)
        prefix = "" if factor == 1.0 else f"lr_x{factor}/"
        if monitor is not None:
            results["imbalance_events"] = np.asarray(
                [[e["step"]] + [e[k] for k in MONITORED] for e in monitor.events]
            )
        results[prefix + "weights"] = np.concatenate([v.numpy().ravel() for v in networks])
        results[prefix + "logs"] = np.asarray(rows)
        results[prefix + "seed_state"] = gan.seed_generator.state.numpy()
    return results


def replica_noise(strategy) -> dict:
    """Each replica's generated half for one step's noise, and one device's whole batch."""
    with strategy.scope():
        gan = build("none")
    half = GLOBAL_BATCH // strategy.num_replicas_in_sync

    @tf.function
    def per_replica():
        z, _ = gan.sample_inputs(half)
        return gan.generator(z, training=False)

    images = strategy.experimental_local_results(strategy.run(per_replica))
    one = build("none")  # same seed state, outside any strategy
    whole = one.generator(one.sample_inputs(GLOBAL_BATCH)[0], training=False)
    return {"replica_images": np.stack([np.asarray(i) for i in images]), "one_device": np.asarray(whole)}


def main():
    start = time.time()
    results = {}
    if MODE == "mirrored":
        one_device = tf.distribute.get_strategy()  # the default strategy: /cpu:0 alone
        results["replicas"] = np.asarray(STRATEGY.num_replicas_in_sync)
        for norm in ("none", "sync_batch"):
            # Under SGD a loss scaled twice (or not at all) would act as lr / 2 (or 2 lr).
            controls = (1.0, 0.5, 2.0) if norm == "none" else (1.0,)
            for name, strategy, factors in (("one", one_device, controls), ("two", STRATEGY, (1.0,))):
                for key, value in train(strategy, norm, factors).items():
                    results[f"{norm}/{name}/{key}"] = value
        results.update(replica_noise(STRATEGY))
    else:
        results["replicas"] = np.asarray(STRATEGY.num_replicas_in_sync)
        for key, value in train(STRATEGY, "none").items():
            results[f"none/worker/{key}"] = value
    np.savez(OUT, **results)
    print(f"{MODE}: trained and compared in {time.time() - start:.1f} s after the imports.")


if __name__ == "__main__":
    main()
