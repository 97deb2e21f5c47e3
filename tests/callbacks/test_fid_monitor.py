"""FIDMonitor: a quality number in the logs that ModelCheckpoint can act on."""

import keras
import pytest
from conftest import tiny_gan

import tfgan_kit
from tfgan_kit.metrics import evaluation


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Can save best model only")  # Epochs FIDMonitor skips.
def test_fid_monitor_feeds_model_checkpoint(tmp_path, digits):
    x, _ = digits
    gan = tiny_gan(latent_dim=8, width=8)
    monitor = tfgan_kit.FIDMonitor(x[:400], every=2, num_samples=200, verbose=0)
    best = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(best), monitor="val_fid", mode=monitor.mode,
                                                 save_best_only=True)
    history = gan.fit(tfgan_kit.load_dataset("digits", batch_size=64, limit=256), epochs=4,
                      callbacks=[monitor, checkpoint], verbose=0)
    assert [epoch for epoch, _, _ in monitor.history] == [2, 4]
    assert history.history["val_fid"] == [value for _, value, _ in monitor.history]
    assert all(v > 0 for v in history.history["val_fid"])
    assert best.exists()  # ModelCheckpoint found val_fid in the logs.
    # The same fixed noise every time: recomputing the last epoch's value reproduces it.
    again = evaluation.evaluate(gan, x[:400], metrics=["fid"], num_samples=200, verbose=0)
    assert again["fid"] == pytest.approx(monitor.history[-1][1], rel=1e-6)
    assert monitor.mode == "min"
    assert tfgan_kit.FIDMonitor(x, metric="coverage").mode == "max"
    with pytest.raises(ValueError, match="metric='IS'"):
        tfgan_kit.FIDMonitor(x, metric="IS")
