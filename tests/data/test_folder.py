"""Folders of people's own pictures: any size, any mode, bad files found before training."""

import logging
import os
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import crop_photo, make_photo_folder
from PIL import Image

import tfgan_kit


def _first(ds):
    return next(iter(ds))


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_mixed_sizes_and_modes_come_out_at_the_requested_shape(tmp_path, channels):
    folder = make_photo_folder(tmp_path / "photos")
    ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=32, channels=channels)
    batch = _first(ds).numpy()
    assert batch.shape == (4, 32, 32, channels or 3)  # color files make an RGB folder
    assert batch.dtype == np.float32 and -1.0 <= batch.min() and batch.max() <= 1.0
    assert batch.std() > 0.1  # real picture content, not a constant


def test_rectangular_size_and_squash(tmp_path):
    folder = make_photo_folder(tmp_path / "photos")
    cropped = _first(tfgan_kit.load_dataset(f"folder:{folder}", 4, image_size=(24, 40),
                                            shuffle=False)).numpy()
    squashed = _first(tfgan_kit.load_dataset(f"folder:{folder}", 4, image_size=(24, 40),
                                             crop=False, shuffle=False)).numpy()
    assert cropped.shape == squashed.shape == (4, 24, 40, 3)
    assert not np.allclose(cropped, squashed)  # crop keeps the aspect ratio, squash does not


def test_center_crop_keeps_the_middle_of_the_picture(tmp_path):
    # A 40x80 picture: left quarter black, middle white, right quarter black; a square crop
    # keeps the white middle, a squash keeps the black sides.
    picture = np.zeros((40, 80, 3), np.uint8)
    picture[:, 20:60] = 255
    os.makedirs(tmp_path / "one")
    for i in range(2):
        Image.fromarray(picture).save(tmp_path / "one" / f"{i}.png")
    crop = _first(tfgan_kit.load_dataset(f"folder:{tmp_path / 'one'}", 2, image_size=16)).numpy()
    squash = _first(tfgan_kit.load_dataset(f"folder:{tmp_path / 'one'}", 2, image_size=16,
                                           crop=False)).numpy()
    assert crop.min() > 0.9  # all white
    assert squash[:, :, 0].max() < -0.9 and squash[:, :, 8].min() > 0.9


def test_gray_folder_stays_gray(tmp_path):
    os.makedirs(tmp_path / "gray")
    for i in range(4):
        Image.fromarray(crop_photo(i, 20, 20)[..., 0]).convert("L").save(tmp_path / "gray" / f"{i}.png")
    batch = _first(tfgan_kit.load_dataset(f"folder:{tmp_path / 'gray'}", 2)).numpy()
    assert batch.shape == (2, 20, 20, 1)


def test_mixed_sizes_without_image_size_name_the_sizes_and_the_flag(tmp_path):
    folder = make_photo_folder(tmp_path / "photos")
    with pytest.raises(ValueError, match=r"several sizes.*90x120 \(3\).*image_size=64.*--image_size"):
        tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4)


def _bad_files(folder):
    data = (folder / "photo_000.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is not an image")
    (folder / "README.txt").write_text("ignored: not an image extension")


def test_bad_files_are_found_before_training_and_named(tmp_path):
    folder = make_photo_folder(tmp_path / "photos")
    _bad_files(folder)
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"3 unreadable image file\(s\) of 15") as error:
        tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=32)
    assert time.monotonic() - start < 30
    message = str(error.value)
    assert "empty.png (empty file)" in message and "skip_bad_files=True" in message
    assert "--skip_bad_files" in message and "README.txt" not in message


def test_skip_bad_files_trains_on_the_rest_with_one_warning(tmp_path, caplog):
    folder = make_photo_folder(tmp_path / "photos")
    _bad_files(folder)
    with caplog.at_level(logging.WARNING, logger="tfgan_kit"):
        ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=32,
                                    skip_bad_files=True, shuffle=False)
    warnings = [r for r in caplog.records if "skipping 3 unreadable" in r.getMessage()]
    assert len(warnings) == 1
    images = np.concatenate([b.numpy() for b in ds])
    assert len(images) == 12 and np.isfinite(images).all()  # every good file, every epoch
    assert len(np.concatenate([b.numpy() for b in ds])) == 12


def test_a_second_load_of_the_same_files_does_not_decode_them_again(tmp_path, monkeypatch):
    from tfgan_kit.data import folder as folder_module

    folder = make_photo_folder(tmp_path / "photos", count=6)
    decodes = []
    decoded_shape = folder_module._decoded_shape
    monkeypatch.setattr(folder_module, "_decoded_shape", lambda *a: decodes.append(1) or decoded_shape(*a))
    load = lambda: tfgan_kit.load_dataset(f"folder:{folder}", batch_size=2, image_size=32)  # noqa: E731
    load(), load()
    assert len(decodes) == 1  # one decode pass (its map function traced once)
    # A file changed since: the next load decodes the folder again and finds it.
    (folder / "photo_000.jpg").write_bytes(b"no longer a jpeg")
    with pytest.raises(ValueError, match=r"1 unreadable image file\(s\) of 6.*photo_000.jpg"):
        load()
    assert len(decodes) == 2


def test_labels_from_class_subfolders_at_any_size(tmp_path):
    for name in ("cats", "dogs"):
        make_photo_folder(tmp_path / "classes" / name, count=4)
    ds = tfgan_kit.load_dataset(f"folder:{tmp_path / 'classes'}", batch_size=8, image_size=16,
                                labels=True, shuffle=False)
    images, labels = _first(ds)
    assert images.shape == (8, 16, 16, 3) and labels.numpy().tolist() == [0] * 4 + [1] * 4


def test_cache_auto_says_what_it_chose(tmp_path, capsys):
    folder = make_photo_folder(tmp_path / "photos")
    tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=16)
    assert "caching 12 decoded examples" in capsys.readouterr().out
    with pytest.raises(ValueError, match="cache='maybe'"):
        tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=16, cache="maybe")


def test_cache_auto_goes_to_a_file_or_streams_when_memory_is_short(tmp_path, capsys, monkeypatch):
    from tfgan_kit.data import sources

    folder = make_photo_folder(tmp_path / "photos")
    monkeypatch.setattr(sources, "_physical_memory", lambda: 1000)  # 1 kB of RAM
    ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=16,
                                cache_dir=str(tmp_path / "cache"))
    assert "caching it to" in capsys.readouterr().out
    list(ds)  # one epoch writes the file cache
    assert any(name.startswith("folder") for name in os.listdir(tmp_path / "cache"))
    tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=16)
    assert "streaming" in capsys.readouterr().out


@pytest.mark.parametrize("source", ["digits", "npz"])
def test_image_size_and_channels_apply_to_array_sources(tmp_path, source):
    name = "digits"
    if source == "npz":
        np.savez(tmp_path / "x.npz", x=np.stack([crop_photo(i, 30, 40) for i in range(8)]))
        name = f"npz:{tmp_path / 'x.npz'}"
    batch = _first(tfgan_kit.load_dataset(name, batch_size=4, image_size=16, channels=3)).numpy()
    assert batch.shape == (4, 16, 16, 3) and -1.0 <= batch.min() and batch.max() <= 1.0


def test_bad_size_and_channel_arguments_are_named():
    with pytest.raises(ValueError, match="image_size=0"):
        tfgan_kit.load_dataset("digits", image_size=0)
    with pytest.raises(ValueError, match="channels=2"):
        tfgan_kit.load_dataset("digits", channels=2)


def test_limit_reads_and_checks_only_the_first_files(tmp_path):
    folder = make_photo_folder(tmp_path / "photos")
    (folder / "zzz_broken.png").write_bytes(b"")  # sorts last: beyond the limit, never read
    ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, image_size=16, limit=8)
    assert sum(len(b) for b in ds) == 8


def test_the_shuffle_buffer_stays_within_its_share_of_memory(monkeypatch):
    from tfgan_kit.data import sources

    monkeypatch.setattr(sources, "_physical_memory", lambda: 2**33)  # 8 GiB
    ds = tf.data.Dataset.from_tensors(tf.zeros((128, 128, 3)))
    assert sources._shuffle_buffer(ds, 100_000) == int(0.1 * 2**33 // (128 * 128 * 3 * 4))  # 4,369
    assert sources._shuffle_buffer(ds, 500) == 500
