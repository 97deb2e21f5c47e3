"""Growing a trained network into a larger one: progressive growing (Karras et al. 2018).

A generator for twice the image size is the smaller one with blocks added at the image
end; a discriminator for it, the smaller one with blocks added at the image end too, which
is its input. Copying the layers the two share lets the larger pair start from what the
smaller pair learned on a quarter of the pixels, where its steps cost far less.
"""

from typing import List

import keras

__all__ = ["copy_matching_weights"]


def _weighted_layers(model: keras.Model) -> List[keras.layers.Layer]:
    """The layers with weights, in the order they were called (input to output)."""
    return [layer for layer in model.layers if layer.weights]


def copy_matching_weights(source: keras.Model, target: keras.Model, from_end: str = "input") -> int:
    """Copies `source`'s weights into `target`'s layers, layer by layer, while they match.

    Layers are paired from one end of both models: `"input"` for a generator grown at
    its output (z's projection and the coarse blocks first), `"output"` for a
    discriminator grown at its input (the logit and the coarse blocks first). Pairing
    stops at the first pair whose weights differ in shape; what follows in `target`
    keeps its initialization. Every weight of a paired layer is copied, batch-norm
    statistics and spectral norm's power-iteration vector included.

    Args:
        source: the trained, smaller network.
        target: the larger network, built and not yet trained.
        from_end: `"input"` or `"output"`: the end both networks share.

    Returns:
        The number of layers copied; 0 when the first pair already differs.

    Examples:

    ```python
    small = tfgan_kit.resnet_generator((32, 32, 3), width=128, min_width=32)
    large = tfgan_kit.resnet_generator((64, 64, 3), width=128, min_width=16)
    tfgan_kit.nets.copy_matching_weights(small, large)  # z's projection, 3 of 4 blocks
    ```
    """
    if from_end not in ("input", "output"):
        raise ValueError(f"Received from_end={from_end!r}; expected 'input' or 'output'.")
    ours, theirs = _weighted_layers(source), _weighted_layers(target)
    if from_end == "output":
        ours, theirs = ours[::-1], theirs[::-1]
    copied = 0
    for src, dst in zip(ours, theirs):
        if [tuple(w.shape) for w in src.weights] != [tuple(w.shape) for w in dst.weights]:
            break
        for s, d in zip(src.weights, dst.weights):
            d.assign(s)
        copied += 1
    return copied
