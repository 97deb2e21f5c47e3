"""GeneratorEMA: the average equals a hand computation, starts late and needs the optimizer EMA."""

import keras
import numpy as np
import pytest
from conftest import digits, tiny_gan

import tfgan_kit
from tfgan_kit.callbacks import GeneratorEMA

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


@pytest.mark.slow
def test_generator_ema_equals_a_hand_computed_average(tmp_path):
    gan = tiny_gan(generator_ema=0.9)
    dataset = digits(limit=6 * 64)
    gan.fit(dataset.take(1), epochs=1, verbose=0)  # traces the step with decay 0.9

    class Weights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps, self.before_start = {}, []

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.g_optimizer.iterations.numpy())
            self.steps[step] = [v.numpy() for v in self.model.generator.trainable_variables]
            averages = self.model.g_optimizer._model_variables_moving_average
            if step < 3:  # before start_step the average is the current weights
                self.before_start.append(all(np.array_equal(a.numpy(), w) for a, w in
                                             zip(averages, self.steps[step])))

    record = Weights()
    ema = GeneratorEMA(decay=0.5, start_step=3, finalize=True)
    gan.fit(dataset, epochs=1, verbose=0, callbacks=[ema, record])
    assert sorted(record.steps) == [2, 3, 4, 5, 6, 7] and record.before_start == [True]
    expected = record.steps[3]
    for step in (4, 5, 6, 7):  # decay 0.5 (not compile's 0.9): the step was re-traced
        expected = [0.5 * a + 0.5 * w for a, w in zip(expected, record.steps[step])]
    averages = gan.g_optimizer._model_variables_moving_average
    for average, value in zip(averages, expected):
        np.testing.assert_allclose(average.numpy(), value, rtol=1e-5, atol=1e-6)
    # finalize: the generator itself now holds the average, so both draws agree.
    for variable, value in zip(gan.generator.trainable_variables, expected):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.generate(4, seed=1), gan.generate(4, seed=1, use_ema=False))
    assert gan.get_compile_config()["generator_ema"] == 0.5


def test_generator_ema_needs_the_optimizer_average():
    gan = tiny_gan()
    ema = GeneratorEMA(decay=0.99)
    ema.set_model(gan)
    with pytest.raises(ValueError, match=r"generator_ema=0.99"):
        ema.on_train_begin()
