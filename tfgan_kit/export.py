"""Export a generator as a self-contained, versioned SavedModel that TF Serving loads as is."""

import contextlib
import functools
import os
import re
import shutil
import tempfile
import types
from typing import Optional, Sequence

import keras
import tensorflow as tf

from tfgan_kit._internal import networks, sampling

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
STAGING_PREFIX = ".tmp-"  # Not an integer: TF Serving never loads a staging directory.


def export_generator(
    gan_or_generator: keras.Model,
    export_root: str = "saved_models",
    name: str = "generator",
    version: Optional[int] = None,
    overwrite: bool = False,
    use_ema: bool = True,
    latent_dim: Optional[int] = None,
    num_classes: Optional[int] = None,
    latent_distribution: Optional[str] = None,
    value_range: Sequence[float] = (-1.0, 1.0),
    max_samples: int = 1024,
) -> str:
    """Writes the generator to `export_root/name/version/` as a SavedModel for TF Serving.

    The SavedModel holds only TensorFlow graphs and the weights: a server needs
    neither `tfgan_kit` nor Keras. Its signatures (images are float32 in [0, 1],
    `[batch, H, W, C]`):

    - `serving_default`: `z` float32 `[None, latent_dim]` (and `label` int32
      `[None]` for a conditional model) -> `images`.
    - `sample`: `num_samples` int32 scalar, `seed` int32 scalar -> `images`,
      `images_uint8` (uint8 in [0, 255]) and, for a conditional model, `labels`
      (classes drawn uniformly). The noise comes from the GAN's prior with the
      stateless seed `[seed, 0]`, the one `GAN.generate(n, seed=seed)` uses, so
      `sample(n, s)` equals `generate(n, seed=s)` mapped to [0, 1].
    - `sample_labels` (conditional models only): `label` int32 `[None]`, `seed`
      int32 scalar -> `images`, `images_uint8`: one image per requested class.

    The generator runs with `training=False` (BatchNorm uses its moving
    statistics) and, when the GAN was compiled with `generator_ema`, with the
    averaged weights. The version is written into a hidden staging directory
    next to the versions and renamed into place, so a crash or a full disk never
    leaves a half-written version where a server watches, and a failed export
    leaves earlier versions untouched.

    Args:
        gan_or_generator: a `tfgan_kit.GAN` (latent size, prior, classes and EMA
            are read from it) or a built generator `keras.Model`.
        export_root: the TF Serving model base path's parent. Defaults to
            `"saved_models"`.
        name: the model name (TF Serving's `MODEL_NAME`): letters, digits, `.`,
            `_`, `-`. Defaults to `"generator"`.
        version: a positive int. Defaults to `None`: one more than the highest
            existing version (1 for the first).
        overwrite: replace an existing `version`. Defaults to `False` (refuse).
        use_ema: export the EMA weights when the GAN keeps them. Defaults to `True`.
        latent_dim: for a bare generator without a functional input. Defaults to
            `None` (read from the generator's input).
        num_classes: for a bare conditional generator (needed by `sample`).
            Defaults to `None`.
        latent_distribution: for a bare generator, `"normal"` or `"uniform"`.
            Defaults to `None` (`"normal"`).
        value_range: the generator's output range, mapped linearly to [0, 1].
            Defaults to `(-1.0, 1.0)` (tanh).
        max_samples: the largest `num_samples` (or label count) the sampling
            signatures accept, so one request cannot exhaust the server's
            memory. Defaults to 1024.

    Returns:
        The path of the written version directory.

    Examples:

    ```python
    path = tfgan_kit.export_generator(gan, "saved_models", name="digits")
    served = tf.saved_model.load(path)
    images = served.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(0))
    ```
    """
    spec = _describe(gan_or_generator, latent_dim, num_classes, latent_distribution)
    name = _check_args(name, version, value_range, max_samples)
    model_dir = _prepare_dir(export_root, name)
    if version is None:
        version = max(existing_versions(model_dir), default=0) + 1
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final) and not overwrite:
        raise FileExistsError(
            f"export_generator: version {version} of model {name!r} already exists at "
            f"{final!r}; pass overwrite=True to replace it, or another version."
        )
    gan = gan_or_generator if _is_gan(gan_or_generator) else None
    swap = gan.ema_weights() if gan is not None and use_ema else contextlib.nullcontext()
    try:
        staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version}-", dir=model_dir)
    except OSError as e:
        raise type(e)(f"export_generator cannot write to {model_dir!r}: {e}") from e
    try:
        with swap:
            archive = _build_archive(spec, value_range, max_samples)
            _write_archive(archive, os.path.join(staging, "new"))
        old = os.path.join(staging, "old")
        if os.path.exists(final):  # overwrite=True: keep the old one until the new is in.
            os.rename(final, old)
        try:
            os.rename(os.path.join(staging, "new"), final)
        except OSError:
            if os.path.exists(old):
                os.rename(old, final)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def existing_versions(model_dir: str) -> list:
    """The integer version directories under `model_dir` (the ones TF Serving loads), sorted."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(entry) for entry in os.listdir(model_dir)
        if entry.isdigit() and os.path.isdir(os.path.join(model_dir, entry))
    )


def _write_archive(archive, path: str) -> None:
    archive.write_out(path, verbose=False)


def _build_archive(spec, value_range, max_samples: int):
    """A `keras.export.ExportArchive` with the signatures described in `export_generator`."""
    generator, num_classes = spec.generator, spec.num_classes
    low, high = (float(v) for v in value_range)

    def to_unit(x):
        return tf.clip_by_value((tf.cast(x, tf.float32) - low) / (high - low), 0.0, 1.0)

    def run(z, labels):
        if labels is None:
            return to_unit(generator(z, training=False))
        checks = [
            tf.debugging.assert_equal(tf.shape(labels)[0], tf.shape(z)[0],
                                      message="label and z must have the same batch size"),
            tf.debugging.assert_non_negative(labels, message="label must be >= 0"),
            tf.debugging.assert_less(labels, num_classes,
                                     message=f"label must be < num_classes={num_classes}"),
        ]
        with tf.control_dependencies(checks):  # Before the generator runs, on any device.
            labels = tf.identity(labels)
        return to_unit(generator([z, labels], training=False))

    def count(n):
        checks = [
            tf.debugging.assert_non_negative(n, message="num_samples must be >= 0"),
            tf.debugging.assert_less_equal(n, max_samples,
                                           message=f"num_samples must be <= {max_samples} (the max_samples "
                                                   "argument of export_generator)"),
        ]
        with tf.control_dependencies(checks):  # Before any memory is allocated.
            return tf.identity(n)

    def with_uint8(images):
        return {"images": images, "images_uint8": tf.cast(tf.round(images * 255.0), tf.uint8)}

    z_spec = tf.TensorSpec([None, spec.latent_dim], tf.float32, name="z")
    label_spec = tf.TensorSpec([None], tf.int32, name="label")
    scalars = [tf.TensorSpec([], tf.int32, name="num_samples"),
               tf.TensorSpec([], tf.int32, name="seed")]
    archive = keras.export.ExportArchive()
    archive.track(generator)
    if num_classes is None:
        def serve(z):
            return {"images": run(z, None)}

        def sample(num_samples, seed):
            return with_uint8(run(spec.sample_latent(count(num_samples), sampling.generation_seed(seed)), None))

        archive.add_endpoint("serving_default", serve, input_signature=[z_spec])
        archive.add_endpoint("sample", sample, input_signature=scalars)
        return archive

    def serve(z, label):
        return {"images": run(z, label)}

    def sample(num_samples, seed):
        seed, n = sampling.generation_seed(seed), count(num_samples)
        labels = sampling.sample_labels(num_classes, n, seed)  # As `GAN` draws them.
        return {**with_uint8(run(spec.sample_latent(n, seed), labels)), "labels": labels}

    def sample_labels(label, seed):
        n = count(tf.shape(label)[0])
        return with_uint8(run(spec.sample_latent(n, sampling.generation_seed(seed)), label))

    archive.add_endpoint("serving_default", serve, input_signature=[z_spec, label_spec])
    archive.add_endpoint("sample", sample, input_signature=scalars)
    archive.add_endpoint("sample_labels", sample_labels, input_signature=[label_spec, scalars[1]])
    return archive


def _is_gan(model) -> bool:
    """A `tfgan_kit.GAN` (known by what export reads, so this module need not import gan)."""
    return isinstance(model, keras.Model) and all(
        hasattr(model, key) for key in ("generator", "latent_dim", "latent_distribution", "ema_weights")
    )


def _describe(model, latent_dim, num_classes, latent_distribution) -> types.SimpleNamespace:
    """What the signatures need: generator, latent size, prior, classes, image shape."""
    if _is_gan(model):
        given = {"latent_dim": latent_dim, "num_classes": num_classes,
                 "latent_distribution": latent_distribution}
        for key, value in given.items():
            if value is not None and value != getattr(model, key):
                raise ValueError(
                    f"export_generator received {key}={value!r} with a GAN whose {key} is "
                    f"{getattr(model, key)!r}; with a GAN, leave {key} unset."
                )
        spec = types.SimpleNamespace(
            generator=model.generator, latent_dim=model.latent_dim,
            num_classes=model.num_classes, latent_distribution=model.latent_distribution,
        )
    elif isinstance(model, keras.Model):
        spec = _describe_generator(model, latent_dim, num_classes, latent_distribution)
    else:
        raise TypeError(
            f"export_generator received {type(model).__name__} {model!r}; expected a "
            "tfgan_kit.GAN or a generator keras.Model."
        )
    generator = spec.generator
    if not generator.built or not generator.weights:
        raise ValueError(
            f"export_generator received the generator {generator.name!r}, which is not built "
            "(it has no weights yet); build it first, e.g. give it a keras.Input or call it "
            "on a batch of noise."
        )
    out_shape = networks.generator_output_shape(
        generator, spec.latent_dim, spec.num_classes is not None, "export_generator"
    )
    if len(out_shape) != 4:
        raise ValueError(
            f"export_generator: the generator {generator.name!r} outputs shape {out_shape}; "
            "expected images (batch, height, width, channels)."
        )
    spec.image_shape = tuple(out_shape[1:])
    spec.sample_latent = functools.partial(  # The GAN's exact prior.
        sampling.sample_latent, spec.latent_distribution, spec.latent_dim)
    return spec


def _describe_generator(generator, latent_dim, num_classes, latent_distribution):
    inputs = getattr(generator, "inputs", None) or []
    if len(inputs) > 2:
        raise ValueError(
            f"export_generator: the generator {generator.name!r} has {len(inputs)} inputs; "
            "expected z, or [z, labels]."
        )
    if latent_dim is None:
        if not inputs or inputs[0].shape[-1] is None:
            raise ValueError(
                f"export_generator cannot read the latent size of the generator "
                f"{generator.name!r} (no keras.Input); pass latent_dim=."
            )
        latent_dim = int(inputs[0].shape[-1])
    distribution = latent_distribution or "normal"
    sampling.check_latent_distribution("export_generator", distribution)
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(
            f"export_generator received num_classes={num_classes!r}; expected a positive int."
        )
    if len(inputs) == 2 and num_classes is None:
        raise ValueError(
            f"export_generator: the generator {generator.name!r} takes [z, labels]; pass "
            "num_classes= so the `sample` signature can draw labels."
        )
    if len(inputs) == 1 and num_classes is not None:
        raise ValueError(
            f"export_generator received num_classes={num_classes!r}, but the generator "
            f"{generator.name!r} takes only z."
        )
    return types.SimpleNamespace(
        generator=generator, latent_dim=latent_dim, num_classes=num_classes,
        latent_distribution=distribution,
    )


def _check_args(name, version, value_range, max_samples) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"export_generator received name={name!r}; expected a model name of letters, "
            "digits, '.', '_' and '-' (it becomes a directory and TF Serving's MODEL_NAME)."
        )
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or version < 1):
        raise ValueError(
            f"export_generator received version={version!r}; expected a positive int or None."
        )
    low, high = value_range
    if not low < high:
        raise ValueError(
            f"export_generator received value_range={tuple(value_range)!r}; expected (low, high) "
            "with low < high."
        )
    if not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(
            f"export_generator received max_samples={max_samples!r}; expected a positive int."
        )
    return name


def _prepare_dir(export_root, name) -> str:
    model_dir = os.path.join(os.fspath(export_root), name)
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as e:
        raise type(e)(
            f"export_generator cannot create {model_dir!r} under export_root="
            f"{os.fspath(export_root)!r}: {e}. Pass a writable directory."
        ) from e
    if not os.access(model_dir, os.W_OK | os.X_OK):
        raise PermissionError(
            f"export_generator cannot write to {model_dir!r} (no write permission); pass a "
            "writable export_root."
        )
    return model_dir
