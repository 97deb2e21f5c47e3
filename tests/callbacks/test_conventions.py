"""What every public callback shares: argument checks by name, GAN-only monitors, configs."""

import keras
import pytest

import tfgan_kit
from tfgan_kit.callbacks import (
    GeneratorEMA,
    ImbalanceMonitor,
    ModeCollapseMonitor,
    SampleGrid,
)

LR = 2e-4
DIGITS, _ = tfgan_kit.load_arrays("digits")


@pytest.mark.parametrize("make, match", [
    (lambda: ImbalanceMonitor(mode="bogus"), "mode='bogus'"),
    (lambda: ImbalanceMonitor(window=0), "window=0"),
    (lambda: ImbalanceMonitor(rebalance_factor=2.0), "rebalance_factor=2.0"),
    (lambda: ModeCollapseMonitor(DIGITS, mode="rewind"), "mode='rewind'"),
    (lambda: ModeCollapseMonitor(DIGITS, features="inception"), "features='inception'"),
    (lambda: ModeCollapseMonitor("digits"), "real_data of type str"),
    (lambda: ModeCollapseMonitor(DIGITS, unit="step"), "unit='step'"),
    (lambda: GeneratorEMA(decay=1.5), "decay=1.5"),
    (lambda: SampleGrid("x", scale=0), "scale=0"),
])
def test_bad_arguments_are_refused_by_name(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_monitors_refuse_a_model_that_is_not_a_gan():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    monitor = ImbalanceMonitor()
    monitor.set_model(model)
    with pytest.raises(ValueError, match="does not report"):
        monitor.on_train_begin()
