"""Train the bundled digit classifiers that `tfgan_kit.metrics` scores images with.

Two small CNNs, both taking grayscale images in [-1, 1] (what `GAN.generate` returns):

- `mnist28` (28x28x1): trained on the FIRST 8,000 images of the MNIST test set (the
  only MNIST split on this machine, and the images the GAN quality benchmarks train
  on), with small random shifts, rotations and zooms; its accuracy is measured once,
  after training, on the LAST 2,000 images, which it never saw (no early stopping or
  model selection on them).
- `digits8` (8x8x1): trained on 80 % of scikit-learn's 1,797 digits (stratified split,
  `random_state=0`), measured on the other 20 %.

The penultimate layer (`features`, ReLU) is the feature space of FID / KID /
precision / recall / density / coverage; the softmax gives the classifier score and
the classes covered. The models are written without optimizer state to
`tfgan_kit/assets/digit_classifier/` with a `metadata.json` recording the accuracies.

    python benchmarks/train_digit_classifier.py                  # both, ~5-10 min on 2 CPU cores
    python benchmarks/train_digit_classifier.py --which=digits8  # ~30 s
"""

import json
import os
import time

from absl import app, flags
from classifier import build_classifier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_enum("which", "both", ["both", "mnist28", "digits8"], "Which classifier to train.")
flags.DEFINE_string("mnist_dir", os.path.join(REPO, "..", "shared", "data", "mnist"),
                    "Directory with the MNIST test set as IDX files (t10k-*).")
flags.DEFINE_integer("train_count", 8000, "Train on the first N MNIST test images; hold out the rest.")
flags.DEFINE_integer("epochs", 30, "Epochs for mnist28 (digits8 trains 4x as many, on 1,437 images).")
flags.DEFINE_string("output_dir", os.path.join(REPO, "tfgan_kit", "assets", "digit_classifier"),
                    "Where the .keras files and metadata.json go.")
flags.DEFINE_integer("seed", 0, "Random seed.")
FLAGS = flags.FLAGS


def train(name, x_train, y_train, x_test, y_test, filters, num_features, shift, epochs, batch_size):
    import keras
    import numpy as np
    from keras import layers

    classifier = build_classifier(x_train.shape[1:], filters, num_features, name)
    # Background is -1 in [-1, 1]: fill what the augmentations uncover with it.
    augment = [
        layers.RandomTranslation(shift, shift, fill_mode="constant", fill_value=-1.0),
        layers.RandomRotation(0.03, fill_mode="constant", fill_value=-1.0),
        layers.RandomZoom(0.1, fill_mode="constant", fill_value=-1.0),
    ]
    trainer = keras.Sequential([keras.Input(x_train.shape[1:]), *augment, classifier])
    steps = epochs * (len(x_train) // batch_size)
    trainer.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.time()
    trainer.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2, shuffle=True)
    seconds = time.time() - start
    predicted = classifier.predict(x_test, batch_size=512, verbose=0).argmax(-1)
    accuracy = float(np.mean(predicted == y_test))
    errors = int(np.sum(predicted != y_test))
    path = os.path.join(FLAGS.output_dir, f"{name}.keras")
    classifier.save(path)  # Never compiled itself: no optimizer state in the file.
    print(f"{name}: held-out accuracy {accuracy:.2%} ({errors} errors / {len(y_test)} images), "
          f"trained {epochs} epochs in {seconds:.0f} s, {classifier.count_params():,} parameters, "
          f"{os.path.getsize(path) / 1e6:.2f} MB -> {path}")
    return {
        "file": f"{name}.keras",
        "image_shape": list(x_train.shape[1:]),
        "feature_layer": "features",
        "num_features": num_features,
        "parameters": classifier.count_params(),
        "held_out_accuracy": round(accuracy, 4),
        "held_out_errors": errors,
        "train_seconds": round(seconds),
        "epochs": epochs,
    }


def main(argv):
    del argv
    import keras
    from sklearn.model_selection import train_test_split

    import tfgan_kit

    os.makedirs(FLAGS.output_dir, exist_ok=True)
    meta_path = os.path.join(FLAGS.output_dir, "metadata.json")
    metadata = {}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            metadata = json.load(f)

    if FLAGS.which in ("both", "digits8"):
        keras.utils.set_random_seed(FLAGS.seed)
        x, y = tfgan_kit.load_arrays("digits", labels=True)
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=0.2, stratify=y, random_state=FLAGS.seed
        )
        metadata["digits8"] = train("digits8", x_tr, y_tr, x_te, y_te, filters=(32, 64, 128),
                                    num_features=64, shift=0.125, epochs=4 * FLAGS.epochs,
                                    batch_size=32)
        metadata["digits8"].update(
            trained_on=f"scikit-learn digits, stratified 80 % ({len(x_tr)} images), random_state={FLAGS.seed}",
            held_out=f"the other 20 % ({len(x_te)} images)",
        )

    if FLAGS.which in ("both", "mnist28"):
        keras.utils.set_random_seed(FLAGS.seed)
        x, y = tfgan_kit.load_arrays(f"idx:{FLAGS.mnist_dir}", labels=True, split="test")
        n = FLAGS.train_count
        metadata["mnist28"] = train("mnist28", x[:n], y[:n], x[n:], y[n:], filters=(32, 64, 128),
                                    num_features=128, shift=0.1, epochs=FLAGS.epochs,
                                    batch_size=64)
        metadata["mnist28"].update(
            trained_on=f"MNIST test set, images 0-{n - 1} (the GAN benchmarks' training images)",
            held_out=f"MNIST test set, images {n}-{len(x) - 1} ({len(x) - n} images, never seen)",
        )

    metadata["note"] = ("Written by benchmarks/train_digit_classifier.py. Inputs: grayscale "
                        "images in [-1, 1]. 'features' (penultimate, ReLU) feeds FID/KID/PR/DC; "
                        "the softmax feeds the classifier score and classes covered.")
    with open(meta_path, "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
    print(f"Metadata: {meta_path}")


if __name__ == "__main__":
    app.run(main)
