"""Export for TF Serving: self-contained, documented signatures, versioned and atomic."""

import errno
import hashlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, tiny_gan

import tfgan_kit
from tfgan_kit import export as export_lib

BIN = os.path.dirname(sys.executable)
LATENT = 16


def _train(gan, steps=4, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (16 * steps, 8, 8, 1)).astype("float32")
    gan.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False)
    return gan


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An unconditional BatchNorm GAN with generator EMA, trained a few steps, exported."""
    keras.utils.set_random_seed(0)
    gan = _train(tiny_gan(latent_dim=LATENT, generator_ema=0.8,
                          g_optimizer=keras.optimizers.Adam(1e-2)))
    root = tmp_path_factory.mktemp("exports")
    return gan, gan.export_generator(root, "digits")


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    """A conditional GAN with a uniform prior, exported."""
    keras.utils.set_random_seed(1)
    gan = tfgan_kit.GAN(
        tfgan_kit.dcgan_generator((8, 8, 1), LATENT, width=8, num_classes=3),
        tfgan_kit.dcgan_discriminator((8, 8, 1), width=8, num_classes=3),
        latent_dim=LATENT, num_classes=3, latent_distribution="uniform",
    )
    root = tmp_path_factory.mktemp("exports")
    return gan, tfgan_kit.export_generator(gan, root, "cond")


def _unit(images):
    return (np.asarray(images) + 1.0) / 2.0


def _hashes(directory):
    out = {}
    for parent, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return out


# The server side: plain TensorFlow, with tfgan_kit and Keras made unimportable.
PLAIN_TF = r"""
import json, sys
for mod in ("tfgan_kit", "keras"):
    sys.modules[mod] = None  # As if not installed: `import` fails, find_spec finds nothing.
blocked = []
for mod in ("tfgan_kit", "keras"):
    try:
        __import__(mod)
    except ImportError:
        blocked.append(mod)
import numpy as np
import tensorflow as tf

uncond_dir, cond_dir, inputs, out_path = sys.argv[1:5]
data = np.load(inputs)
out, specs = {}, {}
for key, path in (("u", uncond_dir), ("c", cond_dir)):
    model = tf.saved_model.load(path)
    for name, fn in model.signatures.items():
        specs[f"{key}/{name}"] = {
            "inputs": {k: [v.dtype.name, v.shape.as_list()]
                       for k, v in fn.structured_input_signature[1].items()},
            "outputs": {k: [v.dtype.name, v.shape.as_list()]
                        for k, v in fn.structured_outputs.items()},
        }
    sig = model.signatures
    if key == "u":
        out["u/serve"] = sig["serving_default"](z=tf.constant(data["z"]))["images"]
    else:
        out["c/serve"] = sig["serving_default"](
            z=tf.constant(data["z"]), label=tf.constant(data["labels"]))["images"]
        res = sig["sample_labels"](label=tf.constant(data["labels"]), seed=tf.constant(3))
        out["c/sample_labels"], out["c/sample_labels_uint8"] = res["images"], res["images_uint8"]
    for seed, tag in ((7, "a"), (7, "b"), (8, "c")):
        res = sig["sample"](num_samples=tf.constant(5), seed=tf.constant(seed))
        for name, value in res.items():
            out[f"{key}/sample_{tag}/{name}"] = value
arrays = {k: v.numpy() for k, v in out.items()}
arrays.update({k + "/dtype": np.array(v.dtype.name) for k, v in out.items()})
np.savez(out_path, **arrays)
leaked = sorted(m for m, v in sys.modules.items()
                if v is not None and m.partition(".")[0] in ("tfgan_kit", "keras"))
print(json.dumps({"blocked": blocked, "leaked": leaked, "specs": specs}))
"""


@pytest.mark.slow
def test_plain_tensorflow_without_tfgan_kit_runs_every_signature(trained, conditional, tmp_path):
    (gan, path), (cgan, cpath) = trained, conditional
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, LATENT)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0], np.int32)
    np.savez(tmp_path / "inputs.npz", z=z, labels=labels)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(  # -I: no PYTHONPATH, no user site, not the cwd on sys.path.
        [sys.executable, "-I", "-c", PLAIN_TF, path, cpath, str(tmp_path / "inputs.npz"),
         str(tmp_path / "out.npz")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["blocked"] == ["tfgan_kit", "keras"] and report["leaked"] == []
    specs = report["specs"]
    assert specs["u/serving_default"] == {
        "inputs": {"z": ["float32", [None, LATENT]]},
        "outputs": {"images": ["float32", [None, 8, 8, 1]]},
    }
    sample_outputs = {"images": ["float32", [None, 8, 8, 1]],
                      "images_uint8": ["uint8", [None, 8, 8, 1]]}
    scalars = {"num_samples": ["int32", []], "seed": ["int32", []]}
    assert specs["u/sample"] == {"inputs": scalars, "outputs": sample_outputs}
    assert set(specs) == {"u/serving_default", "u/sample", "c/serving_default", "c/sample",
                          "c/sample_labels"}
    assert specs["c/serving_default"]["inputs"] == {"z": ["float32", [None, LATENT]],
                                                    "label": ["int32", [None]]}
    assert specs["c/sample"] == {"inputs": scalars,
                                 "outputs": {**sample_outputs, "labels": ["int32", [None]]}}
    assert specs["c/sample_labels"] == {
        "inputs": {"label": ["int32", [None]], "seed": ["int32", []]}, "outputs": sample_outputs}

    out = np.load(tmp_path / "out.npz")
    with gan.ema_weights():
        expected = _unit(gan.generator(z, training=False))
    np.testing.assert_allclose(out["u/serve"], expected, atol=1e-5)
    np.testing.assert_allclose(
        out["c/serve"], _unit(cgan.generator([z, labels], training=False)), atol=1e-5)
    for key in ("u", "c"):
        a, b, c = (f"{key}/sample_{tag}/" for tag in "abc")
        assert out[a + "images"].shape == (5, 8, 8, 1)
        assert str(out[a + "images/dtype"]) == "float32"
        assert str(out[a + "images_uint8/dtype"]) == "uint8"
        assert 0.0 <= out[a + "images"].min() and out[a + "images"].max() <= 1.0
        np.testing.assert_array_equal(out[a + "images"], out[b + "images"])  # Same seed.
        assert np.abs(out[a + "images"] - out[c + "images"]).max() > 1e-3  # Other seed.
        np.testing.assert_array_equal(out[a + "images_uint8"],
                                      np.round(out[a + "images"] * 255).astype(np.uint8))
    assert out["c/sample_a/labels"].shape == (5,)
    assert set(out["c/sample_a/labels"]) <= {0, 1, 2}
    assert out["c/sample_labels"].shape == (6, 8, 8, 1)


def test_output_equals_generator_with_batchnorm_statistics_and_ema_weights(trained):
    gan, path = trained
    moving_means = [v for v in gan.generator.non_trainable_weights if "moving_mean" in v.path]
    assert moving_means and any(np.abs(v.numpy()).max() > 1e-3 for v in moving_means)
    served = tf.saved_model.load(path).signatures
    z = np.random.default_rng(1).normal(size=(8, LATENT)).astype("float32")
    images = served["serving_default"](z=tf.constant(z))["images"].numpy()
    with gan.ema_weights():
        ema = _unit(gan.generator(z, training=False))
    np.testing.assert_allclose(images, ema, atol=1e-5)
    sample = served["sample"](num_samples=tf.constant(9), seed=tf.constant(42))["images"]
    np.testing.assert_allclose(sample.numpy(), _unit(gan.generate(9, seed=42)), atol=1e-5)
    # Sensitive to both: raw weights and batch statistics would give other images.
    assert np.abs(images - _unit(gan.generator(z, training=False))).max() > 1e-3
    statistics = [v.numpy() for v in gan.generator.non_trainable_weights]
    with gan.ema_weights():
        batch_stats = _unit(gan.generator(z, training=True))  # also moves the statistics
    for v, value in zip(gan.generator.non_trainable_weights, statistics):
        v.assign(value)
    assert np.abs(images - batch_stats).max() > 1e-3


def test_conditional_sampling_uses_the_gan_prior_and_requested_labels(conditional):
    gan, path = conditional
    served = tf.saved_model.load(path).signatures
    labels = np.array([2, 0, 1, 1], np.int32)
    images = served["sample_labels"](label=tf.constant(labels), seed=tf.constant(5))["images"]
    z = gan.sample_latent(4, tf.constant([5, 0], tf.int64))  # uniform on [-1, 1]
    assert float(tf.reduce_min(z)) >= -1.0 and float(tf.reduce_max(z)) <= 1.0
    np.testing.assert_allclose(
        images.numpy(), _unit(gan.generator([z, tf.constant(labels)], training=False)), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes=3"):
        served["sample_labels"](label=tf.constant([0, 3]), seed=tf.constant(0))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"num_samples must be <= 1024 \(the max_samples argument"):
        served["sample"](num_samples=tf.constant(5000), seed=tf.constant(0))


def test_max_samples_is_an_export_argument_the_signature_enforces(tmp_path):
    generator = tfgan_kit.dcgan_generator((8, 8, 1), 4, width=4)
    path = tfgan_kit.export_generator(generator, tmp_path, "g", max_samples=3000)
    sample = tf.saved_model.load(path).signatures["sample"]
    assert sample(num_samples=tf.constant(2000), seed=tf.constant(0))["images"].shape[0] == 2000
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be <= 3000"):
        sample(num_samples=tf.constant(3001), seed=tf.constant(0))


@pytest.mark.slow
def test_saved_model_cli_show_lists_both_signatures(trained):
    result = subprocess.run(
        [os.path.join(BIN, "saved_model_cli"), "show", "--dir", trained[1], "--all"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for block in (
        "signature_def['serving_default']:", "inputs['z'] tensor_info:\n        dtype: DT_FLOAT\n"
        f"        shape: (-1, {LATENT})", "signature_def['sample']:",
        "inputs['num_samples'] tensor_info:\n        dtype: DT_INT32\n        shape: ()",
        "inputs['seed'] tensor_info:\n        dtype: DT_INT32\n        shape: ()",
        "outputs['images'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 8, 8, 1)",
        "outputs['images_uint8'] tensor_info:\n        dtype: DT_UINT8\n        shape: (-1, 8, 8, 1)",
    ):
        assert block in text, block


def test_versions_count_up_and_an_existing_version_is_refused_unless_asked(tmp_path):
    generator = tiny_gan(latent_dim=LATENT).generator  # a bare generator works too
    root = tmp_path / "models"
    assert tfgan_kit.export_generator(generator, root, "g") == str(root / "g" / "1")
    os.makedirs(root / "g" / ".tmp-2-crashed" / "variables")  # left by a killed export
    assert tfgan_kit.export_generator(generator, root, "g") == str(root / "g" / "2")
    assert export_lib.existing_versions(root / "g") == [1, 2]
    before = _hashes(root / "g" / "2")
    with pytest.raises(FileExistsError, match="version 2 of model 'g' already exists"):
        tfgan_kit.export_generator(generator, root, "g", version=2)
    assert _hashes(root / "g" / "2") == before

    z = np.zeros((1, LATENT), np.float32)
    for v in generator.trainable_weights:
        v.assign(v + 0.1)
    tfgan_kit.export_generator(generator, root, "g", version=2, overwrite=True)
    images = tf.saved_model.load(str(root / "g" / "2")).signatures["serving_default"](
        z=tf.constant(z))["images"]
    np.testing.assert_allclose(images.numpy(), _unit(generator(z, training=False)), atol=1e-5)
    assert sorted(os.listdir(root / "g")) == [".tmp-2-crashed", "1", "2"]


def test_failure_mid_write_leaves_no_new_version_and_earlier_ones_intact(trained, monkeypatch):
    gan, path = trained
    model_dir = os.path.dirname(path)
    before = _hashes(path)
    weights = [v.numpy() for v in gan.generator.weights]
    real_write = export_lib._write_archive

    def write_then_fail(archive, target):
        real_write(archive, target)  # Files are on disk: now the disk is "full".
        assert os.listdir(target)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_lib, "_write_archive", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        gan.export_generator(os.path.dirname(model_dir), "digits")
    assert os.listdir(model_dir) == ["1"]  # no version 2, no staging directory
    assert _hashes(path) == before
    for v, value in zip(gan.generator.weights, weights):  # EMA swap undone
        np.testing.assert_array_equal(v.numpy(), value)
    served = tf.saved_model.load(path).signatures["serving_default"]
    assert served(z=tf.zeros((1, LATENT)))["images"].shape == (1, 8, 8, 1)


def test_bad_input_gives_clear_errors(tmp_path):
    unbuilt = keras.Sequential([keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))],
                               name="unbuilt_g")
    with pytest.raises(ValueError, match="'unbuilt_g', which is not built"):
        tfgan_kit.export_generator(unbuilt, tmp_path, "g", latent_dim=4)
    generator = tiny_gan(latent_dim=LATENT).generator
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(OSError, match="cannot create .*export_root=.*file.*writable"):
        tfgan_kit.export_generator(generator, not_a_dir, "g")
    if os.geteuid() != 0:  # root writes anywhere
        read_only = tmp_path / "ro"
        read_only.mkdir(mode=0o500)
        with pytest.raises(OSError, match="ro"):
            tfgan_kit.export_generator(generator, read_only, "g")
    assert not os.path.exists(tmp_path / "g")
    for kwargs, message in (
        ({"name": "../g"}, "name='../g'"),
        ({"name": "g", "version": 0}, "version=0"),
        ({"name": "g", "num_classes": 3}, "takes only z"),
        ({"name": "g", "latent_distribution": "cauchy"}, "latent_distribution='cauchy'"),
    ):
        with pytest.raises(ValueError, match=message):
            tfgan_kit.export_generator(generator, tmp_path, **kwargs)
    with pytest.raises(ValueError, match="takes \\[z, labels\\]; pass num_classes="):
        tfgan_kit.export_generator(tiny_gan(num_classes=3).generator, tmp_path, "c")
    points = tfgan_kit.mlp_generator(2, latent_dim=4)
    with pytest.raises(ValueError, match="expected images"):
        tfgan_kit.export_generator(points, tmp_path, "p")
    with pytest.raises(TypeError, match="expected a tfgan_kit.GAN"):
        tfgan_kit.export_generator("gan.keras", tmp_path, "g")
    assert sorted(os.listdir(tmp_path)) == ["file"] + (["ro"] if os.geteuid() else [])


@pytest.mark.slow
def test_examples_export_at_the_end_of_training_and_from_a_checkpoint(tmp_path):
    run, root = tmp_path / "run", tmp_path / "models"
    train = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), "--epochs=1",
         "--limit=128", "--width=8", "--latent_dim=16", f"--output_dir={run}", "--export",
         f"--export_dir={root}", "--model_name=tiny"],
        capture_output=True, text=True, timeout=300,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    export = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "export.py"),
         f"--checkpoint={run / 'gan.keras'}", f"--export_dir={root}", "--model_name=tiny"],
        capture_output=True, text=True, timeout=300,
    )
    assert export.returncode == 0, export.stderr[-2000:]
    assert export_lib.existing_versions(root / "tiny") == [1, 2]
    assert str(root / "tiny" / "2") in export.stdout
    z = tf.constant(np.random.default_rng(0).normal(size=(3, 16)), tf.float32)
    at_end, from_checkpoint = (
        tf.saved_model.load(str(root / "tiny" / v)).signatures["serving_default"](z=z)["images"]
        for v in ("1", "2")
    )
    np.testing.assert_allclose(at_end.numpy(), from_checkpoint.numpy(), atol=1e-6)


def test_shipped_digits_model_serves_as_documented():
    model_dir = os.path.join(REPO, "saved_models", "digits")
    versions = export_lib.existing_versions(model_dir)
    if not versions:
        pytest.skip("no shipped digits model")
    served = tf.saved_model.load(os.path.join(model_dir, str(versions[-1]))).signatures
    assert set(served) == {"serving_default", "sample"}
    out = served["sample"](num_samples=tf.constant(4), seed=tf.constant(0))
    assert out["images"].shape == (4, 8, 8, 1) and out["images_uint8"].dtype == tf.uint8
    z_spec = served["serving_default"].structured_input_signature[1]["z"]
    assert z_spec.dtype == tf.float32 and z_spec.shape.as_list() == [None, 64]
