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


# Every public callback, built with non-default arguments where it has them.
FACTORIES = {
    "SampleGrid": lambda tmp: tfgan_kit.SampleGrid(str(tmp / "s"), num_samples=9, every=2, scale=3),
    "GeneratorEMA": lambda tmp: tfgan_kit.GeneratorEMA(decay=0.99, start_step=10, finalize=True),
    "ImbalanceMonitor": lambda tmp: tfgan_kit.ImbalanceMonitor(
        window=7, mode="rebalance", equilibrium_mode="warn", verbose=0),
    "ModeCollapseMonitor": lambda tmp: tfgan_kit.ModeCollapseMonitor(DIGITS, num_samples=32, every=3),
    "FIDMonitor": lambda tmp: tfgan_kit.FIDMonitor(DIGITS, every=2, num_samples=100),
    "CrashSafeBackup": lambda tmp: tfgan_kit.CrashSafeBackup(str(tmp / "b"), max_to_keep=3, verbose=0),
    "NaNGuard": lambda tmp: tfgan_kit.NaNGuard(max_recoveries=1, lr_factor=0.25, verbose=0),
}


def test_every_public_callback_is_covered():
    public = {name for name in tfgan_kit.callbacks.__all__
              if isinstance(getattr(tfgan_kit.callbacks, name), type)
              and issubclass(getattr(tfgan_kit.callbacks, name), keras.callbacks.Callback)}
    assert public == set(FACTORIES)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_get_config_rebuilds_an_equivalent_callback_or_is_absent(name, tmp_path):
    callback = FACTORIES[name](tmp_path)
    if not hasattr(callback, "get_config"):
        # Callbacks holding data (real images) cannot be rebuilt from a config: they offer none.
        assert name in ("ModeCollapseMonitor", "FIDMonitor")
        return
    config = callback.get_config()
    rebuilt = type(callback)(**config)
    assert rebuilt.get_config() == config
    assert {k: v for k, v in vars(rebuilt).items() if k in config} == {
        k: v for k, v in vars(callback).items() if k in config}


@pytest.mark.parametrize("name", ["ImbalanceMonitor", "ModeCollapseMonitor", "NaNGuard"])
def test_callbacks_that_can_stop_keep_the_reason_under_one_name(name, tmp_path):
    assert FACTORIES[name](tmp_path).stop_reason is None


@pytest.mark.parametrize("name", ["ImbalanceMonitor", "ModeCollapseMonitor", "FIDMonitor",
                                  "CrashSafeBackup", "NaNGuard"])
def test_callbacks_that_log_take_verbose(name, tmp_path):
    assert hasattr(FACTORIES[name](tmp_path), "verbose")
