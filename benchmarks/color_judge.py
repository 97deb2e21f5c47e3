"""Train the color benchmark's judge: a small CNN that tells OpenMoji subgroups apart.

The color analogue of the bundled `mnist28` digit classifier (benchmarks/train_digit_classifier.py):
a classifier trained on the data's own labels, whose penultimate ReLU layer (`features`)
is the feature space of the judge-FID that `benchmarks/color_quality.py` scores GANs with.
It lives with the benchmarks (benchmarks/judges/), not in the package.

Data: the 4,495 OpenMoji emoji of `openmoji64` (64x64 RGBA, CC BY-SA 4.0, "OpenMoji"),
composited over white and read exactly as GAN training reads them
(`load_dataset("folder:...", image_size=...)`), labelled by subgroup from the index CSV.
Subgroups with fewer than --min_class images are merged into their group's "<group>/other"
class, and such a class still under --min_class into one "misc" class. Augmentation: small
shifts and zooms (uncovered pixels white), horizontal flips. A stratified 20 % is held out
(never seen in training, no model selection on it) and gives the accuracy recorded in
`benchmarks/judges/metadata.json`.

    python benchmarks/color_judge.py                      # 32 px, ~3 min on 2 CPU cores
    python benchmarks/color_judge.py --image_size=64      # 64 px

`judge(image_size)` loads a trained judge as a `tfgan_kit.metrics.FeatureExtractor`.
"""

import csv
import json
import os
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "..", "shared", "data", "openmoji64")
INDEX = DATA + "_index.csv"
JUDGES = os.path.join(REPO, "benchmarks", "judges")

if __name__ == "__main__":
    flags.DEFINE_integer("image_size", 32, "Judge's input size (square), as GANs are trained at.")
    flags.DEFINE_integer("min_class", 10, "Subgroups with fewer images are merged (see the docstring).")
    flags.DEFINE_integer("epochs", 40, "Training epochs.")
    flags.DEFINE_integer("seed", 0, "Seed of the split, weights and augmentation.")
FLAGS = flags.FLAGS


def real_images(image_size: int):
    """(all the emoji as a float32 [-1, 1] array, their relative paths), in the loader's path order."""
    import tfgan_kit
    from tfgan_kit.data.folder import list_images

    paths, _ = list_images(DATA, labels=False)
    dataset = tfgan_kit.load_dataset(f"folder:{DATA}", batch_size=1, shuffle=False, image_size=image_size)
    images = tfgan_kit.metrics.real_images(dataset)  # composited over white: load_dataset's default
    assert len(images) == len(paths), (len(images), len(paths))
    return images, [os.path.relpath(p, DATA) for p in paths]


def classes(paths, min_class: int):
    """(class id per path, class names): subgroups, the small ones merged (see the docstring)."""
    import collections

    with open(INDEX) as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    subgroup = [rows[p]["subgroup"] for p in paths]
    group = [rows[p]["group"] for p in paths]
    counts = collections.Counter(subgroup)
    merged = [s if counts[s] >= min_class else f"{g}/other" for s, g in zip(subgroup, group)]
    counts = collections.Counter(merged)
    merged = [m if counts[m] >= min_class else "misc" for m in merged]
    names = sorted(set(merged))
    return [names.index(m) for m in merged], names


def class_groups(names) -> list:
    """The group folder of each judge class (a subgroup, "<group>/other"; None for "misc"):
    what a conditional GAN trained on the group folders is asked for."""
    with open(INDEX) as f:
        group_of = {r["subgroup"]: r["group"] for r in csv.DictReader(f)}
    return [name.split("/")[0] if name.endswith("/other") else group_of.get(name) for name in names]


def build_judge(image_shape, num_classes: int, filters=(32, 64, 128, 256), num_features: int = 128):
    """The digit classifiers' network with more classes and a block more."""
    from classifier import build_classifier

    return build_classifier(image_shape, filters, num_features, f"openmoji{image_shape[0]}_judge",
                            num_classes)


def judge(image_size: int = 32):
    """The trained judge at `image_size` as a FeatureExtractor ([features, probabilities])."""
    import keras

    from tfgan_kit.metrics import FeatureExtractor

    with open(os.path.join(JUDGES, "metadata.json")) as f:
        meta = json.load(f)[f"openmoji{image_size}"]
    model = keras.models.load_model(os.path.join(JUDGES, meta["file"]), compile=False)
    model = keras.Model(model.inputs, [model.get_layer("features").output, model.outputs[0]])
    return FeatureExtractor(model, f"openmoji{image_size}", tuple(meta["image_shape"]), description=(
        f"openmoji{image_size} judge, {meta['num_classes']} classes, held-out accuracy "
        f"{meta['held_out_accuracy']:.1%}")), meta


def main(argv):
    del argv
    import keras
    import numpy as np
    from keras import layers
    from sklearn.model_selection import train_test_split

    keras.mixed_precision.set_global_policy("float32")  # a judge's features in float32
    keras.utils.set_random_seed(FLAGS.seed)
    x, paths = real_images(FLAGS.image_size)
    y, names = classes(paths, FLAGS.min_class)
    y = np.asarray(y)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=FLAGS.seed)
    name = f"openmoji{FLAGS.image_size}"
    classifier = build_judge(x.shape[1:], len(names))
    # White is +1 in [-1, 1]: what the shifts and zooms uncover is background.
    augment = [layers.RandomFlip("horizontal"),
               layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=1.0),
               layers.RandomZoom(0.1, fill_mode="constant", fill_value=1.0)]
    trainer = keras.Sequential([keras.Input(x.shape[1:]), *augment, classifier])
    batch = 64
    steps = FLAGS.epochs * (len(x_tr) // batch)
    trainer.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    trainer.fit(x_tr, y_tr, batch_size=batch, epochs=FLAGS.epochs, verbose=2, shuffle=True)
    seconds = time.time() - start
    probs = classifier.predict(x_te, batch_size=512, verbose=0)
    predicted = probs.argmax(-1)
    accuracy = float(np.mean(predicted == y_te))
    top5 = float(np.mean([t in np.argsort(p)[-5:] for p, t in zip(probs, y_te)]))
    train_acc = float(np.mean(classifier.predict(x_tr, batch_size=512, verbose=0).argmax(-1) == y_tr))
    os.makedirs(JUDGES, exist_ok=True)
    path = os.path.join(JUDGES, f"{name}.keras")
    classifier.save(path)  # never compiled itself: no optimizer state in the file
    print(f"{name}: held-out accuracy {accuracy:.2%} (top-5 {top5:.2%}; training images {train_acc:.2%}) "
          f"on {len(y_te)} images, {len(names)} classes, {FLAGS.epochs} epochs in {seconds:.0f} s, "
          f"{classifier.count_params():,} parameters -> {path}")
    meta_path = os.path.join(JUDGES, "metadata.json")
    metadata = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    metadata[name] = {
        "file": f"{name}.keras", "image_shape": list(x.shape[1:]), "feature_layer": "features",
        "num_features": int(classifier.get_layer("features").units), "num_classes": len(names),
        "classes": names, "parameters": classifier.count_params(),
        "held_out_accuracy": round(accuracy, 4), "held_out_top5_accuracy": round(top5, 4),
        "training_accuracy": round(train_acc, 4), "held_out_images": len(y_te),
        "train_images": len(y_tr), "train_seconds": round(seconds), "epochs": FLAGS.epochs,
        "min_class": FLAGS.min_class,
        "trained_on": "openmoji64 (OpenMoji, CC BY-SA 4.0) composited over white, stratified 80 % "
                      f"(random_state={FLAGS.seed}); labels: subgroup, those under {FLAGS.min_class} "
                      "images merged into '<group>/other', and those still under it into 'misc'",
        "augmentation": "horizontal flip, translation 0.1, zoom 0.1 (fill white)",
        "cpu": cpu_name(),
    }
    metadata["note"] = ("Written by benchmarks/color_judge.py. Inputs: RGB images in [-1, 1] on white. "
                        "'features' (penultimate, ReLU) feeds the judge-FID of benchmarks/color_quality.py.")
    with open(meta_path, "w") as f:
        json.dump(metadata, f, indent=1)
    print(f"Metadata: {meta_path}")


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo) and the cores this process may use."""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


if __name__ == "__main__":
    app.run(main)
