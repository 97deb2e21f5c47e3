"""Shared fixtures: tiny networks and data so every test runs in seconds on a CPU."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.datasets import load_sample_images  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402

import tfgan_kit  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The real MNIST test set (IDX files) a few data tests read; elsewhere than beside the
# checkout, point TFGAN_KIT_MNIST at it.
MNIST_DIR = os.environ.get("TFGAN_KIT_MNIST", os.path.join(REPO, "..", "shared", "data", "mnist"))
# Tests that read those files carry this mark: without them (a fresh clone) they skip and say how
# to provide them, so `python -m pytest -q` passes with nothing beside the checkout.
needs_mnist = pytest.mark.skipif(
    not os.path.isdir(MNIST_DIR),
    reason=f"needs the MNIST test set's IDX files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), "
           f"not found at {os.path.normpath(MNIST_DIR)}: set TFGAN_KIT_MNIST to the folder that holds them",
)


def pytest_report_header(config):
    """Says up front where the MNIST tests will look, and whether it is there."""
    found = "found" if os.path.isdir(MNIST_DIR) else "MISSING: set TFGAN_KIT_MNIST to the IDX folder"
    return f"MNIST IDX files: {os.path.normpath(MNIST_DIR)} ({found})"


@pytest.fixture(autouse=True)
def _seed_and_clean_session():
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")
    # set_seed turns op determinism on for the whole process; other tests expect it off.
    tf_config.disable_op_determinism()


def digits(seed=0, limit=None, batch_size=64):
    """The bundled digits as training batches."""
    return tfgan_kit.load_dataset("digits", batch_size=batch_size, seed=seed, limit=limit)


def values(variables):
    """The variables' current values, copied."""
    return [np.array(v.numpy()) for v in variables]


def same(a, b) -> bool:
    """Whether two lists of arrays are bitwise equal."""
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def assert_same(a, b):
    """Two lists of arrays are bitwise equal."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def tiny_gan(latent_dim=16, width=8, image_shape=(8, 8, 1), num_classes=None, seed=0, **compile_kwargs):
    """A compiled DCGAN small enough to train for a few steps in well under a second."""
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator(image_shape, latent_dim, width=width, num_classes=num_classes),
        tfgan_kit.dcgan_discriminator(image_shape, width=width, num_classes=num_classes),
        latent_dim=latent_dim,
        num_classes=num_classes,
        seed=seed,
    )
    gan.compile(**compile_kwargs)
    return gan


def accuracy_on_a_collapsed_batch(d, batch=16, steps=400):
    """D's accuracy after `steps` Adam steps against fakes that repeat one real 2-D point.

    Each fake is a plausible point on its own, so a D that judges one sample at a
    time stays near chance (0.5); one that sees several samples at once need not.
    """
    rng = np.random.default_rng(0)

    def batches():
        real = rng.normal(size=(batch, 2)).astype(np.float32)
        fake = np.repeat(rng.normal(size=(1, 2)).astype(np.float32), batch, axis=0)
        return tf.constant(real), tf.constant(fake)

    opt = keras.optimizers.Adam(1e-2)

    @tf.function
    def step(real, fake):
        with tf.GradientTape() as tape:
            loss = tfgan_kit.losses.minimax_loss_dis(d(real), d(fake))
        opt.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))

    for _ in range(steps):
        step(*batches())
    scores = []
    for _ in range(20):
        real, fake = batches()
        scores.append((np.mean(d(real) > 0) + np.mean(d(fake) < 0)) / 2)
    return float(np.mean(scores))


PHOTOS = load_sample_images().images  # scikit-learn's two bundled 427x640 RGB photos


def crop_photo(i, h, w, seed=0):
    rng = np.random.default_rng(seed)
    photo = PHOTOS[i % 2]
    top, left = rng.integers(0, photo.shape[0] - h), rng.integers(0, photo.shape[1] - w)
    return photo[top : top + h, left : left + w]


def make_photo_folder(root, count=12, sizes=((90, 120), (120, 90), (64, 64), (150, 100))):
    """Crops of the bundled photos, saved as JPEG and PNG in gray, RGB, RGBA and palette modes."""
    os.makedirs(root, exist_ok=True)
    modes = ("RGB", "L", "RGBA", "P")
    for i in range(count):
        h, w = sizes[i % len(sizes)]
        image = Image.fromarray(crop_photo(i, h, w, seed=i))
        mode = modes[i % len(modes)]
        image = image.convert(mode)
        ext = "jpg" if mode in ("RGB", "L") and i % 3 == 0 else "png"
        image.save(os.path.join(root, f"photo_{i:03d}.{ext}"))
    return root
