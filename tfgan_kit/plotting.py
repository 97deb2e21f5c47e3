"""Image grids and training curves as PNG files.

Figures are drawn with matplotlib's object-oriented API (`Figure` on an Agg canvas),
never through `pyplot`: no display is needed, and the application's own backend and
figures are left alone.
"""

import math
import os
import sys
from typing import Dict, Optional, Sequence

import matplotlib.image
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from tfgan_kit._internal.arrays import to_uint8
from tfgan_kit.data import mixtures


CHECKER_SHADES = (204, 255)  # light gray and white squares, as image editors show transparency


def over_checkerboard(images: np.ndarray) -> np.ndarray:
    """uint8 RGBA images `(N, H, W, 4)` composited over a checkerboard: uint8 RGB.

    The squares are an eighth of the image's side, so transparency is visible at any size.
    """
    h, w = images.shape[1:3]
    rows, cols = np.indices((h, w)) // max(1, min(h, w) // 8)
    board = np.where((rows + cols) % 2, *CHECKER_SHADES)[..., None].astype(np.float32)
    alpha = images[..., 3:].astype(np.float32) / 255.0
    return np.round(images[..., :3] * alpha + board * (1.0 - alpha)).astype(np.uint8)


def image_grid(images: np.ndarray, cols: Optional[int] = None, padding: int = 1) -> np.ndarray:
    """Tiles `(N, H, W, C)` images in [-1, 1] into one uint8 `(rows*H, cols*W, C)` array.

    RGBA images are drawn over a checkerboard (the grid is RGB), so what is transparent shows.
    """
    images = to_uint8(images)
    if images.shape[-1] == 4:
        images = over_checkerboard(images)
    n, h, w, c = images.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def save_image_grid(images: np.ndarray, path: str, cols: Optional[int] = None, scale: int = 1) -> str:
    """Writes `images` (in [-1, 1]) as a PNG grid, each pixel `scale` x `scale`."""
    grid = image_grid(images, cols)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    matplotlib.image.imsave(path, grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray",
                            vmin=0, vmax=255)
    return path


def plot_history(
    history: Dict[str, Sequence[float]],
    path: str,
    keys: Sequence[str] = ("d_loss", "g_loss", "d_real", "d_fake"),
) -> str:
    """Training curves (one panel for losses, one for D's outputs) saved as a PNG."""
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_prob = fig.subplots(1, 2)
    for key in keys:
        if key not in history:
            continue
        ax = ax_loss if key.endswith("loss") else ax_prob
        ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Losses")
    ax_prob.set(xlabel="epoch", ylabel="mean probability", title="D(x) and D(G(z))", ylim=(0, 1))
    for ax in (ax_loss, ax_prob):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def draw_mixture_samples(ax, samples: np.ndarray, mixture: str, title: str = "") -> None:
    """2-D samples over the mixture's modes (red circles of 3 std: the high-quality zone)."""
    means, samples = mixtures.mixture_means(mixture), np.asarray(samples)
    ax.scatter(samples[:, 0], samples[:, 1], s=0.5, alpha=0.5, color="tab:blue")
    for mean in means:
        ax.add_patch(Circle(mean, 3 * mixtures.mixture_std(mixture), fill=False, color="tab:red",
                            lw=0.6))
    lim = 1.35 * np.abs(means).max()
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=8)


def plot_mixture_samples(samples: np.ndarray, mixture: str, path: str, title: str = "") -> str:
    """`draw_mixture_samples` as a PNG of its own."""
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    draw_mixture_samples(ax, samples, mixture, title)
    fig.tight_layout()
    return save_figure(fig, path)


def save_figure(fig, path: str, dpi: int = 100) -> str:
    """Writes `fig` as a PNG (making its folder); closes it when it came from pyplot."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)  # A pyplot figure stays registered (and in memory) until closed.
    return path
