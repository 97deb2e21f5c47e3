"""Train a class-conditional DCGAN and check that it draws the digit it is asked for.

The generator concatenates a label embedding to z; the discriminator projects a
label embedding onto its last features (`--conditioning=projection`, the default) or
sees the label as an extra image channel (`--conditioning=channel`). After training, a logistic-regression classifier fitted
on the real images reads each generated image, and the script reports how often its
verdict equals the requested label (chance is 1 / num_classes). With no flags it
trains on scikit-learn's bundled 8x8 digits, offline, in a minute or two on two
CPU cores:

    python examples/train_conditional.py
    python examples/train_conditional.py --epochs=20 --dataset=idx:../shared/data/mnist
"""

import json
import os
import time

import numpy as np
from absl import app, flags

flags.DEFINE_string("dataset", "digits", "A labelled source: digits | <tfds name> | idx:<dir> | npz:<file>.")
flags.DEFINE_integer("num_classes", 10, "Classes of the labelled data (labels 0..num_classes-1).",
                     lower_bound=2)
flags.DEFINE_integer("epochs", 60, "Passes over the data.", lower_bound=1)
flags.DEFINE_integer("batch_size", 64, "Global batch size.", lower_bound=1)
flags.DEFINE_integer("latent_dim", 32, "Size of the noise vector z.", lower_bound=1)
flags.DEFINE_integer("width", 32, "Filters of the networks' outer convolutions.", lower_bound=1)
flags.DEFINE_float("lr", 2e-4, "Adam learning rate of both networks.", lower_bound=0.0)
flags.DEFINE_float("beta1", 0.5, "Adam beta_1 of both networks.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_enum("conditioning", "projection", ["projection", "channel"],
                  "How the discriminator uses the label.")
flags.DEFINE_float("label_smoothing", 0.0, "One-sided label smoothing of D's real targets.")
flags.DEFINE_enum("loss", "non_saturating",
                  ["non_saturating", "minimax", "hinge", "least_squares", "wasserstein"],
                  "Adversarial loss family.")
flags.DEFINE_integer("limit", None, "Use only the first N training examples.")
flags.DEFINE_integer("eval_samples", 1000, "Generated images the classifier reads.", lower_bound=10)
flags.DEFINE_string("output_dir", "runs/conditional", "Where sample grids, plots and the checkpoint go.")
flags.DEFINE_integer("seed", 0, "Random seed (noise, weights, shuffling).")
flags.DEFINE_integer("steps_per_execution", 1, "Batches per compiled call.", lower_bound=1)

FLAGS = flags.FLAGS


def label_agreement(gan, images, labels, num_samples, seed):
    """Fraction of generated images a classifier of the real data reads as the requested label."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # Multi-threaded BLAS crawls on a busy machine; this fit is small.
        classifier = LogisticRegression(max_iter=2000).fit(images.reshape(len(images), -1), labels)
    real_accuracy = classifier.score(images.reshape(len(images), -1), labels)
    requested = np.arange(num_samples) % gan.num_classes
    fakes = gan.generate(num_samples, seed=seed, labels=requested)
    agreement = float(np.mean(classifier.predict(fakes.reshape(num_samples, -1)) == requested))
    return agreement, float(real_accuracy)


def main(argv):
    del argv
    import keras

    import tfgan_kit

    keras.utils.set_random_seed(FLAGS.seed)
    dataset = tfgan_kit.load_dataset(
        FLAGS.dataset, batch_size=FLAGS.batch_size, labels=True, seed=FLAGS.seed, limit=FLAGS.limit
    )
    image_shape = tuple(dataset.element_spec[0].shape[1:])
    num_classes = FLAGS.num_classes
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator(image_shape, FLAGS.latent_dim, width=FLAGS.width,
                                  num_classes=num_classes),
        tfgan_kit.dcgan_discriminator(image_shape, width=FLAGS.width, num_classes=num_classes,
                                      conditioning=FLAGS.conditioning),
        latent_dim=FLAGS.latent_dim,
        num_classes=num_classes,
        seed=FLAGS.seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(FLAGS.lr, beta_1=FLAGS.beta1),
        g_optimizer=keras.optimizers.Adam(FLAGS.lr, beta_1=FLAGS.beta1),
        loss=FLAGS.loss,
        label_smoothing=FLAGS.label_smoothing,
        steps_per_execution=FLAGS.steps_per_execution,
    )
    # One row per class in every grid: the columns share z, so style stays, digit changes.
    grids = tfgan_kit.SampleGrid(os.path.join(FLAGS.output_dir, "samples"),
                                 num_samples=num_classes * num_classes, seed=FLAGS.seed)
    start = time.time()
    history = gan.fit(dataset, epochs=FLAGS.epochs, callbacks=[grids])
    seconds = time.time() - start

    tfgan_kit.plot_history(history.history, os.path.join(FLAGS.output_dir, "losses.png"))
    gan.save(os.path.join(FLAGS.output_dir, "gan.keras"))
    final = {k: float(v[-1]) for k, v in history.history.items()}
    final["train_seconds"] = round(seconds, 1)
    if FLAGS.dataset == "digits" or FLAGS.dataset.startswith(("idx:", "npz:")):
        images, labels = tfgan_kit.load_arrays(FLAGS.dataset, labels=True, limit=FLAGS.limit)
        final["label_agreement"], final["classifier_real_accuracy"] = label_agreement(
            gan, images, labels, FLAGS.eval_samples, FLAGS.seed)
        print(f"Label agreement: {final['label_agreement']:.1%} of {FLAGS.eval_samples} generated "
              f"images are read as the requested class (chance {1 / num_classes:.0%}; the "
              f"classifier scores {final['classifier_real_accuracy']:.1%} on the real images).")
    with open(os.path.join(FLAGS.output_dir, "metrics.json"), "w") as f:
        json.dump(final, f, indent=2)
    print(f"Trained {FLAGS.epochs} epochs in {seconds:.0f} s.")
    print(f"Samples: {grids.paths[-1]}  Curves: {FLAGS.output_dir}/losses.png  "
          f"Checkpoint: {FLAGS.output_dir}/gan.keras")


if __name__ == "__main__":
    app.run(main)
