"""How often the monitors cry wolf on healthy runs, and how fast they catch induced failures.

    python benchmarks/monitor_detection.py                 # ~10-20 min on 2 CPU cores
    python benchmarks/monitor_detection.py --seeds=3 --epochs=6 --width=8

Healthy runs: default GAN settings on the bundled `digits`, both monitors with their
defaults, several seeds; every event is a false alarm. Each healthy signal is printed
with its margin to the threshold (e.g. "lowest diversity ratio 0.12 = 2.4x the 0.05
threshold"). Induced failures, same networks and data:

- `d_lr_x100`: the discriminator's learning rate times 100 -> discriminator_dominates;
- `frozen_d`: D's learning rate 0 and G's times 100 -> generator_dominates, and G
  collapsing onto the frozen D's weak spot -> mode collapse;
- `ignore_z`: the generator's projection of z zeroed and frozen -> mode collapse;
- `latent_1`: a 1-dimensional z -> near-duplicate samples;
- `rebalance`: `d_lr_x100` with `mode="rebalance"` against `mode="warn"`: batches until
  the episode ends and D(G(z)) over the last window, against the warned run's.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

flags.DEFINE_integer("seeds", 5, "Healthy runs (seeds 0..N-1).", lower_bound=1)
flags.DEFINE_integer("epochs", 10, "Epochs per run (28 batches of 64 each).", lower_bound=2)
flags.DEFINE_integer("width", 8, "Network width (the tests use 8; the example 32).")
flags.DEFINE_integer("latent_dim", 16, "Size of z for the healthy and most induced runs.")
FLAGS = flags.FLAGS

LR = 2e-4


def run(seed, d_lr=LR, g_lr=LR, latent_dim=None, ignore_z=False, mode="warn", epochs=None):
    import keras

    import tfgan_kit

    keras.utils.set_random_seed(seed)
    latent_dim = latent_dim or FLAGS.latent_dim
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator((8, 8, 1), latent_dim, width=FLAGS.width),
        tfgan_kit.dcgan_discriminator((8, 8, 1), width=FLAGS.width),
        latent_dim=latent_dim, seed=seed,
    )
    if ignore_z:
        dense = next(l for l in gan.generator.layers if isinstance(l, keras.layers.Dense))
        dense.kernel.assign(keras.ops.zeros_like(dense.kernel))
        dense.trainable = False
    gan.compile(d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5))
    x, _ = tfgan_kit.load_arrays("digits")
    imbalance = tfgan_kit.ImbalanceMonitor(mode=mode, verbose=0)
    # warmup=0: every check counts (the default waits 500 generator steps, 18 digits epochs).
    collapse = tfgan_kit.ModeCollapseMonitor(x, seed=seed, warmup=0, verbose=0)
    start = time.time()
    gan.fit(tfgan_kit.load_dataset("digits", batch_size=64, seed=seed),
            epochs=epochs or FLAGS.epochs, verbose=0, callbacks=[imbalance, collapse])
    return imbalance, collapse, time.time() - start


def first(events, key="step"):
    return events[0][key] if events else None


def main(argv):
    del argv
    batches = 28 * FLAGS.epochs
    print(f"digits, width {FLAGS.width}, latent {FLAGS.latent_dim}, {FLAGS.epochs} epochs "
          f"({batches} batches) per run; ImbalanceMonitor window 50 batches, "
          "ModeCollapseMonitor every epoch on 128 samples, warmup=0 (every check counts)\n")
    alarms, lows, dups, seconds = 0, [], [], 0.0
    for seed in range(FLAGS.seeds):
        imbalance, collapse, took = run(seed)
        seconds += took
        alarms += len(imbalance.events) + len(collapse.events)
        lows.append(min(h["diversity_ratio"] for h in collapse.history))
        dups.append(max(h["duplicate_rate"] for h in collapse.history))
        for event in imbalance.events + collapse.events:
            print(f"  FALSE ALARM seed {seed}: {event}")
    print(f"healthy: {alarms} events in {FLAGS.seeds} runs ({FLAGS.seeds * batches} batches, "
          f"{FLAGS.seeds * FLAGS.epochs} diversity checks), {seconds / FLAGS.seeds:.0f} s/run")
    print(f"  lowest diversity ratio {min(lows):.3f} = {min(lows) / 0.05:.1f}x the 0.05 threshold; "
          f"highest duplicate rate {max(dups):.2f} (threshold 0.25)")

    cases = {
        "d_lr_x100": dict(d_lr=100 * LR),
        "frozen_d": dict(d_lr=0.0, g_lr=100 * LR),
        "ignore_z": dict(ignore_z=True),
        "latent_1": dict(latent_dim=1),
    }
    print("\ninduced failure: first ImbalanceMonitor event (batch), first ModeCollapseMonitor "
          "event (epoch of its check, 1 check per epoch)")
    for name, kwargs in cases.items():
        imbalance, collapse, _ = run(0, **kwargs)
        state = first(imbalance.events, "state")
        stats = collapse.events[0] if collapse.events else {}
        print(f"  {name:10s} imbalance: {state or '-'} at batch {first(imbalance.events)} "
              f"(= {(first(imbalance.events) or 0) / 50:.2f} windows); mode collapse: epoch "
              f"{first(collapse.events, 'epoch')} (diversity {stats.get('diversity_ratio', '-')}, "
              f"duplicates {stats.get('duplicate_rate', '-')})")

    warned, _, _ = run(0, d_lr=100 * LR)
    rebalanced, _, _ = run(0, d_lr=100 * LR, mode="rebalance")
    event, after, before = rebalanced.events[0], rebalanced.window_means(), warned.window_means()
    ended = event["end_step"]
    print(f"\nrebalance (factor 0.1, floor 0.01) vs warn, d_lr_x100, seed 0: D lr scale "
          f"{rebalanced.lr_scale['d']:g}; episode from batch {event['step']} to "
          f"{ended if ended is not None else 'still on at ' + str(batches)}; last window "
          f"D(G(z)) {after['d_fake']:.3f} vs {before['d_fake']:.3f} "
          f"({after['d_fake'] / max(before['d_fake'], 1e-6):.1f}x), D accuracy "
          f"{after['accuracy']:.3f} vs {before['accuracy']:.3f}")


if __name__ == "__main__":
    app.run(main)
