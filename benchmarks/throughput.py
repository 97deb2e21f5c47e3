"""Images per second: a hand-written two-tape loop vs `GAN.fit` on the same networks and data.

Each configuration runs in its own subprocess (clean dtype policy, its own peak
RSS), timed per epoch after a warm-up epoch (median of --repeats). Configurations
run interleaved for --rounds rounds and each keeps its best round: on a shared
(virtual) machine a neighbour's burst slows whichever process is running, and
interleaving spreads that over all of them. Ratios are against the float32
hand-written reference measured in the same run (at the same image size).

Without --image_size: the TF DCGAN tutorial's networks and Adam(1e-4) on the first
8,000 MNIST test images, batch 256.

With --image_size=S (or --sizes=S1,S2,...): `dcgan_generator` / `dcgan_discriminator`
of --width for S x S x --channels images, Adam(2e-4, beta_1=0.5) (`GAN`'s default),
batch 64, on --limit JPEG crops of scikit-learn's two sample photos (made once, in a
temporary folder or --photo_dir) read by `load_dataset("folder:...", image_size=S)`:
center crop, antialiased resize, decoded images cached in memory (cache="auto"). The
input pipeline is also timed alone, without training: streaming (cache=False, decode
and resize every pass) and cached (after its first pass). Its images/s over the float32
loop's says whether the data keeps training fed (target: >= 2x).

The ceiling: each round also times a large matrix multiply through TensorFlow in float32
and in bfloat16 (--gemm_size square, best of 10) -- what this CPU's cores can do at
best -- and every training configuration is given as training FLOP/s (the networks'
FLOPs per image, counted from their layers, times images/s) and its share of each.

    python benchmarks/throughput.py                 # ~12 min on 2 cores
    python benchmarks/throughput.py --repeats=5 --limit=8000
    python benchmarks/throughput.py --sizes=32,64,128 --channels=3  # the README's table
    python benchmarks/throughput.py --image_size=64 --limit=64 --batch_size=16 \\
        --repeats=1 --rounds=1                       # smoke test, ~1 min

Not timed at full size: the --sizes run is estimated at 25-35 min on 2 cores (about
two thirds of it at 128 px), from 32- and 64-image smoke runs.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags
from record import write_json

flags.DEFINE_integer("batch_size", None, "Global batch size. Defaults to 256 (the tutorial's) on "
                     "MNIST, 64 with --image_size.", lower_bound=1)
flags.DEFINE_integer("limit", None, "Training images: the first N MNIST test images (default "
                     "8000), or the photo crops to make (default 512) with --image_size.",
                     lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Timed epochs after the warm-up epoch.")
flags.DEFINE_integer("rounds", 2, "Interleaved runs of every configuration; the best counts.",
                     lower_bound=1)
flags.DEFINE_string("config", None, "Internal: run one configuration and print JSON.")
flags.DEFINE_list("configs", ["reference", "fit", "fit_auto", "reference_bf16", "fit_bf16"],
                  "Configurations to compare.")
flags.DEFINE_integer("image_size", None, "Train the kit's DCGAN on S x S photo crops instead of "
                     "the tutorial's networks on MNIST.")
flags.DEFINE_list("sizes", None, "Image sizes to run in turn (e.g. 32,64,128), each with its "
                  "own reference.")
flags.DEFINE_integer("channels", None, "1 (gray) or 3 (RGB), with --image_size. Defaults to 3.")
flags.DEFINE_integer("width", 32, "`width` of dcgan_generator / dcgan_discriminator.", lower_bound=1)
flags.DEFINE_string("photo_dir", None, "Folder of photos for --image_size: used if it holds "
                    "files, else the crops are made there. Defaults to a temporary folder.")
flags.DEFINE_bool("pipeline", True, "With --image_size, also time the input pipeline alone.")
flags.DEFINE_integer("gemm_size", 4096, "Side of the square matrices of the ceiling's matmul "
                     "(0: no ceiling).", lower_bound=0)
flags.DEFINE_string("json", "runs/throughput.json", "Where every run's numbers are written.")
FLAGS = flags.FLAGS

POLICIES = {"reference": "float32", "fit": "float32", "reference_bf16": "mixed_bfloat16",
            "fit_bf16": "mixed_bfloat16"}  # The rest: set_precision("auto").
PIPELINES = {"pipeline": False, "pipeline_cached": "auto"}  # name: load_dataset's cache=.
CEILINGS = {"gemm_float32": "float32", "gemm_bfloat16": "bfloat16"}  # name: matmul dtype.
LABELS = {
    "reference": "hand-written two-tape loop",
    "fit": "tfgan_kit GAN.fit",
    "fit_auto": "tfgan_kit GAN.fit, auto precision",
    "reference_bf16": "hand-written loop, mixed_bfloat16",
    "fit_bf16": "tfgan_kit GAN.fit, mixed_bfloat16",
    "pipeline": "input pipeline alone, cache=False (decode + resize every pass)",
    "pipeline_cached": 'input pipeline alone, cache="auto" (after its first pass)',
    "gemm_float32": "float32 matmul (the ceiling)",
    "gemm_bfloat16": "bfloat16 matmul (the ceiling)",
}
PHOTO_LIMIT, PHOTO_BATCH = 512, 64


def resolve_defaults() -> None:
    images = FLAGS.image_size is not None or FLAGS.sizes is not None
    if FLAGS.image_size is not None and FLAGS.sizes is not None:
        raise app.UsageError("throughput.py received --image_size and --sizes; pass one.")
    if not images and FLAGS.channels is not None:
        raise app.UsageError(f"throughput.py received --channels={FLAGS.channels} without "
                             "--image_size or --sizes; MNIST is gray.")
    if FLAGS.channels not in (None, 1, 3):
        raise app.UsageError(f"throughput.py received --channels={FLAGS.channels}; expected 1 or 3.")
    if FLAGS.sizes is not None and not all(s.isdigit() for s in FLAGS.sizes):
        raise app.UsageError(f"throughput.py received --sizes={','.join(FLAGS.sizes)}; expected "
                             "image sizes such as 32,64,128.")
    FLAGS.channels = FLAGS.channels or (3 if images else None)
    FLAGS.batch_size = FLAGS.batch_size or (PHOTO_BATCH if images else 256)
    FLAGS.limit = FLAGS.limit or (PHOTO_LIMIT if images else 8000)


# ------------------------------------------------------------ one configuration, in its process


def photo_dataset(cache):
    import tfgan_kit

    return tfgan_kit.load_dataset(
        f"folder:{FLAGS.photo_dir}", FLAGS.batch_size, limit=FLAGS.limit, seed=0,
        image_size=FLAGS.image_size, channels=FLAGS.channels, cache=cache,
    )


def forward_flops(model) -> int:
    """FLOPs of one image's forward pass: 2 x kernel size x positions the kernel visits.

    Counts Dense, Conv2D and Conv2DTranspose layers (also inside nested models and
    wrappers such as SpectralNormalization) from the shapes they were built with; the
    element-wise layers are left out (a few %).
    """
    import numpy as np

    total = 0
    for layer in model._flatten_layers(include_self=False):
        kernel = getattr(layer, "kernel", None)
        shapes = getattr(layer, "_build_shapes_dict", None)
        if kernel is None or not shapes:
            continue
        shape = tuple(next(iter(shapes.values())))
        if "Transpose" not in type(layer).__name__:  # Conv2D visits its outputs, the transpose its inputs
            shape = tuple(layer.compute_output_shape(shape))
        total += 2 * int(np.prod(shape[1:-1], dtype=np.int64)) * int(np.prod(kernel.shape))
    return total


def training_flops_per_image(generator, discriminator) -> int:
    """One step's FLOPs per image: G once and D on real and fake, forward and backward.

    Backward costs twice the forward (gradients of inputs and of weights), so a network
    trained on a batch costs 3x its forward; the generator's tape also runs the gradient
    of D's input on the fake batch (one more D forward's worth).
    """
    g, d = forward_flops(generator), forward_flops(discriminator)
    return 3 * (g + 2 * d) + d


def run_gemm(name: str) -> dict:
    import tensorflow as tf

    n = FLAGS.gemm_size
    a = tf.cast(tf.random.normal((n, n), seed=0), CEILINGS[name])
    b = tf.cast(tf.random.normal((n, n), seed=1), CEILINGS[name])
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.linalg.matmul(x, y)[0, :1], tf.float32)))
    float(matmul(a, b))  # Warm-up: tracing, oneDNN's kernel choice.
    seconds = []
    for _ in range(10):
        start = time.perf_counter()
        float(matmul(a, b))
        seconds.append(time.perf_counter() - start)
    return {"config": name, "policy": CEILINGS[name], "gflops": 2 * n**3 / min(seconds) / 1e9}


def run_config(name: str) -> dict:
    import keras
    import numpy as np

    import common
    import tfgan_kit

    keras.utils.set_random_seed(0)
    if os.environ.get("TFGAN_BENCH_NO_REMAPPER"):  # bf16_speeds.py's "no_remapper" setting
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"remapping": False})
    policy = tfgan_kit.set_precision(POLICIES.get(name) or "auto")
    if FLAGS.image_size is None:
        dataset = tfgan_kit.load_dataset(common.MNIST, FLAGS.batch_size, limit=FLAGS.limit, seed=0)
        latent_dim = common.LATENT_DIM
        generator, discriminator = common.tutorial_generator(), common.tutorial_discriminator()
        g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    else:
        dataset = photo_dataset(cache="auto")
        latent_dim, shape = 100, (FLAGS.image_size, FLAGS.image_size, FLAGS.channels)
        generator = tfgan_kit.dcgan_generator(shape, latent_dim=latent_dim, width=FLAGS.width)
        discriminator = tfgan_kit.dcgan_discriminator(shape, width=FLAGS.width)
        g_opt, d_opt = (keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(2))
    weights = generator.get_weights() + discriminator.get_weights()
    checksum = float(sum(np.abs(w).astype(np.float64).sum() for w in weights))
    if name.startswith("reference"):
        step = common.tutorial_train_step(generator, discriminator, g_opt, d_opt,
                                          FLAGS.batch_size, latent_dim)
        seconds = []
        for _ in range(FLAGS.repeats + 1):
            start = time.perf_counter()
            for images in dataset:
                losses = step(images)
            float(losses[0])  # Wait for the last step.
            seconds.append(time.perf_counter() - start)
    else:
        gan = tfgan_kit.GAN(generator, discriminator, latent_dim=latent_dim, seed=0)
        gan.compile(d_optimizer=d_opt, g_optimizer=g_opt)
        timer = common.EpochTimer()
        gan.fit(dataset, epochs=FLAGS.repeats + 1, callbacks=[timer], verbose=0)
        seconds = timer.seconds
    flops = training_flops_per_image(generator, discriminator)
    return result(name, policy, int(dataset.cardinality()), seconds) | {
        "init_checksum": checksum, "train_flops_per_image": flops}


def run_pipeline(name: str) -> dict:
    dataset = photo_dataset(cache=PIPELINES[name])
    seconds = []
    for _ in range(FLAGS.repeats + 1):
        start = time.perf_counter()
        for _ in dataset:
            pass
        seconds.append(time.perf_counter() - start)
    return result(name, "n/a", int(dataset.cardinality()), seconds)


def result(name: str, policy: str, steps: int, seconds) -> dict:
    import keras
    import tensorflow as tf

    import common

    per_epoch = common.median(seconds[1:])
    return {
        "config": name,
        "policy": policy,
        "images_per_s": steps * FLAGS.batch_size / per_epoch,
        "epoch_s": per_epoch,
        "images": steps * FLAGS.batch_size,
        "peak_rss_mib": common.peak_rss_mib(),
        "tf": tf.__version__,
        "keras": keras.__version__,
    }


# ------------------------------------------------------------------------- the driver


def make_photos(directory: str, count: int) -> None:
    """`count` JPEG crops of scikit-learn's two 427x640 photos, sides 0.5-1x the photo height."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    os.makedirs(directory, exist_ok=True)
    for i in range(count):
        photo = photos[i % len(photos)]
        height, width = photo.shape[:2]
        h, w = rng.integers(height // 2, height + 1, size=2)
        top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
        crop = Image.fromarray(photo[top : top + h, left : left + w])
        crop.save(os.path.join(directory, f"{i:05d}.jpg"), quality=90)


@contextlib.contextmanager
def photo_folder(needed: bool):
    """The folder the image-size configurations read: --photo_dir, or crops made for this run."""
    directory = FLAGS.photo_dir
    if not needed or (directory and os.path.isdir(directory) and os.listdir(directory)):
        yield directory
        return
    directory = directory or tempfile.mkdtemp(prefix="throughput_photos_")
    make_photos(directory, FLAGS.limit)
    print(f"Made {FLAGS.limit} JPEG crops of scikit-learn's sample photos in {directory}.")
    try:
        yield directory
    finally:
        if not FLAGS.photo_dir:
            shutil.rmtree(directory, ignore_errors=True)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def run_subprocess(name: str, size, photo_dir) -> dict:
    args = [sys.executable, os.path.abspath(__file__), f"--config={name}", f"--gemm_size={FLAGS.gemm_size}",
            f"--batch_size={FLAGS.batch_size}", f"--limit={FLAGS.limit}", f"--repeats={FLAGS.repeats}"]
    if size is not None:
        args += [f"--image_size={size}", f"--channels={FLAGS.channels}", f"--width={FLAGS.width}",
                 f"--photo_dir={photo_dir}"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode or "RESULT " not in done.stdout:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"Configuration {name!r} (image size {size}) failed with exit code "
                           f"{done.returncode}:\n{tail}")
    return json.loads(done.stdout.split("RESULT ", 1)[1])


def measure(size, photo_dir) -> dict:
    """{name: [one result per round]} for one image size (None: MNIST)."""
    names = list(FLAGS.configs) + (list(PIPELINES) if size is not None and FLAGS.pipeline else [])
    names += list(CEILINGS) if FLAGS.gemm_size else []
    rounds = {name: [] for name in names}
    for round_ in range(FLAGS.rounds):
        for name in names:
            rounds[name].append(run_subprocess(name, size, photo_dir))
            rate = rounds[name][-1]
            rate = f"{rate['gflops']:.0f} GFLOP/s" if "gflops" in rate else f"{rate['images_per_s']:.0f} images/s"
            print(f"  {f'{size} px, ' if size else ''}round {round_ + 1}, {name}: {rate}", flush=True)
    return rounds


def ceiling_share(r: dict, ceilings: dict) -> str:
    """Training GFLOP/s and its share of the float32 and bfloat16 matmul rates."""
    if "train_flops_per_image" not in r:
        return "n/a"
    gflops = r["train_flops_per_image"] * r["images_per_s"] / 1e9
    shares = [f"{gflops / ceilings[n]['gflops']:.0%} of {CEILINGS[n]}" for n in CEILINGS if n in ceilings]
    return f"{gflops:.1f}" + (f" ({', '.join(shares)})" if shares else "")


def print_ceilings(ceilings: dict, results: dict) -> None:
    if not ceilings:
        return
    flops = next((r["train_flops_per_image"] for r in results.values() if "train_flops_per_image" in r), 0)
    rates = ", ".join(f"{CEILINGS[n]} {r['gflops']:.0f} GFLOP/s" for n, r in ceilings.items())
    print(f"\nCeiling: {rates} ({FLAGS.gemm_size}x{FLAGS.gemm_size} matmul through TensorFlow, best "
          f"of 10). Training counts {flops / 1e6:.1f} MFLOP per image (3x the forward of G and of D on "
          "real and fake, + D's input gradient for G).")


def print_mnist_table(results: dict, reference, ceilings: dict) -> None:
    print(f"\nBatch {FLAGS.batch_size}, {FLAGS.limit} MNIST images, median of {FLAGS.repeats} epochs "
          f"after warm-up, best of {FLAGS.rounds} interleaved rounds "
          f"(TF {results[FLAGS.configs[0]]['tf']}).")
    print(f"{'configuration':<34}{'policy':<16}{'images/s':>10}{'vs float32 ref':>16}{'peak RSS':>12}"
          "  training GFLOP/s (share of the matmul ceiling)")
    for name, r in results.items():
        ratio = f"{r['images_per_s'] / reference:.2f}x" if reference else "n/a"
        print(f"{LABELS.get(name, name):<34}{r['policy']:<16}{r['images_per_s']:>10.0f}"
              f"{ratio:>16}{r['peak_rss_mib']:>9.0f} MiB  {ceiling_share(r, ceilings)}")
    print_ceilings(ceilings, results)


def print_size_table(size: int, results: dict, reference, ceilings: dict) -> None:
    first = next(iter(results.values()))
    print(f"\n**{size}x{size}x{FLAGS.channels}**: {first['images']} JPEG photo crops, batch "
          f"{FLAGS.batch_size}, width {FLAGS.width}; median of {FLAGS.repeats} epochs after a "
          f"warm-up, best of {FLAGS.rounds} interleaved rounds.\n")
    print("| configuration | images/s | x float32 loop | peak RSS MiB | training GFLOP/s (share of the "
          "matmul ceiling) |\n| --- | ---: | ---: | ---: | --- |")
    for name, r in results.items():
        label = LABELS.get(name, name) if name in PIPELINES else (
            ("hand-written two-tape loop" if name.startswith("reference") else "GAN.fit")
            + (", auto = " if name == "fit_auto" else ", ") + r["policy"])
        ratio = f"{r['images_per_s'] / reference:.2f}x" if reference else "n/a"
        print(f"| {label} | {r['images_per_s']:.0f} | {ratio} | {r['peak_rss_mib']:.0f} | "
              f"{ceiling_share(r, ceilings)} |")
    ratios = [f"{results[name]['images_per_s'] / reference:.2f}x with cache={cache!r}"
              for name, cache in PIPELINES.items() if name in results and reference]
    if ratios:
        print(f"\npipeline / training: {', '.join(ratios)} (target >= 2x; the float32 loop "
              f"trains {reference:.0f} images/s)")
    print_ceilings(ceilings, results)


def print_table(size, results: dict) -> None:
    if len({r["init_checksum"] for r in results.values() if "init_checksum" in r}) > 1:
        print("WARNING: the configurations started from different weights.")
    ceilings = {n: results.pop(n) for n in CEILINGS if n in results}
    reference = results.get("reference", {}).get("images_per_s")
    if size is None:
        print_mnist_table(results, reference, ceilings)
    else:
        print_size_table(size, results, reference, ceilings)


def main(argv):
    del argv
    resolve_defaults()
    if FLAGS.config:
        run = (run_pipeline if FLAGS.config in PIPELINES else run_gemm if FLAGS.config in CEILINGS
               else run_config)
        print("RESULT " + json.dumps(run(FLAGS.config)))
        return
    sizes = [int(s) for s in FLAGS.sizes] if FLAGS.sizes else [FLAGS.image_size]  # None: MNIST.
    report = {"machine": machine(), "flags": {k: getattr(FLAGS, k) for k in (
        "batch_size", "limit", "repeats", "rounds", "configs", "channels", "width")}, "sizes": {}}
    with photo_folder(needed=sizes != [None]) as photo_dir:
        for size in sizes:
            rounds = measure(size, photo_dir)
            best = {name: max(runs, key=lambda r: r["gflops"] if "gflops" in r else r["images_per_s"])
                    for name, runs in rounds.items()}
            report["sizes"][str(size or "mnist")] = {"best": best, "rounds": rounds}
            print_table(size, dict(best))
            if FLAGS.json:
                write_json(FLAGS.json, report)
    versions = next(iter(best.values()))
    print(f"\nMachine: {report['machine']}; TensorFlow {versions['tf']}, Keras {versions['keras']}."
          + (f" Results in {FLAGS.json}." if FLAGS.json else ""))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    app.run(main)
