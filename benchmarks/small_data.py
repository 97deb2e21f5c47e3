"""Small datasets: no augmentation vs DiffAugment vs ADA vs packing on MNIST subsets, same generator steps.

    python benchmarks/small_data.py                            # 4 sizes x 3 configs
    python benchmarks/small_data.py --sizes=100,500 --steps=2000
    python benchmarks/small_data.py --sizes=500 --configs=none,pack2,ada_pack2 --steps=3000 --seeds=0,1,2,3,4
    python benchmarks/small_data.py --sizes=500 --configs=none,pack2 --batch_size=32 --ema_decay=0.999 --seeds=0,1,2,3,4
    python benchmarks/small_data.py --results=a.json,b.json --batch_size=32 --ema_decay=0.999   # one table, one plot

Training images are the first N of the MNIST test set's first 8,000 (`idx:`); every run
gets the same number of generator steps (the example's DCGAN, width 32, at the 0.2 defaults --
batch 64, no generator EMA -- unless --batch_size / --ema_decay say otherwise: 32 and 0.999
are the example's current defaults; with an EMA the averaged weights are scored). Scores
use the bundled `mnist28` features: FID of 2,000 samples against **all 8,000** images (so
copying 100 of them does not look good), classes covered, and memorisation: the mean
distance from a sample to its nearest training image, over the same for held-out real
images (test images 8,000-9,999) -- well under 1 means the generator copies.
Step time is timed per run, after a warm-up epoch. With several --seeds every size and
config runs once a seed, and a table of each config's mean over the seeds follows.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags
from record import write_json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")
# Each config: the augmentation and how many samples D judges together (PacGAN's packing, the
# lever against the early mode collapse small data brings). "ada_off" is the control: ADA's code
# and random draws with p capped at 1e-6, so a gain of "ada" over "none" that "ada_off" shares
# comes from the changed noise stream, not augmentation. "r1" adds the R1 penalty (--r1_gamma),
# the usual guard against a D that overpowers G early.
CONFIGS = {"none": (None, 1), "diffaugment": ("color,translation,cutout", 1), "ada": ("ada", 1),
           "ada_off": ("ada", 1), "pack2": (None, 2), "ada_pack2": ("ada", 2), "r1": (None, 1)}

flags.DEFINE_list("sizes", ["100", "500", "2000", "8000"], "Training set sizes.")
flags.DEFINE_list("configs", list(CONFIGS), "Augmentations to compare.")
flags.DEFINE_integer("steps", 3000, "Generator steps per run.", lower_bound=10)
flags.DEFINE_list("seeds", ["0"], "Seeds: every size and config runs once with each.")
flags.DEFINE_integer("batch_size", 64, "Batch size (64: the 0.2 defaults; the example's is 32 now).",
                     lower_bound=1)
flags.DEFINE_float("ema_decay", 0.0, "Generator EMA decay from step 0 (0: none, the 0.2 defaults; the "
                   "example's is 0.999 now).", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("ada_kimg", 100.0, "ADA: thousands of images for p to go 0 -> 1.")
flags.DEFINE_float("r1_gamma", 1.0, "R1 penalty gamma of the 'r1' config.", lower_bound=0.0)
flags.DEFINE_float("d_dropout", 0.3, "D's dropout (0.3: the example's when the README's tables were "
                   "measured; it trains without since; 0 lets D memorise sooner).")
flags.DEFINE_bool("curve", False, "Also score FID after each of the 10 epochs (FID against steps).")
flags.DEFINE_string("run", None, "Internal: 'size,config,seed' to run in this process.")
flags.DEFINE_string("json", "runs/small_data.json", "Where the results go.")
flags.DEFINE_list("results", [], "Train nothing: tabulate and plot these earlier --json files together "
                  "(give the flags they ran with, for the header).")
flags.DEFINE_string("plot", os.path.join(REPO, "docs", "assets", "benchmarks", "small_data.png"), "FID against size ('' none).")
FLAGS = flags.FLAGS
# The flags that shape one run, handed on to each run's own process.
RUN_FLAGS = ("steps", "ada_kimg", "curve", "d_dropout", "batch_size", "ema_decay", "r1_gamma")


def _nearest(a, b):
    """Mean Euclidean distance from each row of `a` to its nearest row of `b`."""
    b2 = (b * b).sum(1)
    best = [np.sqrt(np.maximum((a[i:i + 500] ** 2).sum(1)[:, None] + b2[None] - 2 * a[i:i + 500] @ b.T,
                               0).min(1)) for i in range(0, len(a), 500)]
    return float(np.concatenate(best).mean())


def run_one(size: int, config: str, seed: int) -> dict:
    import keras

    import tfgan_kit

    tfgan_kit.set_seed(seed)
    tfgan_kit.set_precision("auto")
    data = tfgan_kit.load_dataset(f"idx:{MNIST}", batch_size=FLAGS.batch_size, split="test", limit=size,
                                  seed=seed).repeat()
    augment, pack = CONFIGS[config]
    discriminator = tfgan_kit.dcgan_discriminator((28, 28, 1), width=32, dropout=FLAGS.d_dropout, pack=pack)
    gan = tfgan_kit.GAN(tfgan_kit.dcgan_generator((28, 28, 1), 64, width=32), discriminator,
                        latent_dim=64, seed=seed)
    if augment == "ada":
        augment = tfgan_kit.ADA(speed_kimg=FLAGS.ada_kimg, max_p=1e-6 if config == "ada_off" else 1.0)
    gan.compile(augment=augment, generator_ema=FLAGS.ema_decay or None,
                r1_gamma=FLAGS.r1_gamma if config == "r1" else 0.0)
    epochs, per_epoch = 10, FLAGS.steps // 10
    times, p_max = [], [0.0]
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: times.append(time.perf_counter()),
        on_epoch_end=lambda e, logs: times.append(time.perf_counter()),
        on_train_batch_end=lambda b, logs: p_max.append(max(p_max.pop(), float(logs.get("augment_p", 0.0)))))
    everything, _ = tfgan_kit.load_arrays(f"idx:{MNIST}", split="test")
    real, held_out, train = everything[:8000], everything[8000:], everything[:size]
    callbacks = [timer]  # first, so the timed epochs leave the FID curve's evaluations out
    if FLAGS.ema_decay:
        callbacks.append(tfgan_kit.GeneratorEMA())
    if FLAGS.curve:
        callbacks.append(tfgan_kit.FIDMonitor(real, num_samples=2000, features="mnist28", seed=123,
                                              verbose=0))
    history = gan.fit(data, steps_per_epoch=per_epoch, epochs=epochs, verbose=0, callbacks=callbacks)
    step_ms = 1000 * np.median(np.diff(times)[::2][1:]) / per_epoch
    extractor = tfgan_kit.feature_extractor("mnist28")
    fake = gan.generate(2000, seed=123)
    scores = tfgan_kit.evaluate(fake, real, metrics=["classes_covered", "kl_to_uniform"]
                                + ([] if FLAGS.curve else ["fid"]), features=extractor, verbose=0)
    if FLAGS.curve:  # the curve's last point already scored these samples against these images
        scores["fid"] = float(history.history["val_fid"][-1])
    f_fake, f_held, f_train = (extractor(x)[0] for x in (fake, held_out, train))
    memorisation = _nearest(f_fake, f_train) / _nearest(f_held, f_train)
    return {"size": size, "config": config, "seed": seed, "fid": scores["fid"],
            "classes": scores["classes_covered"], "kl": scores["kl_to_uniform"],
            "memorisation": memorisation, "step_ms": float(step_ms),
            "augment_p": float(history.history.get("augment_p", [0.0])[-1]), "augment_p_max": p_max[0],
            "augment_p_per_epoch": [round(float(p), 3) for p in history.history.get("augment_p", [])],
            "real_sign_per_epoch": [round(float(r), 3) for r in history.history.get("real_sign", [])],
            "final_d_acc_real": float(history.history["d_acc_real"][-1]),
            "fid_per_epoch": [round(float(f), 2) for f in history.history.get("val_fid", [])]}


def _run_in_process(size: str, config: str, seed: str) -> dict:
    """One run in a fresh process, so no run inherits another's graphs, threads or memory."""
    shared = [f"--{name}={FLAGS[name].value}" for name in RUN_FLAGS]
    out = subprocess.run([sys.executable, __file__, f"--run={size},{config},{seed}", *shared],
                         capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode or not line:
        raise RuntimeError(f"{size},{config},{seed} failed:\n{out.stderr[-3000:]}")
    r = json.loads(line[0][7:])
    print(f"{size} images, {config}, seed {seed}: FID {r['fid']:.2f}, {r['classes']} classes, "
          f"memorisation {r['memorisation']:.2f}, {r['step_ms']:.1f} ms/step, "
          f"p {r['augment_p']:.2f} (max {r['augment_p_max']:.2f})", flush=True)
    if r["fid_per_epoch"]:
        print(f"  FID after each {FLAGS.steps // 10} steps: {r['fid_per_epoch']}", flush=True)
    return r


def main(argv):
    del argv
    if FLAGS.run:
        size, config, seed = FLAGS.run.split(",")
        print("RESULT " + json.dumps(run_one(int(size), config, int(seed))))
        return
    results = []
    for path in FLAGS.results:  # earlier runs' numbers, e.g. several invocations' JSON files together
        with open(path) as f:
            results += json.load(f)
    if not FLAGS.results:
        for seed in FLAGS.seeds:
            for size in FLAGS.sizes:
                for config in FLAGS.configs:
                    results.append(_run_in_process(size, config, seed))
                    write_json(FLAGS.json, results)
    print(f"\n{FLAGS.steps} generator steps per run, batch {FLAGS.batch_size}, generator EMA "
          f"{FLAGS.ema_decay or 'none'}, D dropout {FLAGS.d_dropout}"
          f"{'; results of ' + ', '.join(FLAGS.results) if FLAGS.results else ''}; "
          "FID of 2,000 samples vs all 8,000 images (mnist28 features).\n")
    print("| images | augmentation | seed | FID | x none | classes | memorisation | ms / step | x none | final p |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = {(r["size"], r["seed"]): r for r in results if r["config"] == "none"}
    for r in results:
        ref = base.get((r["size"], r["seed"]), r)
        print(f"| {r['size']} | {r['config']} | {r['seed']} | {r['fid']:.2f} | {r['fid'] / ref['fid']:.2f} | "
              f"{r['classes']} | {r['memorisation']:.2f} | {r['step_ms']:.1f} | "
              f"{r['step_ms'] / ref['step_ms']:.2f} | {r['augment_p']:.2f} |")
    groups = {}  # (size, config) -> its runs, one a seed
    for r in results:
        groups.setdefault((r["size"], r["config"]), []).append(r)
    mean_fid = {key: float(np.mean([r["fid"] for r in runs])) for key, runs in groups.items()}
    if any(len(runs) > 1 for runs in groups.values()):  # one seed's FID says little: some collapse
        print("\n| images | augmentation | mean FID +- std | x none | seeds with 10/10 classes |")
        print("| --- | --- | --- | --- | --- |")
        for (size, config), runs in groups.items():
            ref = mean_fid.get((size, "none"), mean_fid[size, config])
            print(f"| {size} | {config} | {mean_fid[size, config]:.2f} +- {np.std([r['fid'] for r in runs]):.2f} "
                  f"| {mean_fid[size, config] / ref:.2f} | {sum(r['classes'] == 10 for r in runs)} of {len(runs)} |")
    if FLAGS.plot:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for config in dict.fromkeys(r["config"] for r in results):
            sizes = sorted(size for size, c in mean_fid if c == config)
            line, = ax.plot(sizes, [mean_fid[size, config] for size in sizes], "o-", label=config)
            runs = [r for r in results if r["config"] == config]  # each seed: collapses stand apart
            ax.scatter([r["size"] for r in runs], [r["fid"] for r in runs], s=14, alpha=0.45,
                       color=line.get_color())
        ax.set(xscale="log", yscale="log", xlabel="training images",
               ylabel="FID (mnist28, vs all 8,000): mean line, seed dots",
               title=f"Small data: {FLAGS.steps} generator steps")
        ax.set_yticks([10, 20, 40, 80, 160], ["10", "20", "40", "80", "160"], minor=False)
        ax.set_yticks([], minor=True)
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(FLAGS.plot, dpi=100)
        print(f"\nPlot: {FLAGS.plot}")


if __name__ == "__main__":
    app.run(main)
