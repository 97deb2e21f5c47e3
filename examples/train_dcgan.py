"""Train a DCGAN and write sample grids, a loss plot and a `.keras` checkpoint.

With no flags it trains on scikit-learn's bundled 8x8 digits, offline, in about a
minute on two CPU cores:

    python examples/train_dcgan.py
    python examples/train_dcgan.py --dataset=idx:../shared/data/mnist --epochs=20
    python examples/train_dcgan.py --dataset=mnist --epochs=20   # TFDS, needs a network once
    python examples/train_dcgan.py --dataset=folder:photos --image_size=64   # your own pictures
    python examples/train_dcgan.py --dataset=celeb_a --image_size=64 --networks=resnet --loss=hinge
    python examples/train_dcgan.py --strategy=mirrored --batch_size=256   # all local GPUs
    python examples/train_dcgan.py --export --model_name=digits  # + saved_models/digits/<version>/
    python examples/train_dcgan.py --d_lr_multiplier=100 --epochs=10   # D overpowers G: monitors warn
"""

import json
import os
import time
from typing import NamedTuple

from absl import app, flags

# Named recipes: flag values measured together (docs: Benchmarks).
# The Stacked MNIST ones keep that benchmark's batch 64 and score the raw generator.
STACKED = {"batch_size": 64, "ema_decay": 0.0}
# SNGAN's ResNet pair (spectral-norm D) with hinge loss and Adam(beta 0.0, 0.9): on 4,495 color
# emoji at 32 px it learns where the DCGAN pair collapses. Sized for 2 CPU cores: batch 16 on
# mirrored images, G's channels where its pixels are few (4x4x128 to 32x32x32), a D of 32
# channels, learning rate 4e-4. It ends 900 training s at judge-FID 27.5, 29.6, 25.0 on 3 seeds;
# SNGAN's CIFAR widths (32 throughout, lr 2e-4) at batch 32 ended at 41.2, 47.0, 41.9
# (benchmarks/color_quality.py; real emoji blurred to 16 px: 73.5).
COLOR = {"networks": "resnet", "loss": "hinge", "lr": 4e-4, "beta1": 0.0, "beta2": 0.9,
         "batch_size": 16, "mirror": True, "width": 128, "d_width": 32, "min_width": 32}
RECIPES = {
    "r3gan": {"loss": "relativistic", "r1_gamma": 0.1, "r2_gamma": 0.1, "beta1": 0.0,
              "beta2": 0.99, "minibatch": "stddev", "d_dropout": 0.3} | STACKED,
    # PacGAN's PacDCGAN2: D judges pairs; PacGAN's DCGAN (z 100, width 64, batch-norm D without
    # dropout, two G updates per D update). On Stacked MNIST: 1,000 modes in 8,000 steps.
    "pacgan": {"pack": 2, "width": 64, "latent_dim": 100, "d_norm": "batch", "d_dropout": 0.0,
               "g_steps": 2} | STACKED,
    "color": COLOR,
    # From 64 px a step of `color` costs 3-4x as much and its samples fell onto a few shapes.
    # Both networks at 16 channels by the image (1.7x the steps a second), D tapered like G (16
    # to 128) and updated twice a batch, and a shorter EMA (at ~6 steps/s 0.999 lags): after 900
    # training s judge-FID 55.9, 68.4, 81.1 on 3 seeds, where `color` was at 235.5 (real emoji
    # blurred to 32 px and back: 87.7).
    "color64": COLOR | {"min_width": 16, "d_width": 128, "d_steps": 2, "ema_decay": 0.995},
}

flags.DEFINE_string("dataset", "digits", "digits | <tfds name> | idx:<dir> | npz:<file> | folder:<dir>.")
flags.DEFINE_integer("image_size", None, "Center-crop and resize every image to this square size "
                     "(e.g. 64); needed when the images are not all one square size.", lower_bound=1)
flags.DEFINE_enum("channels", None, ["1", "3", "4"], "1: gray, 3: RGB, 4: RGBA (with "
                  "--background=none). Default: the data's own.")
flags.DEFINE_string("background", "white", "What transparent pixels (RGBA, gray+alpha, palette "
                    "PNGs) are composited over: white, black, r,g,b (0-255), or none: keep "
                    "transparency as a 4th channel, and the GAN generates RGBA.")
flags.DEFINE_bool("skip_bad_files", False, "Train without a folder's unreadable image files "
                  "(truncated, empty, not images) instead of refusing them.")
flags.DEFINE_bool("mirror", False, "Flip each training image left-right with probability 1/2, anew "
                  "every epoch: twice the pictures, for data whose mirror images are as real.")
flags.DEFINE_bool("labels", False, "A class-conditional GAN: train on (image, label) pairs (a "
                  "folder's class sub-folders, a source's labels); both networks see the label, and "
                  "grids show one class a row.")
flags.DEFINE_integer("num_classes", None, "--labels: the number of classes. Default: the largest "
                     "label + 1 (one pass over the labels).", lower_bound=2)
flags.DEFINE_enum("conditioning", "projection", ["projection", "channel"], "--labels: how a dcgan "
                  "D reads the label: projected onto its last features, or as an extra image channel.")
flags.DEFINE_enum("networks", "dcgan", ["dcgan", "resnet"], "dcgan: the DCGAN pair (sizes s*2^k); "
                  "resnet: SNGAN's ResNet pair (sizes 4*2^k >= 16; pairs with --loss=hinge).")
flags.DEFINE_integer("epochs", 50, "Passes over the data.", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Global batch size (split across replicas).", lower_bound=1)
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "default: one device; mirrored: all local GPUs; multi_worker: several machines "
                  "(TF_CONFIG); tpu: a Cloud TPU.")
flags.DEFINE_integer("latent_dim", 64, "Size of the noise vector z.", lower_bound=1)
flags.DEFINE_integer("width", 32, "Filters of the networks' outer convolutions.", lower_bound=1)
flags.DEFINE_float("lr", 2e-4, "Adam learning rate of both networks.", lower_bound=0.0)
flags.DEFINE_enum("lr_decay", "none", ["none", "cosine"], "cosine: both learning rates decay to 0 "
                  "over the run's --epochs (Keras' CosineDecay, per step).")
flags.DEFINE_float("beta1", 0.5, "Adam beta_1 of both networks.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("beta2", 0.999, "Adam beta_2 of both networks.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("min_width", None, "resnet networks: the fewest channels of a block; blocks near "
                     "the image halve --width (D: --d_width) down to it, e.g. --width=128 --min_width=32: "
                     "G's 8, 16, 32 px blocks have 128, 64, 32. Default: --width up to 32 px, 1/16 of "
                     "it from 64 px.", lower_bound=1)
flags.DEFINE_bool("output_skips", False, "resnet networks: G adds an image from every resolution "
                  "(StyleGAN2's skip generator) instead of drawing it at the end.")
flags.DEFINE_integer("pixel_shuffle", 1, "resnet networks: both run at 1/N of the image's size; G's "
                     "channels unfold into NxN pixels and D folds them back (2: a 64 px pair at about "
                     "the cost of a 32 px one).", lower_bound=1)
flags.DEFINE_integer("d_width", None, "D's width when it differs from --width (e.g. a quarter of it).",
                     lower_bound=1)
flags.DEFINE_integer("d_min_width", None, "resnet networks: D's --min_width when it differs from G's.",
                     lower_bound=1)
flags.DEFINE_float("d_dropout", 0.0, "D's dropout after each hidden layer (dcgan networks). 0: "
                   "on MNIST a D without the TF tutorial's 0.3 was at FID 4.5 by epoch 30 (with it: "
                   "4.8 at 42), ended at 3.0 (3.9), and its steps skip the masks: 0.89x the time.",
                   lower_bound=0.0, upper_bound=0.99)
flags.DEFINE_enum("d_norm", "none", ["none", "batch", "layer", "spectral"],
                  "D's normalization after its first layer (dcgan networks; PacGAN's D uses batch).")
flags.DEFINE_integer("d_steps", 1, "Discriminator updates a batch (SNGAN's n_dis: 5).", lower_bound=1)
flags.DEFINE_integer("g_steps", 1, "Generator updates a batch.", lower_bound=1)
flags.DEFINE_enum("minibatch", "none", ["none", "stddev"], "stddev: D sees each batch's spread "
                  "(MinibatchStdDev), which lets it catch a generator that lacks variety.")
flags.DEFINE_integer("pack", 1, "D judges this many samples together (PacGAN); the batch size "
                     "must be a multiple of it. 1: one at a time; 2: guards small data against early "
                     "collapse at 0.9x the step time (--r1_gamma=1 guards it better).", lower_bound=1)
flags.DEFINE_enum("augment", "none", ["none", "diffaugment", "ada"], "What D sees of real and fake "
                  "images: none; DiffAugment (always); ADA (probability steered by D's overfitting).")
flags.DEFINE_string("augment_policy", "color,translation,cutout", "Transformations for --augment.")
flags.DEFINE_float("ada_kimg", 100.0, "--augment=ada: thousands of images for p to go 0 -> 1.",
                   lower_bound=0.001)
flags.DEFINE_float("r1_gamma", 0.0, "R1 penalty (on real images) gamma. 1: the setting for small "
                   "data (a few hundred images), which it keeps from collapsing early.", lower_bound=0.0)
flags.DEFINE_float("r2_gamma", 0.0, "R2 penalty (on generated images) gamma.", lower_bound=0.0)
flags.DEFINE_integer("grow_epochs", 0, "Progressive growing: train the first N of --epochs at half "
                     "the image size (with --recipe=auto, the recipe of that size), then copy both "
                     "networks' shared layers into the full-size pair and train on (resnet networks: "
                     "G's coarse blocks, D's blocks by the logit). Half-size steps cost a fraction of "
                     "full ones. 0: off.", lower_bound=0)
flags.DEFINE_enum("recipe", "auto", ["auto", "none", *RECIPES], "A named set of the flags above "
                  "(flags given explicitly win). auto: color for color images of a size SNGAN's "
                  "networks take (16 and 32 px; color64 from 64 px), none otherwise; "
                  + "; ".join(f"{k}: {v}" for k, v in RECIPES.items()))
flags.DEFINE_float("label_smoothing", 0.0, "One-sided label smoothing of D's real targets.")
flags.DEFINE_enum("loss", "non_saturating",
                  ["non_saturating", "minimax", "hinge", "least_squares", "wasserstein", "relativistic"],
                  "Adversarial loss family.")
flags.DEFINE_integer("limit", None, "Use only the first N training examples.")
flags.DEFINE_string("output_dir", "runs/dcgan", "Where sample grids, plots and the checkpoint go.")
flags.DEFINE_integer("seed", 0, "Random seed (noise, weights, shuffling): same seed, same weights.")
flags.DEFINE_string("backup_dir", None, "Crash-safe backup; re-running the same command resumes "
                    "from it. Defaults to <output_dir>/backup.")
flags.DEFINE_integer("steps_per_execution", 10, "Batches per compiled call (10: the same "
                     "training, 0.89-0.93x the time a step on 2 CPU cores).", lower_bound=1)
flags.DEFINE_enum("precision", "auto", ["auto", "float32", "mixed_bfloat16", "mixed_float16"],
                  "auto: bfloat16 where the hardware runs it fast (AMX/AVX512-BF16 CPUs, GPUs of "
                  "compute capability >= 8), float16 on older tensor-core GPUs, float32 otherwise.")
flags.DEFINE_float("d_lr_multiplier", 1.0, "Multiplies D's learning rate. A deliberately failing "
                   "run to see the monitors act: 100 lets D overpower G.", lower_bound=0.0)
flags.DEFINE_enum("imbalance_monitor", "warn", ["off", "warn", "rebalance", "stop"],
                  "ImbalanceMonitor: log, scale the dominating network's learning rate, or stop.")
flags.DEFINE_enum("mode_collapse_monitor", "warn", ["off", "warn", "stop", "restore_best"],
                  "ModeCollapseMonitor: log, stop, or restore the most diverse healthy generator.")
flags.DEFINE_bool("sample_grids", True, "Write a PNG grid of samples per epoch to <output_dir>/samples.")
flags.DEFINE_string("tensorboard_dir", None, "Also write the sample grids as TensorBoard images here.")
flags.DEFINE_float("ema_decay", 0.999, "Generator weight EMA decay (what generate, the grids, "
                   "scoring and export read); 0: off.",
                   lower_bound=0.0, upper_bound=0.99999)
flags.DEFINE_integer("ema_start_step", 0, "Generator step at which the EMA starts.", lower_bound=0)
flags.DEFINE_list("eval_metrics", None, "Metrics scored at the end. Default: all the features allow.")
flags.DEFINE_integer("eval_samples", 2000, "At the end, score this many generated images (FID, KID, "
                     "precision/recall, ...): with a bundled digit classifier when one fits, else "
                     "with InceptionV3 (weights in Keras' cache, or downloaded once); 0: skip.",
                     lower_bound=0)
flags.DEFINE_bool("export", False, "At the end, export the generator for TF Serving.")
flags.DEFINE_string("export_dir", "saved_models", "Export root: <export_dir>/<model_name>/<version>/.")
flags.DEFINE_string("model_name", "dcgan", "Exported model's name (TF Serving's MODEL_NAME).")

FLAGS = flags.FLAGS


def augmentation():
    """What --augment asks for: None, DiffAugment or ADA (a layer, so made in the scope)."""
    import tfgan_kit

    if FLAGS.augment == "diffaugment":
        return tfgan_kit.DiffAugment(FLAGS.augment_policy)
    if FLAGS.augment == "ada":
        return tfgan_kit.ADA(FLAGS.augment_policy, speed_kimg=FLAGS.ada_kimg)
    return None


def learning_rate(base: float, updates_per_epoch: int):
    """`base`, or its cosine decay to 0 over the run's updates (--lr_decay): a run that ends
    cooled, not mid-oscillation, so its last samples are among its best."""
    import keras

    if FLAGS.lr_decay == "none":
        return base
    if updates_per_epoch < 1:
        raise SystemExit(f"--lr_decay={FLAGS.lr_decay} needs the batches per epoch, but this dataset's "
                         "number is unknown; use --lr_decay=none.")
    return keras.optimizers.schedules.CosineDecay(base, decay_steps=updates_per_epoch * FLAGS.epochs)


def apply_recipe(name: str) -> None:
    """Sets a recipe's flags, except those the command line gives; flags another recipe set
    go back to their defaults first (a grown run changes recipes with the image size)."""
    for flag in {flag for recipe in RECIPES.values() for flag in recipe} - set(RECIPES.get(name, {})):
        if not FLAGS[flag].present:
            FLAGS[flag].value = FLAGS[flag].default
    for flag, value in RECIPES.get(name, {}).items():
        if not FLAGS[flag].present:
            FLAGS[flag].value = value


def auto_recipe(image_shape) -> str:
    """`color` for square color images SNGAN's networks take (4 * 2^k >= 16 px; `color64` from
    64 px), else `none`."""
    size, channels = image_shape[0], image_shape[-1]
    fits = image_shape[1] == size and size >= 16 and size & (size - 1) == 0
    if channels < 3 or not fits:
        return "none"
    return "color64" if size >= 64 else "color"


def build_gan(image_shape, batches: int, classes: int | None = None, norm: str = "batch"):
    """The compiled GAN the flags describe, for images of `image_shape` and `batches` batches
    an epoch (the cosine decay's length); call it in the strategy's scope."""
    import keras

    import tfgan_kit

    if FLAGS.networks == "resnet":
        generator = tfgan_kit.resnet_generator(image_shape, FLAGS.latent_dim, width=FLAGS.width,
                                               num_classes=classes, min_width=FLAGS.min_width,
                                               output_skips=FLAGS.output_skips,
                                               pixel_shuffle=FLAGS.pixel_shuffle)
        discriminator = tfgan_kit.resnet_discriminator(image_shape, width=FLAGS.d_width or FLAGS.width,
                                                       pack=FLAGS.pack, num_classes=classes,
                                                       min_width=FLAGS.d_min_width or FLAGS.min_width,
                                                       pixel_shuffle=FLAGS.pixel_shuffle)
    else:
        generator = tfgan_kit.dcgan_generator(image_shape, FLAGS.latent_dim, width=FLAGS.width,
                                              norm=norm, num_classes=classes)
        discriminator = tfgan_kit.dcgan_discriminator(
            image_shape, width=FLAGS.d_width or FLAGS.width, norm=FLAGS.d_norm, dropout=FLAGS.d_dropout,
            minibatch=None if FLAGS.minibatch == "none" else FLAGS.minibatch, pack=FLAGS.pack,
            num_classes=classes, conditioning=FLAGS.conditioning)
    gan = tfgan_kit.GAN(generator, discriminator, latent_dim=FLAGS.latent_dim, num_classes=classes,
                        seed=FLAGS.seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate(FLAGS.lr * FLAGS.d_lr_multiplier,
                                                        batches * FLAGS.d_steps),
                                          beta_1=FLAGS.beta1, beta_2=FLAGS.beta2),
        g_optimizer=keras.optimizers.Adam(learning_rate(FLAGS.lr, batches * FLAGS.g_steps),
                                          beta_1=FLAGS.beta1, beta_2=FLAGS.beta2),
        loss=FLAGS.loss,
        r1_gamma=FLAGS.r1_gamma,
        r2_gamma=FLAGS.r2_gamma,
        d_steps=FLAGS.d_steps,
        g_steps=FLAGS.g_steps,
        label_smoothing=FLAGS.label_smoothing,
        steps_per_execution=FLAGS.steps_per_execution,
        generator_ema=FLAGS.ema_decay or None,
        augment=augmentation(),
    )
    return gan


def grow(small, gan) -> tuple[int, int]:
    """Copies the half-size GAN `small`'s layers into the full-size `gan` where they match: G
    from z (its coarse blocks), D from the logit (its blocks but those by the image).
    Returns the (G, D) layers copied."""
    from tfgan_kit.nets import copy_matching_weights

    return (copy_matching_weights(small.generator, gan.generator, "input"),
            copy_matching_weights(small.discriminator, gan.discriminator, "output"))


def count_classes(dataset) -> int:
    """Classes of a dataset of (images, labels) batches: the largest label + 1."""
    import tensorflow as tf

    largest = dataset.reduce(tf.constant(0, tf.int64),
                             lambda m, batch: tf.maximum(m, tf.reduce_max(tf.cast(batch[1], tf.int64))))
    return int(largest) + 1


def label_agreement(gan) -> dict:
    """How often a classifier of the real images reads a generated one as its requested class."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    import tfgan_kit

    images, labels = tfgan_kit.load_arrays(FLAGS.dataset, labels=True, limit=FLAGS.limit,
                                           image_size=FLAGS.image_size)
    images = images.reshape(len(images), -1)
    with threadpool_limits(1):  # Multi-threaded BLAS crawls on a busy machine; this fit is small.
        classifier = LogisticRegression(max_iter=2000).fit(images, labels)
    requested = np.arange(FLAGS.eval_samples or 1000) % gan.num_classes
    fakes = gan.generate(len(requested), seed=FLAGS.seed, labels=requested)
    agreement = float(np.mean(classifier.predict(fakes.reshape(len(fakes), -1)) == requested))
    real_accuracy = float(classifier.score(images, labels))
    print(f"Label agreement: {agreement:.1%} of {len(requested)} generated images are read as the "
          f"requested class (chance {1 / gan.num_classes:.0%}; the classifier scores "
          f"{real_accuracy:.1%} on the real images).")
    return {"label_agreement": agreement, "classifier_real_accuracy": real_accuracy}


def quality(gan, dataset, image_shape) -> dict:
    """Quality numbers against the training images: a bundled digit classifier's features
    (offline) when one fits the images, else InceptionV3's; {} with a line saying why not."""
    import tfgan_kit

    digits = tfgan_kit.metrics.bundled_classifier_name(image_shape)
    if not digits and image_shape[-1] == 4:
        print("No quality score: InceptionV3 reads RGB; score RGBA samples composited over a "
              "background (tfgan_kit.evaluate on images you composite).")
        return {}
    try:  # Inception is slow on a CPU: as many real images as samples.
        return tfgan_kit.evaluate(gan, dataset, metrics=FLAGS.eval_metrics, num_samples=FLAGS.eval_samples,
                                  num_real=max(FLAGS.eval_samples, 10_000) if digits else FLAGS.eval_samples)
    except FileNotFoundError as error:  # Inception weights neither cached nor downloadable.
        print(f"No quality score: {error}")
        return {}


def check_pack(strategy) -> None:
    """Refuses a batch that does not split into whole packs on every replica."""
    per_replica = FLAGS.batch_size // strategy.num_replicas_in_sync
    if per_replica % FLAGS.pack:
        raise SystemExit(f"--pack={FLAGS.pack} needs a batch of whole packs on every replica, but each of "
                         f"the {strategy.num_replicas_in_sync} replicas gets {per_replica} images "
                         f"(--batch_size={FLAGS.batch_size}): use a multiple of {FLAGS.pack}.")


def load_data(strategy, image_size: int | None):
    """The training batches the flags describe at `image_size`, checked for equal replica shares."""
    import tfgan_kit

    dataset = read_data(FLAGS.batch_size, image_size)
    tfgan_kit.distribute.check_dataset(dataset, strategy)  # equal shares for every replica
    return dataset


def read_data(batch_size: int, image_size: int | None = None):
    """The flags' data in batches of `batch_size`, at `image_size` (default: --image_size)
    (tfgan_kit.load_dataset; nothing is decoded until it is iterated)."""
    import tfgan_kit

    return tfgan_kit.load_dataset(
        FLAGS.dataset, batch_size=batch_size, seed=FLAGS.seed, limit=FLAGS.limit,
        labels=FLAGS.labels, image_size=image_size or FLAGS.image_size,
        channels=FLAGS.channels and int(FLAGS.channels),
        background=None if FLAGS.background.lower() == "none" else FLAGS.background,
        skip_bad_files=FLAGS.skip_bad_files, mirror=FLAGS.mirror,
    )


def image_shape_of(dataset) -> tuple:
    """One image's shape in a dataset of batches (of images or (images, labels))."""
    import tensorflow as tf

    return tuple(tf.nest.flatten(dataset.element_spec)[0].shape[1:])


def choose_recipe(image_shape) -> str:
    """Applies the recipe for images of `image_shape` (--recipe=auto: chosen by it) and says so."""
    name = auto_recipe(image_shape) if FLAGS.recipe == "auto" else FLAGS.recipe
    apply_recipe(name)
    chosen = " ".join(f"--{flag}={FLAGS[flag].value}" for flag in RECIPES.get(name, {}))
    print(f"Recipe: {name} (--recipe={FLAGS.recipe}, images {'x'.join(map(str, image_shape))}) "
          f"{chosen}".rstrip())
    return name


class Stage(NamedTuple):
    """One `fit` of train(): the GAN, its data and history, and the callbacks main reports on."""

    gan: object
    dataset: object
    history: object  # keras.callbacks.History
    grids: object
    guard: object
    monitors: list


def train(strategy, image_size: int | None, epochs: int, backup_dir: str, start_from=None,
          initial_epoch: int = 0, keep_backup: bool = False) -> Stage:
    """Loads the data at `image_size`, builds the GAN the flags describe (grown from
    `start_from`, the half-size GAN, when given) and trains it up to epoch `epochs`."""
    import tfgan_kit

    dataset = load_data(strategy, image_size)
    image_shape = image_shape_of(dataset)
    classes = (FLAGS.num_classes or count_classes(dataset)) if FLAGS.labels else None
    batches = int(dataset.cardinality())  # per epoch; negative: unknown or infinite
    # Several replicas: batch norm over the global batch, so they train like one device.
    norm = "sync_batch" if strategy.num_replicas_in_sync > 1 else "batch"
    with strategy.scope():  # Models, optimizers and their slots live on every replica.
        gan = build_gan(image_shape, batches, classes, norm)
    if start_from is not None:
        print("Grown to {} px: copied {} G and {} D layers of the half-size pair".format(
            image_shape[0], *grow(start_from, gan)))
    # A conditional grid: up to 10 classes, 10 samples of each.
    grids = tfgan_kit.SampleGrid(os.path.join(FLAGS.output_dir, "samples"), seed=FLAGS.seed,
                                 num_samples=min(classes, 10) ** 2 if classes else 64,
                                 log_dir=FLAGS.tensorboard_dir)
    monitors = []
    if FLAGS.imbalance_monitor != "off":
        monitors.append(tfgan_kit.ImbalanceMonitor(  # with augmentation, watch for overfitting too
            mode=FLAGS.imbalance_monitor,
            overfit_mode=None if FLAGS.augment == "none" else FLAGS.imbalance_monitor))
    if FLAGS.mode_collapse_monitor != "off":  # real images for comparison: from the dataset
        monitors.append(tfgan_kit.ModeCollapseMonitor(dataset, mode=FLAGS.mode_collapse_monitor))
    if FLAGS.ema_decay:
        monitors.append(tfgan_kit.GeneratorEMA(start_step=FLAGS.ema_start_step))
    guard = tfgan_kit.NaNGuard()
    backup = tfgan_kit.CrashSafeBackup(backup_dir, dataset=dataset, delete_on_finish=not keep_backup)
    callbacks = ([grids] if FLAGS.sample_grids else []) + [guard, *monitors, backup]
    history = gan.fit(dataset, initial_epoch=initial_epoch, epochs=epochs, callbacks=callbacks)
    return Stage(gan, dataset, history, grids, guard, monitors)


def stop_reason(stage: Stage) -> str | None:
    """Why a stage's callbacks stopped training early (NaNs, a monitor), else None."""
    reasons = [getattr(c, "stop_reason", None) for c in [stage.guard, *stage.monitors]]
    return next(filter(None, reasons), None)


def main(argv):
    del argv
    import tfgan_kit

    apply_recipe(FLAGS.recipe)
    # First: a multi-worker strategy must exist before TensorFlow runs any op.
    strategy = tfgan_kit.distribute.strategy_from_name(FLAGS.strategy)
    tfgan_kit.set_seed(FLAGS.seed)  # Seeds everything and makes TF ops deterministic.
    policy = tfgan_kit.set_precision(FLAGS.precision)  # Before any layer is built.
    print(f"Precision: {policy} (--precision={FLAGS.precision})")
    size = FLAGS.image_size
    if FLAGS.recipe == "auto" or FLAGS.grow_epochs:  # The images' shape decides, before batching.
        image_shape = image_shape_of(read_data(batch_size=1))
        recipe, size = choose_recipe(image_shape), image_shape[0]
    epochs, grow_epochs = FLAGS.epochs, FLAGS.grow_epochs  # the full size's (a recipe's)
    if grow_epochs and not (grow_epochs < epochs and image_shape[1] == size and size % 2 == 0):
        raise SystemExit(f"--grow_epochs={grow_epochs} trains square images at half their size and then "
                         f"at full size, --epochs={epochs} in all, but the images are "
                         f"{'x'.join(map(str, image_shape))}: use fewer --grow_epochs than --epochs, "
                         "an even --image_size, or --grow_epochs=0.")
    check_pack(strategy)  # Refuse bad flags and unwritable paths now, not after hours of training.
    tfgan_kit.data.check_writable_dir(FLAGS.output_dir, "--output_dir")
    backup_dir = FLAGS.backup_dir or os.path.join(FLAGS.output_dir, "backup")
    tfgan_kit.data.check_writable_dir(backup_dir, "--backup_dir")
    if FLAGS.export:
        tfgan_kit.data.check_writable_dir(FLAGS.export_dir, "--export_dir")
    start = time.time()
    stages, half_backup_dir = [], os.path.join(backup_dir, "half_size")
    if grow_epochs:  # The half-size backup stays until the full size's takes over at its end.
        choose_recipe((size // 2, size // 2, image_shape[-1]))
        print(f"Growing: epochs 1-{grow_epochs} at {size // 2} px, {grow_epochs + 1}-{epochs} at {size} px")
        stages.append(train(strategy, size // 2, grow_epochs, half_backup_dir, keep_backup=True))
        if stop_reason(stages[0]):
            raise SystemExit(f"Stopped at half size, not grown: {stop_reason(stages[0])}")
        apply_recipe(recipe)
    stages.append(train(strategy, size, epochs, backup_dir, stages[0].gan if stages else None, grow_epochs))
    seconds = time.time() - start
    if grow_epochs and not stop_reason(stages[-1]):
        tfgan_kit.CrashSafeBackup(half_backup_dir).delete()
        if os.path.isdir(backup_dir) and not os.listdir(backup_dir):
            os.rmdir(backup_dir)
    last = stages[-1]
    gan, dataset = last.gan, last.dataset
    history = {k: sum((stage.history.history.get(k, []) for stage in stages), []) for k in last.history.history}

    tfgan_kit.plot_history(history, os.path.join(FLAGS.output_dir, "losses.png"))
    gan.save(os.path.join(FLAGS.output_dir, "gan.keras"))
    final = {k: float(v[-1]) for k, v in history.items()}
    final["train_seconds"] = round(seconds, 1)
    if FLAGS.eval_samples:
        final.update(quality(gan, dataset, image_shape_of(dataset)))
    if FLAGS.labels and tfgan_kit.data.sources.is_in_memory(FLAGS.dataset):
        final.update(label_agreement(gan))
    with open(os.path.join(FLAGS.output_dir, "metrics.json"), "w") as f:
        json.dump(final, f, indent=2)
    print(f"Trained {sum(len(stage.history.epoch) for stage in stages)} epochs in {seconds:.0f} s. Final: "
          + ", ".join(f"{k}={v:.3f}" for k, v in final.items()))
    print(f"Samples: {last.grids.paths[-1] if last.grids.paths else 'off'}  "
          f"Curves: {FLAGS.output_dir}/losses.png  Checkpoint: {FLAGS.output_dir}/gan.keras")
    for monitor in (m for stage in stages for m in stage.monitors):
        for event in getattr(monitor, "events", []):
            print(f"{type(monitor).__name__} event: {event}")
        if getattr(monitor, "stop_reason", None):
            print(f"Stopped early: {monitor.stop_reason}")
    if FLAGS.export:
        print(f"SavedModel for TF Serving: {gan.export_generator(FLAGS.export_dir, FLAGS.model_name)}")
    if last.guard.stop_reason:  # Outputs hold the last finite state; the backup is kept.
        raise SystemExit(last.guard.stop_reason)


if __name__ == "__main__":
    app.run(main)
