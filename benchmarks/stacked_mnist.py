"""Stacked MNIST (1,000 modes): modes covered and KL to uniform, per recipe and seed.

    python benchmarks/stacked_mnist.py --configs=pacgan --epochs=4 --limit=128000  # the recommended row
    python benchmarks/stacked_mnist.py --configs=plain,r3gan,pack2 --seeds=3 --epochs=2

The protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): three
random MNIST digits stacked as R, G and B (`load_dataset("stacked:...")`), 26,000
generated samples, each channel classified by a digit classifier (here the bundled
`mnist28`, 98.9 % on held-out MNIST), modes covered of 1,000 and KL(generated mode
histogram || uniform). Every run is `examples/train_dcgan.py` with the config's flags,
one process at a time (2 cores), so the command in the README reproduces a row.
`hard_*` configs give D a quarter of G's width (the unrolled-GAN variant, Metz et al.).
Each run also prints where its KL comes from (`metrics.stacked_mode_breakdown`): the
channels' own digit histograms, or their dependence (digits fine alone, combinations missing).
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from absl import app, flags
from record import write_json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(REPO, "examples", "train_dcgan.py")

CONFIGS = {
    "plain": [],                                     # the example's defaults
    "mbstd": ["--minibatch=stddev"],                 # + D sees each batch's spread
    "r3gan": ["--recipe=r3gan"],                     # relativistic + R1 + R2, minibatch std-dev
    "pack2": ["--pack=2"],                           # PacGAN's packing alone: D judges pairs
    "r3gan_pack2": ["--recipe=r3gan", "--pack=2"],
    "pack2_ema": ["--pack=2", "--ema_decay=0.999"],  # + the example's generator EMA
    "pack4": ["--pack=4"],
    "pack2_w64": ["--pack=2", "--width=64"],         # both networks twice as wide
    "pack2_z100": ["--pack=2", "--latent_dim=100"],  # VEEGAN's and PacGAN's z
    "pack2_bn": ["--pack=2", "--d_norm=batch", "--d_dropout=0"],  # PacGAN's D: batch norm
    "pack2_g2": ["--pack=2", "--g_steps=2"],         # PacGAN's code: two G updates per D update
    "pacgan": ["--recipe=pacgan"],                   # the recommended: train_dcgan.RECIPES["pacgan"]
    "pacgan_ema": ["--recipe=pacgan", "--ema_decay=0.999"],  # scored on the EMA and the raw weights
    "hard_plain": ["--d_width=8"],                   # D a quarter of G's width (32)
    "hard_mbstd": ["--d_width=8", "--minibatch=stddev"],
    "hard_r3gan": ["--recipe=r3gan", "--d_width=8"],
    "hard_pack4": ["--d_width=8", "--pack=4"],
    "hard_r3gan_pack4": ["--recipe=r3gan", "--d_width=8", "--pack=4"],
    "hard_pacgan_pack4": ["--recipe=pacgan", "--d_width=16", "--pack=4"],  # D a quarter of G's 64
}
PUBLISHED = [  # (setup, method, modes, KL)
    ("VEEGAN setup", "DCGAN (VEEGAN paper)", "99", "3.40"),
    ("VEEGAN setup", "VEEGAN", "150", "2.95"),
    ("VEEGAN setup", "DCGAN (PacGAN paper)", "78.9 ± 6.5", "4.50"),
    ("VEEGAN setup", "PacDCGAN2", "1000", "0.06"),
    ("D a quarter of G", "DCGAN", "30.6", "5.99"),
    ("D a quarter of G", "PacDCGAN4", "667", "1.81"),
]

flags.DEFINE_list("configs", list(CONFIGS), "Configurations to run.")
flags.DEFINE_integer("seeds", 3, "Seeds per configuration: first_seed .. first_seed + N - 1.", lower_bound=1)
flags.DEFINE_integer("first_seed", 0, "The first seed (to add seeds to an earlier run).", lower_bound=0)
flags.DEFINE_integer("epochs", 2, "Epochs per run.", lower_bound=1)
flags.DEFINE_integer("limit", 64_000, "Stacked training examples (the protocol: 128,000).")
flags.DEFINE_integer("eval_samples", 26_000, "Generated samples scored (the protocol: 26,000).")
flags.DEFINE_string("source", os.path.join(REPO, "..", "shared", "data", "mnist"),
                    "IDX folder of the one-channel digits to stack.")
flags.DEFINE_string("output_dir", "/tmp/stacked_mnist", "Where runs write their outputs.")
flags.DEFINE_string("grid", os.path.join(REPO, "docs", "assets", "benchmarks", "stacked_mnist.png"),
                    "Copy of the recommended config's seed-0 sample grid ('' for none).")
flags.DEFINE_string("recommended", "pacgan", "Config whose grid is kept.")
flags.DEFINE_string("json", None, "Also write every run's numbers to this JSON file.")
FLAGS = flags.FLAGS


def run(config: str, seed: int) -> dict:
    out = os.path.join(FLAGS.output_dir, f"{config}_seed{seed}")
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, EXAMPLE, f"--dataset=stacked:idx:{FLAGS.source}",
               f"--limit={FLAGS.limit}", f"--epochs={FLAGS.epochs}", f"--seed={seed}",
               f"--output_dir={out}", f"--eval_samples={FLAGS.eval_samples}",
               "--eval_metrics=fid,classes_covered,kl_to_uniform", "--mode_collapse_monitor=off",
               "--batch_size=64", "--ema_decay=0",  # as the recipes: the protocol's batch, raw G
               *CONFIGS[config]]
    start = time.time()
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if result.returncode:
        raise RuntimeError(f"{config} seed {seed} failed:\n{result.stderr[-3000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    return {"config": config, "seed": seed, "modes": int(metrics["classes_covered"]),
            "kl": metrics["kl_to_uniform"], "fid": metrics["fid"], **breakdown(out),
            "train_seconds": metrics["train_seconds"], "wall_seconds": round(time.time() - start, 1),
            "grid": os.path.join(out, "samples", f"epoch_{FLAGS.epochs:03d}.png"),
            "command": " ".join(["python", "examples/train_dcgan.py"] + command[2:])}


def breakdown(out: str) -> dict:
    """The run's KL split into its channels' and their dependence (`stacked_mode_breakdown`)."""
    import keras

    import tfgan_kit

    gan = keras.models.load_model(os.path.join(out, "gan.keras"))
    classify = tfgan_kit.load_digit_classifier("stacked_mnist28")

    def modes(use_ema):
        images = gan.generate(FLAGS.eval_samples, seed=1, use_ema=use_ema)
        return tfgan_kit.metrics.stacked_mode_breakdown(classify.predict(images, batch_size=1000, verbose=0))

    parts = modes(use_ema=True)
    result = {"channel_kl": [round(k, 4) for k in parts["channel_kl"]],
              "dependence_kl": round(parts["dependence_kl"], 4), "channel_digits": parts["channel_digits"],
              "independent_modes": round(parts["independent_modes"], 1)}
    if gan.g_optimizer.use_ema:  # the raw weights beside their average
        raw = modes(use_ema=False)
        result |= {"raw_modes": raw["modes_covered"], "raw_kl": round(raw["kl_to_uniform"], 4)}
    return result


def table(runs) -> str:
    lines = ["| config | modes (of 1,000) | KL to uniform | per seed: modes / KL / train s | flags |",
             "| --- | --- | --- | --- | --- |"]
    for config in FLAGS.configs:
        group = [r for r in runs if r["config"] == config]
        modes, kl = np.array([r["modes"] for r in group]), np.array([r["kl"] for r in group])
        seeds = "; ".join(f"{r['modes']} / {r['kl']:.3f} / {r['train_seconds']:.0f}" for r in group)
        lines.append(f"| {config} | {modes.mean():.1f} ± {modes.std():.1f} | {kl.mean():.3f} ± "
                     f"{kl.std():.3f} | {seeds} | `{' '.join(CONFIGS[config]) or '(defaults)'}` |")
    lines += ["", "| published (setup) | method | modes | KL |", "| --- | --- | --- | --- |"]
    lines += [f"| {s} | {m} | {n} | {k} |" for s, m, n, k in PUBLISHED]
    return "\n".join(lines)


def main(argv):
    del argv
    unknown = [c for c in FLAGS.configs if c not in CONFIGS]
    if unknown:
        raise app.UsageError(f"--configs has unknown {unknown}; expected some of {list(CONFIGS)}.")
    runs = []
    for config in FLAGS.configs:
        for seed in range(FLAGS.first_seed, FLAGS.first_seed + FLAGS.seeds):
            runs.append(run(config, seed))
            r = runs[-1]
            print(f"{config} seed {seed}: {r['modes']} modes, KL {r['kl']:.3f}, FID {r['fid']:.1f}, "
                  f"{r['train_seconds']:.0f} s training; KL per channel {r['channel_kl']}, of their "
                  f"dependence {r['dependence_kl']}; modes if independent {r['independent_modes']}"
                  + (f"; raw weights {r['raw_modes']} modes, KL {r['raw_kl']:.3f}" if "raw_kl" in r else ""),
                  flush=True)
            if FLAGS.json:
                write_json(FLAGS.json, runs)
    print(f"\nStacked MNIST: {FLAGS.limit} training triples of {FLAGS.source}, {FLAGS.epochs} epochs, "
          f"batch 64, {FLAGS.eval_samples} samples scored by the bundled mnist28 per channel.\n")
    print(table(runs))
    keep = [r for r in runs if r["config"] == FLAGS.recommended and r["seed"] == 0]
    if FLAGS.grid and keep and os.path.exists(keep[0]["grid"]):
        shutil.copy(keep[0]["grid"], FLAGS.grid)
        print(f"\nSamples of {FLAGS.recommended}, seed 0: {FLAGS.grid}")


if __name__ == "__main__":
    app.run(main)
