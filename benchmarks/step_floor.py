"""Does tf.data's autotuning hold fast training steps to a floor? The defaults' step with and without it.

On the 2-core hosts of issue #19, `fit` epochs of fast steps ran either at the step's own
speed or at one fixed time per step (25.6, 34.1, 41.0 or 51.2 ms, whatever the network or
precision), switching between epochs. This times, in turns in one process, one epoch of
the example's defaults (`dcgan_generator`/`dcgan_discriminator` at width 32, batch 32,
generator EMA 0.999, `--precision=auto`) fed three ways:

- reference: the compiled train step called on one constant batch, no tf.data at all;
- kit: `load_dataset`'s pipeline as the kit returns it (tf.data autotuning off);
- autotune_on: the same pipeline with tf.data's default (autotuning on).

A round of a configuration counts as held when it takes >= 1.15x the reference's time of
the same round (the host's own drift moves both alike).

    python benchmarks/step_floor.py              # ~6 min on 2 cores
    python benchmarks/step_floor.py --rounds=20 --limit=4000
"""

import statistics
import time

import common
import keras
import tensorflow as tf
from absl import app, flags
from record import write_json

import tfgan_kit

flags.DEFINE_integer("rounds", 12, "Epochs of each configuration, taken in turns.", lower_bound=1)
flags.DEFINE_string("data", common.MNIST, "load_dataset name (first --limit images).")
flags.DEFINE_integer("limit", 8000, "Images per epoch.", lower_bound=64)
flags.DEFINE_string("json", "runs/step_floor.json", "Where every round's numbers are written.")
FLAGS = flags.FLAGS
HELD = 1.15  # a round this much slower than the reference's is held


def build_gan() -> tfgan_kit.GAN:
    """The example's default networks and compile settings."""
    keras.utils.set_random_seed(0)
    generator = tfgan_kit.dcgan_generator((28, 28, 1), 64, width=32)
    discriminator = tfgan_kit.dcgan_discriminator((28, 28, 1), width=32)
    gan = tfgan_kit.GAN(generator, discriminator, latent_dim=64, seed=0)
    gan.compile(generator_ema=0.999)
    return gan


def epoch_timers(gan: tfgan_kit.GAN, kit: tf.data.Dataset) -> dict:
    """name -> a function that trains one epoch and returns its ms per step."""
    steps = int(kit.cardinality())
    options = tf.data.Options()
    options.autotune.enabled = True
    autotune_on = kit.with_options(options)
    step = tf.function(gan.train_step)
    batch = next(iter(kit))

    def reference():
        for _ in range(steps):
            logs = step(batch)
        logs["d_loss"].numpy()

    def fit(ds):
        return lambda: gan.fit(ds, epochs=1, verbose=0)

    def timed(run):
        def ms_per_step():
            start = time.perf_counter()
            run()
            return (time.perf_counter() - start) / steps * 1e3
        return ms_per_step

    return {name: timed(run) for name, run in
            (("reference", reference), ("kit", fit(kit)), ("autotune_on", fit(autotune_on)))}


def main(argv):
    del argv
    tfgan_kit.set_precision("auto")
    gan = build_gan()
    kit = tfgan_kit.load_dataset(FLAGS.data, batch_size=32, limit=FLAGS.limit, seed=0)
    timers = epoch_timers(gan, kit)
    for time_epoch in timers.values():
        time_epoch()  # warm-up: tracing, the cache's first pass
    rounds = {name: [] for name in timers}
    for i in range(FLAGS.rounds):
        for name, time_epoch in timers.items():
            rounds[name].append(time_epoch())
        print(f"round {i + 1}: " + ", ".join(f"{n} {r[-1]:.1f}" for n, r in rounds.items()),
              flush=True)
        write_json(FLAGS.json, {"policy": keras.mixed_precision.global_policy().name,
                                "ms_per_step": rounds})
    reference = rounds["reference"]
    print(f"\n{FLAGS.data}, {FLAGS.limit} images, batch 32, "
          f"{keras.mixed_precision.global_policy().name}, {FLAGS.rounds} rounds in turns:\n")
    print("| feed | ms / step each round | median | median / reference | rounds held "
          f"(>= {HELD}x the reference's) |")
    print("| --- | --- | --- | --- | --- |")
    for name, times in rounds.items():
        held = sum(t >= HELD * r for t, r in zip(times, reference))
        median = statistics.median(times)
        print(f"| {name} | {', '.join(f'{t:.1f}' for t in times)} | {median:.1f} | "
              f"{median / statistics.median(reference):.2f}x | {held} of {len(times)} |")


if __name__ == "__main__":
    app.run(main)
