"""Synthetic data: examples/generate.py writes what load_dataset reads back, class-balanced."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, tiny_gan

import tfgan_kit
from tfgan_kit import data


@pytest.fixture(scope="module")
def conditional_checkpoint(tmp_path_factory):
    gan = tiny_gan(num_classes=3)
    path = str(tmp_path_factory.mktemp("ckpt") / "gan.keras")
    gan.save(path)
    return path, gan


def _run_generate(*args):
    result = subprocess.run([sys.executable, os.path.join(REPO, "examples", "generate.py"), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_folder_round_trip_is_class_balanced_and_exact(conditional_checkpoint, tmp_path):
    path, gan = conditional_checkpoint
    out = tmp_path / "synthetic"
    _run_generate(f"--model={path}", f"--output={out}", "--num_samples=12", "--seed=4")
    assert sorted(os.listdir(out)) == ["0", "1", "2"]
    assert [len(os.listdir(out / c)) for c in "012"] == [4, 4, 4]
    ds = tfgan_kit.load_dataset(f"folder:{out}", batch_size=12, labels=True, shuffle=False)
    x, y = next(iter(ds))
    expected = gan.generate(12, seed=4, labels=np.arange(12) % 3)
    # Files are sorted by class folder, then name: reorder the expectation the same way.
    order = np.argsort(np.arange(12) % 3, kind="stable")
    np.testing.assert_array_equal(y.numpy(), (np.arange(12) % 3)[order])
    np.testing.assert_allclose(x.numpy(), expected[order], atol=1 / 127.5 + 1e-6)


@pytest.mark.slow
def test_npz_round_trip(conditional_checkpoint, tmp_path):
    path, _ = conditional_checkpoint
    out = tmp_path / "synthetic.npz"
    _run_generate(f"--model={path}", f"--output={out}", "--num_samples=9")
    x, y = tfgan_kit.load_arrays(f"npz:{out}", labels=True)
    assert x.shape == (9, 8, 8, 1) and list(np.bincount(y)) == [3, 3, 3]


def test_write_image_folder_unconditional_is_flat(tmp_path):
    images = np.linspace(-1, 1, 4 * 8 * 8).reshape(4, 8, 8, 1).astype(np.float32)
    assert data.write_image_folder(images, str(tmp_path)) == 4
    x = next(iter(tfgan_kit.load_dataset(f"folder:{tmp_path}", batch_size=4, shuffle=False)))
    np.testing.assert_allclose(x.numpy(), images, atol=1 / 127.5 + 1e-6)
    with pytest.raises(ValueError, match="4 images and 3 labels"):
        data.write_image_folder(images, str(tmp_path), labels=[0, 1, 2])
