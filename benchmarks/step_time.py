"""The defaults' training step, in turns with each per-step lever undone or added.

Issue #19: about half of a batch-32 step on 2 CPU cores is per-step cost, not arithmetic.
This times, in turns in one process, one `fit` epoch of the example's defaults
(`dcgan_generator`/`dcgan_discriminator` at width 32 without dropout, batch 32, generator EMA
0.999, `--precision=auto`) in these configurations:

- base: as the example trains, but one step a call (tf.data autotuning off in
  `load_dataset`'s pipeline);
- autotune_on: the same pipeline with tf.data's default autotuning, which on the 2-core
  hosts held fast steps to one fixed time (25.6, 34.1, 41.0 or 51.2 ms) in some epochs;
- spe10: `steps_per_execution=10` (the example's default);
- dropout: D with the TF tutorial's dropout of 0.3 after each hidden layer (the example's
  default until issue #19);
- reference: base's compiled train step called on one constant batch (no tf.data).

A round counts as held when its time over the reference's in the same round (host drift moves
both alike) is >= 1.15x the configuration's lowest such ratio. Each configuration trains its own
copy of the same initial networks.

    python benchmarks/step_time.py              # ~10 min on 2 cores
    python benchmarks/step_time.py --rounds=20 --limit=4000
"""

import statistics
import time

import common
import keras
import tensorflow as tf
from absl import app, flags
from record import write_json

import tfgan_kit

flags.DEFINE_integer("rounds", 10, "Epochs of each configuration, taken in turns.", lower_bound=1)
flags.DEFINE_string("data", common.MNIST, "load_dataset name (first --limit images).")
flags.DEFINE_integer("limit", 8000, "Images per epoch.", lower_bound=64)
flags.DEFINE_string("json", "runs/step_time.json", "Where every round's numbers are written.")
FLAGS = flags.FLAGS
HELD = 1.15  # a round whose time over the reference's is this much above its best is held


def build_gan(dropout: float = 0.0, **compile_kwargs) -> tfgan_kit.GAN:
    """The example's default networks and compile settings, the same initial weights."""
    keras.utils.set_random_seed(0)
    generator = tfgan_kit.dcgan_generator((28, 28, 1), 64, width=32)
    discriminator = tfgan_kit.dcgan_discriminator((28, 28, 1), width=32, dropout=dropout)
    gan = tfgan_kit.GAN(generator, discriminator, latent_dim=64, seed=0)
    gan.compile(generator_ema=0.999, **compile_kwargs)
    return gan


def epoch_runners(kit: tf.data.Dataset, steps: int) -> dict:
    """name -> a function that trains one epoch."""
    options = tf.data.Options()
    options.autotune.enabled = True
    autotune_on = kit.with_options(options)
    base = build_gan()
    spe10, dropout = build_gan(steps_per_execution=10), build_gan(dropout=0.3)
    step, batch = tf.function(base.train_step), next(iter(kit))

    def reference():
        for _ in range(steps):
            logs = step(batch)
        logs["d_loss"].numpy()

    def fit(gan, ds):
        return lambda: gan.fit(ds, epochs=1, verbose=0)

    return {"reference": reference, "base": fit(base, kit),
            "autotune_on": fit(base, autotune_on), "spe10": fit(spe10, kit),
            "dropout": fit(dropout, kit)}


def main(argv):
    del argv
    policy = tfgan_kit.set_precision("auto")
    kit = tfgan_kit.load_dataset(FLAGS.data, batch_size=32, limit=FLAGS.limit, seed=0)
    steps = int(kit.cardinality())
    runners = epoch_runners(kit, steps)
    for run in runners.values():
        run()  # warm-up: tracing, the cache's first pass
    rounds = {name: [] for name in runners}
    for i in range(FLAGS.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            rounds[name].append((time.perf_counter() - start) / steps * 1e3)
        print(f"round {i + 1}: " + ", ".join(f"{n} {r[-1]:.1f}" for n, r in rounds.items()),
              flush=True)
        write_json(FLAGS.json, {"policy": policy, "ms_per_step": rounds})
    print_table(rounds, policy)


def held_rounds(times: list, reference: list) -> int:
    """Rounds at >= HELD x the configuration's lowest time-over-reference ratio."""
    ratios = [t / r for t, r in zip(times, reference)]
    return sum(ratio >= HELD * min(ratios) for ratio in ratios)


def print_table(rounds: dict, policy: str) -> None:
    reference, base = rounds["reference"], statistics.median(rounds["base"])
    print(f"\n{FLAGS.data}, {FLAGS.limit} images, batch 32, {policy}, {FLAGS.rounds} rounds "
          "in turns (ms per step):\n")
    print(f"| configuration | each round | median | median / base's | rounds held "
          f"(>= {HELD}x its best ratio to the reference) |")
    print("| --- | --- | --- | --- | --- |")
    for name, times in rounds.items():
        held = held_rounds(times, reference)
        median = statistics.median(times)
        print(f"| {name} | {', '.join(f'{t:.1f}' for t in times)} | {median:.1f} | "
              f"{median / base:.2f}x | {held} of {len(times)} |")


if __name__ == "__main__":
    app.run(main)
