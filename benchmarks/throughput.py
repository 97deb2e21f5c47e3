"""Images per second: the tutorial's hand-written loop vs `GAN.fit` on the same networks and data.

Each configuration runs in its own subprocess (clean dtype policy, its own peak
RSS), on the first 8,000 MNIST test images, batch 256, timed per epoch after a
warm-up epoch (median of --repeats). Configurations run interleaved for --rounds
rounds and each keeps its best round: on a shared (virtual) machine a neighbour's
burst slows whichever process is running, and interleaving spreads that over all of
them. Ratios are against the float32 hand-written reference measured in the same run.

    python benchmarks/throughput.py                 # ~12 min on 2 cores
    python benchmarks/throughput.py --repeats=5 --limit=8000
"""

import json
import os
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_integer("batch_size", 256, "Global batch size (the tutorial's).")
flags.DEFINE_integer("limit", 8000, "Training images (first N of the MNIST test set).")
flags.DEFINE_integer("repeats", 3, "Timed epochs after the warm-up epoch.")
flags.DEFINE_integer("rounds", 2, "Interleaved runs of every configuration; the best counts.",
                     lower_bound=1)
flags.DEFINE_string("config", None, "Internal: run one configuration and print JSON.")
flags.DEFINE_list("configs", ["reference", "fit", "fit_auto", "reference_bf16", "fit_bf16"],
                  "Configurations to compare.")
FLAGS = flags.FLAGS


def run_config(name: str) -> dict:
    import keras
    import tensorflow as tf

    import common
    import tfgan_kit

    keras.utils.set_random_seed(0)
    policy = {"reference": "float32", "fit": "float32", "reference_bf16": "mixed_bfloat16",
              "fit_bf16": "mixed_bfloat16"}.get(name)
    policy = tfgan_kit.set_precision(policy or "auto")
    dataset = tfgan_kit.load_dataset(common.MNIST, FLAGS.batch_size, limit=FLAGS.limit, seed=0)
    steps = FLAGS.limit // FLAGS.batch_size
    generator, discriminator = common.tutorial_generator(), common.tutorial_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    if name.startswith("reference"):
        step = common.tutorial_train_step(generator, discriminator, g_opt, d_opt, FLAGS.batch_size)
        seconds = []
        for _ in range(FLAGS.repeats + 1):
            start = time.perf_counter()
            for images in dataset:
                losses = step(images)
            float(losses[0])  # Wait for the last step.
            seconds.append(time.perf_counter() - start)
    else:
        gan = tfgan_kit.GAN(generator, discriminator, latent_dim=common.LATENT_DIM, seed=0)
        gan.compile(d_optimizer=d_opt, g_optimizer=g_opt)
        timer = common.EpochTimer()
        gan.fit(dataset, epochs=FLAGS.repeats + 1, callbacks=[timer], verbose=0)
        seconds = timer.seconds
    per_epoch = common.median(seconds[1:])
    return {
        "config": name,
        "policy": policy,
        "images_per_s": steps * FLAGS.batch_size / per_epoch,
        "epoch_s": per_epoch,
        "peak_rss_mib": common.peak_rss_mib(),
        "tf": tf.__version__,
    }


def main(argv):
    del argv
    if FLAGS.config:
        print("RESULT " + json.dumps(run_config(FLAGS.config)))
        return
    rounds = {name: [] for name in FLAGS.configs}
    for round_ in range(FLAGS.rounds):
        for name in FLAGS.configs:
            out = subprocess.run(
                [sys.executable, __file__, f"--config={name}", f"--batch_size={FLAGS.batch_size}",
                 f"--limit={FLAGS.limit}", f"--repeats={FLAGS.repeats}"],
                capture_output=True, text=True, check=True,
            ).stdout
            rounds[name].append(json.loads(out.split("RESULT ", 1)[1]))
            print(f"  round {round_ + 1}, {name}: {rounds[name][-1]['images_per_s']:.0f} images/s",
                  flush=True)
    results = {name: max(runs, key=lambda r: r["images_per_s"]) for name, runs in rounds.items()}
    reference = results.get("reference", {}).get("images_per_s")
    print(f"\nBatch {FLAGS.batch_size}, {FLAGS.limit} MNIST images, median of {FLAGS.repeats} epochs "
          f"after warm-up, best of {FLAGS.rounds} interleaved rounds "
          f"(TF {results[FLAGS.configs[0]]['tf']}).")
    print(f"{'configuration':<34}{'policy':<16}{'images/s':>10}{'vs float32 ref':>16}{'peak RSS':>12}")
    labels = {
        "reference": "hand-written two-tape loop",
        "fit": "tfgan_kit GAN.fit",
        "fit_auto": "tfgan_kit GAN.fit, auto precision",
        "reference_bf16": "hand-written loop, mixed_bfloat16",
        "fit_bf16": "tfgan_kit GAN.fit, mixed_bfloat16",
    }
    for name, r in results.items():
        ratio = f"{r['images_per_s'] / reference:.2f}x" if reference else "n/a"
        print(f"{labels.get(name, name):<34}{r['policy']:<16}{r['images_per_s']:>10.0f}"
              f"{ratio:>16}{r['peak_rss_mib']:>9.0f} MiB")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    app.run(main)
