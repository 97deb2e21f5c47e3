"""Score a generator against real images, offline, and print a table.

The model is a `.keras` checkpoint (what train_dcgan.py writes) or an exported
SavedModel directory; `--candidates=start:stop` scores a slice of the real data
instead, which gives the real-vs-real floor to compare against:

    python examples/evaluate.py --model=runs/dcgan/gan.keras --dataset=digits
    python examples/evaluate.py --model=runs/mnist/gan.keras --dataset=idx:../shared/data/mnist \\
        --reference=0:8000 --num_samples=2000
    python examples/evaluate.py --candidates=8000:10000 --dataset=idx:../shared/data/mnist \\
        --reference=0:8000 --num_samples=2000          # real vs real: the floor

Features come from the bundled digit classifier that fits the image shape (28x28x1:
`mnist28`, 8x8x1: `digits8`), else InceptionV3 when its weights are on disk.
"""

import json

from absl import app, flags

flags.DEFINE_string("model", None, "A .keras checkpoint (GAN or generator) or a SavedModel directory.")
flags.DEFINE_string("candidates", None, "Score real images start:stop of --dataset instead of a model.")
flags.DEFINE_string("dataset", "digits", "Real images: any name load_dataset accepts.")
flags.DEFINE_string("split", "train", "Split of --dataset.")
flags.DEFINE_string("reference", None, "start:stop slice of --dataset used as the real set. Default: all.")
flags.DEFINE_integer("num_samples", 2000, "Images to generate (or the most to take from --candidates).",
                     lower_bound=2)
flags.DEFINE_list("metrics", None, "Comma-separated subset of metrics. Default: all the extractor supports.")
flags.DEFINE_enum("features", "auto", ["auto", "mnist28", "digits8", "inception"], "Feature space.")
flags.DEFINE_string("inception_weights", None, "Local InceptionV3 no-top weights (.h5) for --features=inception.")
flags.DEFINE_integer("seed", 0, "Noise seed (and KID subsets).")
flags.DEFINE_string("output", None, "Also write the scores to this JSON file.")
FLAGS = flags.FLAGS


def _slice(images, spec):
    if not spec:
        return images
    start, _, stop = spec.partition(":")
    return images[int(start or 0) : int(stop) if stop else None]


def main(argv):
    del argv
    from tfgan_kit import metrics

    if bool(FLAGS.model) == bool(FLAGS.candidates):
        raise app.UsageError("Pass exactly one of --model and --candidates.")
    images = metrics.real_images(FLAGS.dataset, split=FLAGS.split)
    real = _slice(images, FLAGS.reference)
    if FLAGS.candidates:
        source, label = _slice(images, FLAGS.candidates)[: FLAGS.num_samples], f"real images {FLAGS.candidates}"
    else:
        source, label = FLAGS.model, FLAGS.model
    if FLAGS.features == "auto":
        extractor = metrics.default_extractor(real.shape[1:])
    else:
        extractor = metrics.feature_extractor(FLAGS.features, weights=FLAGS.inception_weights)
    scores = metrics.evaluate(source, real, metrics=FLAGS.metrics, num_samples=FLAGS.num_samples,
                                 features=extractor, seed=FLAGS.seed, verbose=0)

    print(f"\n{scores['num_fake']} images from {label} vs {scores['num_real']} real images of "
          f"{FLAGS.dataset} {FLAGS.reference or '(all)'}; {extractor.description}; {scores['eval_seconds']:.1f} s.\n")
    print("| metric | value | better |\n| --- | --- | --- |")
    for name, value in scores.items():
        if name in metrics.ALL_METRICS:
            better = ("lower" if name in metrics.LOWER_IS_BETTER
                      else "near 1" if name == "density" else "higher")
            shown = f"{value:.4g}" + (f" ± {scores['kid_std']:.2g}" if name == "kid" else "")
            print(f"| {name} | {shown} | {better} |")
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            json.dump({**scores, "model": label, "dataset": FLAGS.dataset, "reference": FLAGS.reference,
                       "extractor": extractor.name}, f, indent=2)


if __name__ == "__main__":
    app.run(main)
