"""The two players' optimizers: defaults, one each, loss-scaled under float16, generator EMA."""

from typing import Optional, Tuple

import keras

from tfgan_kit._internal.keras_access import inner_optimizer


def default_optimizer() -> keras.optimizers.Optimizer:
    """The DCGAN paper's recipe (Radford et al. 2016): Adam, lr 2e-4, beta_1 0.5."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


def player_optimizers(d_optimizer, g_optimizer, policy: str,
                      generator_ema: Optional[float]) -> Tuple[keras.optimizers.Optimizer, ...]:
    """`(d_optimizer, g_optimizer)` ready for `GAN.compile`, or a `ValueError` naming the problem.

    `compile()` wraps only `model.optimizer` in a `LossScaleOptimizer`, so under
    `mixed_float16` both players' optimizers are wrapped here; with `generator_ema` the
    generator's optimizer keeps Keras' in-graph EMA of its weights.
    """
    d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer else default_optimizer()
    g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer else default_optimizer()
    if d_optimizer is g_optimizer:
        raise ValueError(
            "GAN.compile received the same optimizer object for both networks; "
            "each network needs its own (its slots are per variable)."
        )
    if policy == "mixed_float16":
        d_optimizer, g_optimizer = (
            opt if isinstance(opt, keras.optimizers.LossScaleOptimizer)
            else keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
            for opt, name in ((d_optimizer, "d"), (g_optimizer, "g"))
        )
    if generator_ema is not None:
        if not 0.0 < generator_ema < 1.0:
            raise ValueError(
                f"GAN.compile received generator_ema={generator_ema!r}; expected a decay "
                "in (0, 1), e.g. 0.999."
            )
        inner = inner_optimizer(g_optimizer)
        inner.use_ema, inner.ema_momentum = True, float(generator_ema)
        inner.ema_overwrite_frequency = None
    return d_optimizer, g_optimizer
