"""The example scripts run end to end as a user would run them."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import keras
import matplotlib.image as plt_image
import pytest
from conftest import REPO, make_photo_folder, same, values

import tfgan_kit  # registers the GAN for load_model


@pytest.mark.slow
def test_train_dcgan_writes_grids_curves_checkpoint_and_metrics(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), "--epochs=2",
         "--limit=256", f"--output_dir={out}", "--width=8", "--latent_dim=16", "--lr_decay=cosine", "--pack=2",
         "--d_steps=3", "--g_steps=2", "--d_norm=batch", "--d_dropout=0.3"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Recipe: none (--recipe=auto, images 8x8x1)" in result.stdout  # gray digits
    assert sorted(os.listdir(out / "samples")) == ["epoch_001.png", "epoch_002.png"]
    for name in ("losses.png", "gan.keras", "metrics.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake"} <= set(metrics)
    gan = keras.models.load_model(out / "gan.keras")
    d_layers = [type(layer).__name__ for layer in gan.discriminator.layers]
    assert [layer.num for layer in gan.discriminator.layers if isinstance(layer, tfgan_kit.Pack)] == [2]
    assert "BatchNormalization" in d_layers and "Dropout" in d_layers  # --d_norm, --d_dropout
    # 8 batches of 32 x 2 epochs, D thrice and G twice a batch (--d_steps=3 --g_steps=2), in
    # calls of 10 steps cut short by each epoch's end: each schedule cooled to 0 at its end.
    for optimizer, updates in ((gan.d_optimizer, 48), (gan.g_optimizer, 32)):
        assert int(optimizer.iterations) == updates
        assert optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == updates
        assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("flag, message", [("--loss=bogus", "bogus"),
                                           ("--pack=3", "--pack=3 needs a batch of whole packs")])
def test_bad_flag_values_are_refused_before_training(tmp_path, flag, message):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), flag,
         f"--output_dir={tmp_path}/x"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0 and message in result.stderr
    assert not os.path.exists(tmp_path / "x")


@pytest.mark.slow
@pytest.mark.parametrize("networks", ["dcgan", "resnet"])
def test_train_dcgan_on_a_folder_of_mixed_photos(tmp_path, networks):
    photos = make_photo_folder(tmp_path / "photos", count=40)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "run"
    command = [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"),
               f"--dataset=folder:{photos}", "--image_size=32", "--epochs=1",
               f"--output_dir={out}", "--width=8", "--latent_dim=16", f"--networks={networks}",
               "--mode_collapse_monitor=off"]
    if networks == "dcgan":
        command.append("--batch_size=8")  # a flag given wins over the recipe's batch size
    else:
        command.append("--pixel_shuffle=2")  # both networks at 16 px
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "broken.jpg" in refused.stderr
    result = subprocess.run(command + ["--skip_bad_files"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipping 1 unreadable image file" in result.stderr
    grid = plt_image.imread(out / "samples" / "epoch_001.png")
    assert grid.ndim == 3 and grid.shape[-1] in (3, 4)  # a color grid
    assert "Sharding callback" not in result.stdout + result.stderr
    # Color images of a size SNGAN's networks take get the color recipe; a flag given wins.
    assert "Recipe: color (--recipe=auto, images 32x32x3)" in result.stdout
    gan = keras.models.load_model(out / "gan.keras")
    assert gan.loss_name == "hinge" and float(gan.d_optimizer.beta_1) == 0.0
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(4e-4)  # the recipe's, not the flag's 2e-4
    # 40 readable photos: the recipe's batch 16 reloads the data (2 batches, not batch 32's 1);
    # --batch_size=8 wins over it (5).
    assert int(gan.d_optimizer.iterations) == (5 if networks == "dcgan" else 2)
    assert ("Conv2DTranspose" in {type(l).__name__ for l in gan.generator.layers}) == (networks == "dcgan")
    if networks == "resnet":  # saved and loaded with its pixel shuffles
        assert [type(gan.generator.layers[-2]).__name__, type(gan.discriminator.layers[1]).__name__] == [
            "PixelShuffle", "PixelUnshuffle"]


@pytest.mark.slow
def test_color_images_from_64_px_get_the_64_px_color_recipe(tmp_path):
    # 24 photos, fewer than the default batch 32: the recipe's batch 16 applies before batching.
    photos = make_photo_folder(tmp_path / "photos", count=24)
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), f"--dataset=folder:{photos}",
         "--image_size=64", "--epochs=2", f"--output_dir={out}", "--eval_samples=0",
         "--mode_collapse_monitor=off", "--ema_decay=0.99", "--d_min_width=32"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Recipe: color64 (--recipe=auto, images 64x64x3)" in result.stdout
    gan = keras.models.load_model(out / "gan.keras")
    # One batch of 16 an epoch, D twice a batch; G with 16 channels at the image, D with the
    # --d_min_width given (32), tapered to 128 where its pixels are few.
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (4, 2)
    conv_filters = lambda model, size: {layer.output.shape[-1] for layer in model.layers
                                        if "conv" in getattr(layer, "layer", layer).name
                                        and layer.output.shape[1] == size}
    assert conv_filters(gan.generator, 64) <= {16, 3} and 16 in conv_filters(gan.generator, 64)
    assert conv_filters(gan.discriminator, 64) == {32}
    assert 128 in conv_filters(gan.discriminator, 4)
    assert gan.generator_ema == pytest.approx(0.99)  # a flag given wins over the recipe's 0.995


def _grown(photos, out, epochs=3):
    return [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), f"--dataset=folder:{photos}",
            "--image_size=64", f"--epochs={epochs}", "--grow_epochs=1", f"--output_dir={out}",
            "--eval_samples=0", "--mode_collapse_monitor=off", "--seed=3"]


@pytest.mark.slow
def test_a_grown_run_trains_at_half_size_first_and_a_killed_one_resumes_to_the_same_weights(tmp_path):
    photos = make_photo_folder(tmp_path / "photos", count=24)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    whole = subprocess.run(_grown(photos, tmp_path / "whole"), env=env, capture_output=True, text=True,
                           timeout=600)
    assert whole.returncode == 0, whole.stderr[-3000:]
    # 32 px with the 32 px recipe, then 64 px with color64, from the 32 px G's coarse blocks (z's
    # projection, 3 up blocks, the last batch norm); color's D (32 channels throughout) shares no
    # layer with color64's (16 to 128).
    assert "Growing: epochs 1-1 at 32 px, 2-3 at 64 px" in whole.stdout
    assert "Recipe: color (--recipe=auto, images 32x32x3)" in whole.stdout
    assert "Recipe: color64 (--recipe=auto, images 64x64x3)" in whole.stdout
    assert "Grown to 64 px: copied 17 G and 0 D layers of the half-size pair" in whole.stdout
    grids = [plt_image.imread(tmp_path / "whole" / "samples" / f"epoch_00{i}.png") for i in (1, 2, 3)]
    assert grids[0].shape[0] < grids[1].shape[0] == grids[2].shape[0]  # 32 px samples, then 64 px
    assert not (tmp_path / "whole" / "backup").exists()  # both stages' backups deleted at the end

    command = _grown(photos, tmp_path / "killed")
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = tmp_path / "killed" / "backup" / "checkpoint"  # the 64 px stage's first backup
    deadline = time.time() + 600
    while not state_file.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    output = again.stdout + again.stderr
    assert "resuming after epoch 1 " in output and "resuming after epoch 2 " in output  # each stage

    def state(run):
        gan = keras.models.load_model(tmp_path / run / "gan.keras")
        return int(gan.g_optimizer.iterations), values(gan.weights) + values(gan.g_optimizer.variables)

    iterations, resumed = state("killed")
    assert iterations == 2  # the 64 px stage's 2 epochs of 1 batch of 16
    assert not (tmp_path / "killed" / "backup").exists()
    if not same(state("whole")[1], resumed):
        # Excused only where two uninterrupted runs of one command differ as well.
        rerun = subprocess.run(_grown(photos, tmp_path / "again"), env=env, capture_output=True,
                               text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert not same(state("whole")[1], state("again")[1]), \
            "the resumed run's weights differ from the uninterrupted run's"
        warnings.warn("Two uninterrupted runs of one command end with different weights on this host "
                      "(its kernels do not repeat across processes): the grown resume was checked by "
                      "its messages and counts only.")


@pytest.mark.parametrize("flags, message", [(["--grow_epochs=2"], "fewer --grow_epochs than --epochs"),
                                            (["--grow_epochs=1", "--image_size=33"], "an even --image_size")])
def test_growing_that_cannot_be_done_is_refused_before_training(tmp_path, flags, message):
    photos = make_photo_folder(tmp_path / "photos", count=4)
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "train_dcgan.py"), f"--dataset=folder:{photos}",
         "--image_size=32", "--epochs=2", f"--output_dir={tmp_path}/x", *flags],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0 and message in result.stderr
    assert not os.path.exists(tmp_path / "x")
