"""Train a GAN on a 2-D Gaussian mixture and count the modes it covers.

`ring8` is 8 Gaussians on a circle of radius 2 (std 0.02), `grid25` a 5x5 grid with
means -4..4 step 2 (std 0.05). The score is the VEEGAN / PacGAN protocol
(`tfgan_kit.metrics.mixture_mode_stats`): of 2,500 samples, a sample is high quality
within 3 std of its nearest mode, a mode is captured when it has a high-quality
sample, and KL compares the modes' histogram with the uniform one. A scatter plot
of the samples over the modes is written as a PNG.

    python examples/train_toy2d.py                                  # grid25, recommended recipe
    python examples/train_toy2d.py --recipe=plain --mixture=ring8   # the toolkit's defaults
    python examples/train_toy2d.py --steps=30000 --r1_gamma=0.1     # any field overridden

`--recipe` picks a starting point from `RECIPES` (`plain`: the builders' and
`compile`'s defaults; `recommended`: what benchmarks/mode_coverage.py measured best;
`recommended_<ablation>`: it with one ingredient undone); every other flag left unset
keeps the recipe's value.
"""

import json
import os
import time

from absl import app, flags

RECIPES = {
    # The builders' and GAN.compile's defaults: MLPs of 2x128, z in R^2,
    # Adam(2e-4, beta_1=0.5), non-saturating BCE.
    "plain": dict(
        hidden=(128, 128), latent_dim=2, batch_size=128, lr=2e-4, d_lr=None, beta1=0.5,
        beta2=0.999, decay="none", loss="non_saturating", r1_gamma=0.0, d_norm="none",
        minibatch=None, generator_ema=None,
    ),
    # Measured best within the benchmark's budget (benchmarks/mode_coverage.py, README).
    "recommended": dict(
        hidden=(128, 128, 128), latent_dim=2, batch_size=128, lr=1e-3, d_lr=None, beta1=0.0,
        beta2=0.9, decay="cosine", loss="non_saturating", r1_gamma=0.0, d_norm="none",
        minibatch=None, generator_ema=None,
    ),
}
# Ablations: the recommended recipe with one ingredient changed back, to show what it buys.
ABLATIONS = {"no_decay": {"decay": "none"}, "beta1_0.5": {"beta1": 0.5},
             "two_layers": {"hidden": (128, 128)}}
RECIPES.update({f"recommended_{name}": {**RECIPES["recommended"], **change}
                for name, change in ABLATIONS.items()})
DEFAULT_STEPS = {"ring8": 10_000, "grid25": 20_000}

flags.DEFINE_enum("mixture", "grid25", ["ring8", "grid25"], "The 2-D mixture.")
flags.DEFINE_enum("recipe", "recommended", list(RECIPES), "Starting configuration.")
flags.DEFINE_integer("steps", None, "Training steps (generator updates). Defaults to "
                     f"{DEFAULT_STEPS}[mixture].", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Batch size.", lower_bound=2)
flags.DEFINE_integer("latent_dim", None, "Size of z.", lower_bound=1)
flags.DEFINE_list("hidden", None, "Hidden layer widths of both MLPs, e.g. 128,128,128.")
flags.DEFINE_float("lr", None, "Adam learning rate (both networks unless --d_lr).", lower_bound=0)
flags.DEFINE_float("d_lr", None, "The discriminator's learning rate (TTUR).", lower_bound=0)
flags.DEFINE_float("beta1", None, "Adam beta_1.", lower_bound=0, upper_bound=1)
flags.DEFINE_float("beta2", None, "Adam beta_2.", lower_bound=0, upper_bound=1)
flags.DEFINE_enum("decay", None, ["none", "cosine"], "Learning-rate schedule over --steps.")
flags.DEFINE_enum("loss", None, ["non_saturating", "minimax", "hinge", "least_squares",
                                 "wasserstein"], "Adversarial loss family.")
flags.DEFINE_float("r1_gamma", None, "R1 penalty gamma (0: off).", lower_bound=0)
flags.DEFINE_enum("d_norm", None, ["none", "spectral", "layer"], "Discriminator normalization.")
flags.DEFINE_enum("minibatch", None, ["none", "stddev", "discrimination"],
                  "Minibatch layer in the discriminator.")
flags.DEFINE_float("generator_ema", None, "Decay of the generator's weight EMA (0: off).")
flags.DEFINE_integer("num_samples", 2500, "Samples scored (the protocol uses 2,500).")
flags.DEFINE_integer("seed", 0, "Seed of weights, noise and data.")
flags.DEFINE_string("output_dir", "runs/toy2d", "Where the plot and metrics go.")

FLAGS = flags.FLAGS


def recipe_from_flags() -> dict:
    """The chosen recipe with every flag the user set written over it."""
    recipe = dict(RECIPES[FLAGS.recipe])
    for key in recipe:
        value = getattr(FLAGS, key)
        if value is not None:
            recipe[key] = value
    recipe["hidden"] = tuple(int(u) for u in recipe["hidden"])
    recipe["minibatch"] = None if recipe["minibatch"] == "none" else recipe["minibatch"]
    recipe["generator_ema"] = recipe["generator_ema"] or None
    return recipe


def train(mixture: str, recipe: dict, steps: int, seed: int = 0, verbose: int = 0):
    """A GAN trained for `steps` on fresh draws of `mixture`; returns (gan, seconds)."""
    import keras
    import tensorflow as tf

    import tfgan_kit

    keras.utils.set_random_seed(seed)
    points, _ = tfgan_kit.data.sample_mixture(mixture, 100_000, seed=seed + 1000)
    dataset = (tf.data.Dataset.from_tensor_slices(points).shuffle(100_000, seed=seed).repeat()
               .batch(recipe["batch_size"], drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    gan = tfgan_kit.GAN(
        tfgan_kit.mlp_generator(2, recipe["latent_dim"], recipe["hidden"]),
        tfgan_kit.mlp_discriminator(2, recipe["hidden"], norm=recipe["d_norm"],
                                    minibatch=recipe["minibatch"]),
        latent_dim=recipe["latent_dim"], seed=seed,
    )

    def adam(lr):
        if recipe["decay"] == "cosine":
            lr = keras.optimizers.schedules.CosineDecay(lr, steps)
        return keras.optimizers.Adam(lr, beta_1=recipe["beta1"], beta_2=recipe["beta2"])

    gan.compile(
        d_optimizer=adam(recipe["d_lr"] or recipe["lr"]), g_optimizer=adam(recipe["lr"]),
        loss=recipe["loss"], r1_gamma=recipe["r1_gamma"],
        generator_ema=recipe["generator_ema"], steps_per_execution=100,
    )
    start = time.time()
    gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=verbose, shuffle=False)
    return gan, time.time() - start


def main(argv):
    del argv
    import tfgan_kit

    recipe = recipe_from_flags()
    steps = FLAGS.steps or DEFAULT_STEPS[FLAGS.mixture]
    gan, seconds = train(FLAGS.mixture, recipe, steps, FLAGS.seed, verbose=2)
    samples = gan.generate(FLAGS.num_samples, seed=FLAGS.seed)
    stats = tfgan_kit.metrics.mixture_mode_stats(samples, FLAGS.mixture)
    title = (f"{FLAGS.mixture}, {FLAGS.recipe}: {stats['modes']}/{stats['num_modes']} modes, "
             f"{stats['high_quality']:.1%} HQ")
    plot = tfgan_kit.plotting.plot_mixture_samples(
        samples, FLAGS.mixture, os.path.join(FLAGS.output_dir, "samples.png"), title)
    with open(os.path.join(FLAGS.output_dir, "metrics.json"), "w") as f:
        json.dump({**stats, "steps": steps, "train_seconds": round(seconds, 1),
                   "recipe": {**recipe, "hidden": list(recipe["hidden"])}}, f, indent=2)
    print(f"{stats['modes']}/{stats['num_modes']} modes captured, {stats['high_quality']:.1%} of "
          f"{FLAGS.num_samples} samples high quality (within 3 std), KL to uniform "
          f"{stats['kl_to_uniform']:.3f} nats; {steps} steps in {seconds:.0f} s.")
    print(f"Plot: {plot}  Metrics: {FLAGS.output_dir}/metrics.json")


if __name__ == "__main__":
    app.run(main)
