"""Pictures as people have them: transparency, EXIF orientation, webp, files that are not images."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

import tfgan_kit

STALE = (10, 250, 30)  # what a transparent pixel happens to store: never part of the picture
RED = (200, 0, 0)
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0), (40, 90, 160): (40, 90, 160)}


def _rgba_picture(size=8):
    """Left half opaque red, right half transparent with a stale color, one column at alpha 128."""
    picture = np.zeros((size, size, 4), np.uint8)
    picture[:, : size // 2] = RED + (255,)
    picture[:, size // 2 :] = STALE + (0,)
    picture[:, size // 2 - 1, 3] = 128
    return picture


def _load(folder, batch_size=2, **kwargs):
    ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=batch_size, shuffle=False, **kwargs)
    return next(iter(ds)).numpy()


def _save_twice(image: Image.Image, folder, ext="png", **save_args):
    os.makedirs(folder, exist_ok=True)
    for i in range(2):
        image.save(os.path.join(folder, f"{i}.{ext}"), **save_args)
    return folder


def _pixels(batch):
    return np.round((batch[0] + 1.0) * 127.5)


def _expected(picture, background):
    alpha = picture[..., 3:] / 255.0
    return np.round(picture[..., :3] * alpha + np.asarray(background) * (1.0 - alpha))


@pytest.mark.parametrize("background", list(BACKGROUNDS))
def test_rgba_is_composited_over_the_background(tmp_path, background):
    picture = _rgba_picture()
    folder = _save_twice(Image.fromarray(picture, "RGBA"), tmp_path / "rgba")
    got = _pixels(_load(folder, background=background))
    np.testing.assert_allclose(got, _expected(picture, BACKGROUNDS[background]), atol=1)


@pytest.mark.parametrize("background", list(BACKGROUNDS))
def test_palette_transparency_is_composited_over_the_background(tmp_path, background):
    indices = np.zeros((8, 8), np.uint8)
    indices[:, :4] = 1  # index 0: stale green, transparent; index 1: opaque red
    palette = Image.fromarray(indices, "P")
    palette.putpalette(list(STALE) + list(RED))
    folder = _save_twice(palette, tmp_path / "palette", transparency=0)
    picture = np.zeros((8, 8, 4), np.uint8)
    picture[:, :4], picture[:, 4:] = RED + (255,), STALE + (0,)
    got = _pixels(_load(folder, background=background))
    np.testing.assert_allclose(got, _expected(picture, BACKGROUNDS[background]), atol=1)


@pytest.mark.parametrize("background", list(BACKGROUNDS))
def test_gray_alpha_stays_gray_over_the_backgrounds_luma_or_becomes_rgb_on_request(tmp_path, background):
    gray_alpha = np.zeros((8, 8, 2), np.uint8)
    gray_alpha[:, :4] = (90, 255)
    gray_alpha[:, 4:] = (230, 0)  # transparent, with a stale light gray
    folder = _save_twice(Image.fromarray(gray_alpha, "LA"), tmp_path / "la")
    color = np.asarray(BACKGROUNDS[background], np.float64)
    gray = _pixels(_load(folder, background=background))
    assert gray.shape == (8, 8, 1)
    np.testing.assert_allclose(gray[:, :4], 90, atol=1)
    np.testing.assert_allclose(gray[:, 4:], color @ (0.2989, 0.587, 0.114), atol=1)
    rgb = _pixels(_load(folder, background=background, channels=3))
    np.testing.assert_allclose(rgb[:, :4], 90, atol=1)
    np.testing.assert_allclose(rgb[:, 4:], np.broadcast_to(color, (8, 4, 3)), atol=1)


def test_edges_take_no_halo_of_the_stale_color_when_resized(tmp_path):
    folder = _save_twice(Image.fromarray(_rgba_picture(32), "RGBA"), tmp_path / "rgba")
    white = _pixels(_load(folder, image_size=8))
    # Between opaque red and white every pixel has G == B; the stale green would lift G.
    np.testing.assert_allclose(white[..., 1], white[..., 2], atol=1)
    kept = _pixels(_load(folder, image_size=8, background=None))
    visible = kept[..., 3] > 0
    np.testing.assert_allclose(kept[visible][:, :3], np.broadcast_to(RED, (visible.sum(), 3)), atol=2)
    assert np.all(kept[~visible][:, :3] == 0)  # fully transparent: black, not stale


def test_array_sources_composite_alpha_too(tmp_path):
    picture = _rgba_picture()
    np.savez(tmp_path / "x.npz", x=np.stack([picture] * 4))
    batch = tfgan_kit.load_dataset(f"npz:{tmp_path / 'x.npz'}", batch_size=2, shuffle=False,
                                   background="black")
    np.testing.assert_allclose(_pixels(next(iter(batch)).numpy()), _expected(picture, (0, 0, 0)), atol=1)
    kept, _ = tfgan_kit.load_arrays(f"npz:{tmp_path / 'x.npz'}", background=None)
    assert kept.shape == (4, 8, 8, 4)


def test_background_and_channels_that_disagree_are_named(tmp_path):
    folder = _save_twice(Image.fromarray(_rgba_picture(), "RGBA"), tmp_path / "rgba")
    with pytest.raises(ValueError, match="channels=4 with a background"):
        tfgan_kit.load_dataset(f"folder:{folder}", batch_size=2, channels=4)
    with pytest.raises(ValueError, match="transparency needs channels=4"):
        tfgan_kit.load_dataset(f"folder:{folder}", batch_size=2, channels=3, background=None)
    for bad in ("grey", (256, 0, 0), (1, 2)):
        with pytest.raises(ValueError, match="background="):
            tfgan_kit.load_dataset(f"folder:{folder}", batch_size=2, background=bad)
    assert _pixels(_load(folder, background="40, 90,160"))[0, -1].tolist() == [40, 90, 160]


# PIL's transpose that each EXIF orientation undoes (PIL.ImageOps.exif_transpose's table).
UNDO = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
# The stored picture for each orientation: the inverse of that transpose.
STORE = UNDO | {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def _quadrants(h=48, w=32):
    """An upright picture no flip or turn leaves unchanged: four colored quadrants."""
    picture = np.zeros((h, w, 3), np.uint8)
    picture[: h // 2, : w // 2] = (255, 0, 0)
    picture[: h // 2, w // 2 :] = (0, 255, 0)
    picture[h // 2 :, : w // 2] = (0, 0, 255)
    picture[h // 2 :, w // 2 :] = (255, 255, 0)
    return picture


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpegs_come_upright_by_their_exif_orientation(tmp_path, orientation):
    upright = _quadrants()
    stored = Image.fromarray(upright)
    if orientation in STORE:
        stored = stored.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    folder = _save_twice(stored, tmp_path / "phone", ext="jpg", exif=exif.tobytes(), quality=95,
                         subsampling=0)
    viewer = np.asarray(ImageOps.exif_transpose(Image.open(folder / "0.jpg")), np.float64)
    assert np.abs(viewer - upright).mean() < 3  # the test's own check of STORE (JPEG error ~1)
    got = _pixels(_load(folder, image_size=(48, 32)))
    assert np.abs(got - upright).mean() < 3


def test_webp_is_read(tmp_path):
    picture = _rgba_picture()
    folder = _save_twice(Image.fromarray(picture, "RGBA"), tmp_path / "webp", ext="webp", lossless=True)
    np.testing.assert_allclose(_pixels(_load(folder)), _expected(picture, (255, 255, 255)), atol=1)


def test_files_that_are_not_images_are_counted_in_one_line(tmp_path, caplog):
    folder = _save_twice(Image.fromarray(_quadrants()), tmp_path / "mixed")
    for name in ("a.heic", "b.heic", "notes.txt"):
        (folder / name).write_bytes(b"not a picture")
    with caplog.at_level(logging.INFO, logger="tfgan_kit"):
        _load(folder, image_size=16)
    lines = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(lines) == 1
    assert "ignored 3 file(s)" in lines[0] and ".heic (2), .txt (1)" in lines[0]
    assert "cannot decode .heic" in lines[0]  # a picture format we cannot read says so


def test_an_image_file_that_does_not_decode_is_named(tmp_path):
    folder = _save_twice(Image.fromarray(_quadrants()), tmp_path / "bad", ext="webp")
    (folder / "broken.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPjunk")
    with pytest.raises(ValueError, match="broken.webp"):
        _load(folder)


def test_rgba_round_trip_through_fit_generate_grid_and_export(tmp_path):
    from conftest import tiny_gan

    folder = _save_twice(Image.fromarray(_rgba_picture(), "RGBA"), tmp_path / "sprites")
    for i in range(6):
        Image.fromarray(np.roll(_rgba_picture(), i, axis=0), "RGBA").save(folder / f"r{i}.png")
    ds = tfgan_kit.load_dataset(f"folder:{folder}", batch_size=4, background=None)
    assert ds.element_spec.shape[1:] == (8, 8, 4)
    gan = tiny_gan(image_shape=(8, 8, 4))
    grid = tfgan_kit.SampleGrid(str(tmp_path / "grids"), num_samples=4)
    gan.fit(ds, epochs=1, callbacks=[grid], verbose=0)
    sprites = gan.generate(3, seed=1)
    assert sprites.shape == (3, 8, 8, 4)
    tfgan_kit.data.write_image_folder(sprites, str(tmp_path / "out"))  # transparent sprites
    assert Image.open(tmp_path / "out" / "000000.png").mode == "RGBA"
    drawn = np.asarray(Image.open(grid.paths[-1]))
    assert drawn.shape[-1] in (3, 4) and drawn.shape[0] > 8
    path = gan.export_generator(str(tmp_path / "saved"), "sprites")
    served = tf.saved_model.load(path).signatures["sample"](num_samples=tf.constant(2),
                                                             seed=tf.constant(0))
    assert served["images"].shape == (2, 8, 8, 4) and served["images_uint8"].dtype == tf.uint8


def test_rgba_grids_are_drawn_over_a_checkerboard():
    transparent = -np.ones((1, 16, 16, 4), np.float32)
    board = tfgan_kit.plotting.image_grid(transparent, padding=0)
    assert board.shape == (16, 16, 3)
    assert set(np.unique(board)) == {204, 255}  # two shades, alternating
    assert board[0, 0, 0] != board[0, 2, 0]
    opaque = np.ones((1, 16, 16, 4), np.float32)
    opaque[..., :3] = -1.0  # opaque black
    assert tfgan_kit.plotting.image_grid(opaque, padding=0).max() == 0
