"""Write N generated images as synthetic training data: a folder of PNGs or an .npz.

Conditional models get class-balanced labels: one sub-folder per class (readable by
`keras.utils.image_dataset_from_directory` and `tfgan_kit.load_dataset("folder:...",
labels=True)`), or a `y` array in the .npz next to `x`.

    python examples/generate.py --model=runs/dcgan/gan.keras --num_samples=1000 --output=synthetic/
    python examples/generate.py --model=saved_models/digits_dcgan/1 --output=synthetic.npz
"""

import os

from absl import app, flags

flags.DEFINE_string("model", None, "A .keras checkpoint of a tfgan_kit.GAN or an exported SavedModel dir.")
flags.DEFINE_string("output", None, "A folder (PNGs) or a file ending in .npz.")
flags.DEFINE_integer("num_samples", 1000, "How many images to write.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Noise seed: the same seed writes the same images.")
flags.DEFINE_integer("num_classes", None, "Classes of a conditional SavedModel (a .keras file knows).")
flags.mark_flags_as_required(["model", "output"])
FLAGS = flags.FLAGS


def generate_from_checkpoint(path, num_samples, seed):
    import keras

    from tfgan_kit.data import balanced_labels

    gan = keras.models.load_model(path)
    labels = balanced_labels(num_samples, gan.num_classes)
    return gan.generate(num_samples, seed=seed, labels=labels), labels


def generate_from_saved_model(path, num_samples, seed, num_classes):
    import tensorflow as tf

    from tfgan_kit.data import balanced_labels

    served = tf.saved_model.load(path)
    if "sample_labels" in served.signatures:
        if not num_classes:
            raise app.UsageError(f"{path} is a conditional generator: pass --num_classes.")
        labels = balanced_labels(num_samples, num_classes)
        out = served.signatures["sample_labels"](label=tf.constant(labels, tf.int32),
                                                 seed=tf.constant(seed))
    else:
        labels = None
        out = served.signatures["sample"](num_samples=tf.constant(num_samples), seed=tf.constant(seed))
    return out["images"].numpy() * 2.0 - 1.0, labels  # Served images are in [0, 1].


def main(argv):
    del argv
    import numpy as np

    from tfgan_kit import data, plotting

    if FLAGS.model.endswith(".keras"):
        images, labels = generate_from_checkpoint(FLAGS.model, FLAGS.num_samples, FLAGS.seed)
    else:
        images, labels = generate_from_saved_model(
            FLAGS.model, FLAGS.num_samples, FLAGS.seed, FLAGS.num_classes)
    if FLAGS.output.endswith(".npz"):
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
        arrays = {"x": plotting.to_uint8(images)}
        if labels is not None:
            arrays["y"] = np.asarray(labels, np.int32)
        np.savez_compressed(FLAGS.output, **arrays)
    else:
        data.write_image_folder(images, FLAGS.output, labels)
    print(f"Wrote {len(images)} images{' with labels' if labels is not None else ''} to {FLAGS.output}")


if __name__ == "__main__":
    app.run(main)
