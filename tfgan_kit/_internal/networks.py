"""Checking that a generator takes the noise (and labels) it will be fed, before any tracing."""

import keras


def generator_output_shape(generator: keras.Model, latent_dim: int, conditional: bool,
                           owner: str) -> tuple:
    """The `(batch, ...)` shape `generator` outputs for `(None, latent_dim)` noise [and labels]."""
    z = keras.KerasTensor((None, latent_dim))
    inputs = [z, keras.KerasTensor((None,), "int32")] if conditional else z
    try:
        return tuple(generator.compute_output_spec(inputs).shape)
    except Exception as e:
        raise ValueError(
            f"{owner}: the generator {generator.name!r} cannot take noise of shape "
            f"(None, {latent_dim}){' with labels' if conditional else ''}: {e}"
        ) from e
