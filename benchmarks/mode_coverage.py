"""Mode coverage on the 2-D mixtures: the plain BCE GAN against the recommended recipe.

    python benchmarks/mode_coverage.py                       # ~10-15 min on 2 idle CPU cores
    python benchmarks/mode_coverage.py --seeds=10 --workers=1 --mixtures=grid25

The VEEGAN / PacGAN protocol (`tfgan_kit.metrics.mixture_mode_stats`): after
training, 2,500 samples; a sample is high quality within 3 std of its nearest mode,
a mode is captured when it has a high-quality sample, and KL compares the captured
modes' histogram with the uniform one. `ring8`: 8 Gaussians on a circle of radius 2
(std 0.02); `grid25`: a 5x5 grid, means -4..4 step 2 (std 0.05). Both recipes live in
`examples/train_toy2d.py` (`RECIPES`) and get the same steps, batch size and data;
`plain` is the builders' and `GAN.compile`'s defaults. The table gives mean ± std
over seeds, the worst seed, and how many seeds reach the goal (all modes, >= 95 %
high quality, KL < 0.05). Published anchors on grid25 (PacGAN, Lin et al. 2018):
GAN 17.3 ± 0.8 modes at 94.8 %, PacGAN4 24.8 at 93.6 %, VEEGAN 24.6 at 40 %.

Seeds run in `--workers` processes with one TensorFlow thread each: on these tiny
MLPs one thread per process does more work per core than one process with two.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402
from record import write_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "examples"))

flags.DEFINE_list("mixtures", ["grid25", "ring8"], "Mixtures to run.")
flags.DEFINE_list("recipes", ["plain", "recommended"], "Recipes from train_toy2d.RECIPES.")
flags.DEFINE_integer("seeds", 5, "Seeds 0..N-1 per mixture and recipe.", lower_bound=1)
flags.DEFINE_integer("grid_steps", None, "Steps on grid25 (default: train_toy2d.DEFAULT_STEPS).")
flags.DEFINE_integer("ring_steps", None, "Steps on ring8 (default: train_toy2d.DEFAULT_STEPS).")
flags.DEFINE_integer("workers", 2, "Parallel training processes.", lower_bound=1)
flags.DEFINE_string("plot", os.path.join(REPO, "docs", "assets", "benchmarks", "mode_coverage.png"),
                    "PNG of seed 0's samples for every mixture and recipe ('' for none).")
flags.DEFINE_string("json", None, "Also write every run's numbers to this JSON file.")
FLAGS = flags.FLAGS

GOAL = {"high_quality": 0.95, "kl_to_uniform": 0.05}


def run_one(job):
    """Trains one (mixture, recipe, seed) in this process; returns its scores (and samples)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import train_toy2d

    import tfgan_kit

    mixture, recipe, seed, steps = job
    gan, seconds = train_toy2d.train(mixture, train_toy2d.RECIPES[recipe], steps, seed)
    samples = gan.generate(2500, seed=seed)
    stats = tfgan_kit.metrics.mixture_mode_stats(samples, mixture)
    return {"mixture": mixture, "recipe": recipe, "seed": seed, "steps": steps,
            "seconds": seconds, **stats, "samples": samples.tolist() if seed == 0 else None}


def reaches_goal(run) -> bool:
    return (run["modes"] == run["num_modes"] and run["high_quality"] >= GOAL["high_quality"]
            and run["kl_to_uniform"] < GOAL["kl_to_uniform"])


def table(runs) -> str:
    import numpy as np

    lines = ["| mixture | recipe | steps | modes captured | worst seed | high quality | "
             "KL to uniform | seeds at goal | s / run |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for mixture in FLAGS.mixtures:
        for recipe in FLAGS.recipes:
            group = [r for r in runs if r["mixture"] == mixture and r["recipe"] == recipe]
            modes = np.array([r["modes"] for r in group], float)
            hq = 100 * np.array([r["high_quality"] for r in group])
            kl = np.array([r["kl_to_uniform"] for r in group])
            lines.append(
                f"| {mixture} | {recipe} | {group[0]['steps']} | "
                f"{modes.mean():.1f} ± {modes.std():.1f} / {group[0]['num_modes']} | "
                f"{int(modes.min())} | {hq.mean():.1f} ± {hq.std():.1f} % | "
                f"{kl.mean():.3f} ± {kl.std():.3f} | {sum(map(reaches_goal, group))}/{len(group)} | "
                f"{np.mean([r['seconds'] for r in group]):.0f} |")
    return "\n".join(lines)


def plot(runs, path: str) -> None:
    import matplotlib.pyplot as plt

    from tfgan_kit import plotting

    fig, axes = plt.subplots(len(FLAGS.mixtures), len(FLAGS.recipes), squeeze=False,
                             figsize=(3.2 * len(FLAGS.recipes), 3.2 * len(FLAGS.mixtures)))
    for row, mixture in enumerate(FLAGS.mixtures):
        for col, recipe in enumerate(FLAGS.recipes):
            run = next(r for r in runs if r["mixture"] == mixture and r["recipe"] == recipe
                       and r["samples"] is not None)
            plotting.draw_mixture_samples(
                axes[row][col], run["samples"], mixture,
                f"{mixture}, {recipe} (seed 0)\n{run['modes']}/{run['num_modes']} modes, "
                f"{run['high_quality']:.1%} HQ, KL {run['kl_to_uniform']:.3f}")
    fig.tight_layout()
    plotting.save_figure(fig, path, dpi=80)


def main(argv):
    del argv
    import multiprocessing

    import train_toy2d

    for recipe in FLAGS.recipes:
        if recipe not in train_toy2d.RECIPES:
            raise ValueError(f"--recipes received {recipe!r}; expected names from "
                             f"{sorted(train_toy2d.RECIPES)}.")
    steps = dict(train_toy2d.DEFAULT_STEPS)
    steps["grid25"] = FLAGS.grid_steps or steps["grid25"]
    steps["ring8"] = FLAGS.ring_steps or steps["ring8"]
    jobs = [(m, r, s, steps[m]) for m in FLAGS.mixtures for r in FLAGS.recipes
            for s in range(FLAGS.seeds)]
    print(f"{len(jobs)} runs ({', '.join(f'{m}: {steps[m]} steps' for m in FLAGS.mixtures)}) "
          f"in {FLAGS.workers} processes ...", flush=True)
    start = time.time()
    runs = []
    with multiprocessing.get_context("spawn").Pool(FLAGS.workers) as pool:
        for run in pool.imap_unordered(run_one, jobs):
            runs.append(run)
            print(f"  {run['mixture']:6s} {run['recipe']:11s} seed {run['seed']}: "
                  f"{run['modes']}/{run['num_modes']} modes, {run['high_quality']:.1%} HQ, "
                  f"KL {run['kl_to_uniform']:.3f} ({run['seconds']:.0f} s)", flush=True)
    wall = time.time() - start
    runs.sort(key=lambda r: (r["mixture"], r["recipe"], r["seed"]))
    print(f"\nMode coverage, {FLAGS.seeds} seeds, 2,500 samples each (mean ± std over seeds; "
          f"goal: all modes, >= 95 % high quality, KL < 0.05 on every seed):\n")
    print(table(runs))
    print("\nPublished grid25 anchors (PacGAN paper): GAN 17.3 ± 0.8 modes at 94.8 % HQ, "
          "PacGAN4 24.8 at 93.6 %, VEEGAN 24.6 at 40 %.")
    print(f"Wall time {wall / 60:.1f} min for {len(jobs)} runs in {FLAGS.workers} processes.")
    for recipe in FLAGS.recipes:
        print(f"  {recipe}: {json.dumps(train_toy2d.RECIPES[recipe])}")
    if FLAGS.plot:
        plot(runs, FLAGS.plot)
        print(f"Samples plot: {FLAGS.plot}")
    if FLAGS.json:
        write_json(FLAGS.json, [{k: v for k, v in r.items() if k != "samples"} for r in runs])


if __name__ == "__main__":
    app.run(main)
