"""Distribution: 2 replicas, and 2 worker processes, train exactly like one device.

The training runs happen in subprocesses (tests/distribute_worker.py), because the
logical CPU devices and a multi-worker strategy must be set up before TensorFlow
touches a device. All three processes (one with 2 logical CPUs, two multi-worker
workers on 127.0.0.1) start together once per module, bounded by a timeout.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import tfgan_kit
from tfgan_kit import distribute

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distribute_worker.py")
TIMEOUT = 420  # s for all three processes; they use ~45 s of CPU in all (measured, loaded machine).
METRICS = tfgan_kit.gan.METRIC_NAMES
# Measured parity error (4 SGD steps, global batch 16): weights 1.5e-8, logs 1.2e-7.
WEIGHT_ATOL, LOG_ATOL = 1e-6, 1e-5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{'mirrored' | 'worker0' | 'worker1': (returncode, output tail, results or None)}."""
    out = tmp_path_factory.mktemp("distribute")
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    jobs = {"mirrored": ("mirrored", None)}
    for i in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
        jobs[f"worker{i}"] = ("multi_worker", json.dumps(config))
    procs = {}
    for name, (mode, tf_config) in jobs.items():
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        if tf_config:
            env["TF_CONFIG"] = tf_config
        procs[name] = subprocess.Popen(
            [sys.executable, WORKER, mode, str(out / f"{name}.npz")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    deadline = time.monotonic() + TIMEOUT
    results = {}
    try:
        for name, proc in procs.items():
            try:
                output, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
                output += f"\n[killed after the {TIMEOUT} s limit]"
            path = out / f"{name}.npz"
            loaded = dict(np.load(path)) if proc.returncode == 0 and path.exists() else None
            results[name] = (proc.returncode, output[-3000:], loaded)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def _results(runs, name):
    returncode, output, loaded = runs[name]
    assert returncode == 0 and loaded is not None, f"{name} failed ({returncode}):\n{output}"
    return loaded


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["none", "sync_batch"])
def test_two_replicas_match_one_device_weights_and_logged_metrics(runs, norm):
    r = _results(runs, "mirrored")
    assert int(r["replicas"]) == 2
    np.testing.assert_array_equal(r[f"{norm}/one/initial"], r[f"{norm}/two/initial"])
    one, two = r[f"{norm}/one/weights"], r[f"{norm}/two/weights"]
    np.testing.assert_allclose(two, one, rtol=0, atol=WEIGHT_ATOL)
    # Logged d_loss, g_loss, D(x), D(G(z)), accuracies: global means, not one replica's
    # and not divided by the replica count (keras #15509).
    np.testing.assert_allclose(r[f"{norm}/two/logs"], r[f"{norm}/one/logs"], rtol=0, atol=LOG_ATOL)
    assert r[f"{norm}/one/logs"].shape == (4, len(METRICS))
    # Both replicas advanced the shared noise seed once per step, like one device.
    np.testing.assert_array_equal(r[f"{norm}/two/seed_state"], r[f"{norm}/one/seed_state"])


@pytest.mark.slow
def test_parity_tolerance_rejects_a_loss_scaled_twice_or_not_at_all(runs):
    """Under SGD a gradient scaled by 1/2 (twice) or 2 (not at all) is lr/2 or 2 lr."""
    r = _results(runs, "mirrored")
    parity = np.abs(r["none/two/weights"] - r["none/one/weights"]).max()
    for factor in (0.5, 2.0):
        wrong = np.abs(r[f"none/one/lr_x{factor}/weights"] - r["none/one/weights"]).max()
        assert wrong > 1000 * WEIGHT_ATOL > 1000 * parity, (factor, wrong, parity)


@pytest.mark.slow
def test_replicas_draw_different_slices_of_one_devices_noise(runs):
    r = _results(runs, "mirrored")
    halves = r["replica_images"]
    assert halves.shape == (2, 8, 8, 8, 1)
    assert np.abs(halves[0] - halves[1]).max() > 0.1  # not the same noise on both replicas
    np.testing.assert_allclose(np.concatenate(list(halves)), r["one_device"], atol=1e-5)


@pytest.mark.slow
def test_two_worker_processes_agree_and_match_one_device(runs):
    workers = [_results(runs, f"worker{i}") for i in range(2)]
    assert [int(w["replicas"]) for w in workers] == [2, 2]
    np.testing.assert_array_equal(workers[0]["none/worker/weights"], workers[1]["none/worker/weights"])
    np.testing.assert_array_equal(workers[0]["none/worker/logs"], workers[1]["none/worker/logs"])
    reference = _results(runs, "mirrored")
    np.testing.assert_array_equal(workers[0]["none/worker/initial"], reference["none/one/initial"])
    np.testing.assert_allclose(
        workers[0]["none/worker/weights"], reference["none/one/weights"], rtol=0, atol=WEIGHT_ATOL
    )
    np.testing.assert_allclose(
        workers[0]["none/worker/logs"], reference["none/one/logs"], rtol=0, atol=LOG_ATOL
    )


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["none", "sync_batch"])
def test_imbalance_monitor_reads_global_values_under_two_replicas(runs, norm):
    r = _results(runs, "mirrored")
    if f"{norm}/one/imbalance_events" not in r:
        pytest.skip("tfgan_kit.ImbalanceMonitor does not exist in this tree.")
    one, two = r[f"{norm}/one/imbalance_events"], r[f"{norm}/two/imbalance_events"]
    assert one.shape == (1, 5) and one[0, 0] == 2  # Fired after 2 batches (window=2).
    # What it read: the means over batches 1-2, i.e. the running means logged at batch 2,
    # the same as on one device (not one replica's half, not divided by 2).
    columns = [METRICS.index(k) for k in ("d_real", "d_fake", "d_acc_real", "d_acc_fake")]
    np.testing.assert_allclose(one[0, 1:], r[f"{norm}/one/logs"][1, columns], atol=1e-4)
    np.testing.assert_allclose(two, one, atol=1e-4)


@pytest.mark.slow
def test_imbalance_monitor_reads_global_values_under_two_workers(runs):
    reference = _results(runs, "mirrored")
    if "none/one/imbalance_events" not in reference:
        pytest.skip("tfgan_kit.ImbalanceMonitor does not exist in this tree.")
    for i in range(2):
        events = _results(runs, f"worker{i}")["none/worker/imbalance_events"]
        np.testing.assert_allclose(events, reference["none/one/imbalance_events"], atol=1e-4)


# ----------------------------------------------------------------- in process


def test_strategy_from_name():
    assert distribute.strategy_from_name("default") is tf.distribute.get_strategy()
    mirrored = distribute.strategy_from_name("mirrored", devices=["/cpu:0"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 1
    assert not distribute.is_multi_worker(mirrored)
    with pytest.raises(ValueError, match="name='gpus'.*'default', 'mirrored', 'multi_worker', 'tpu'"):
        distribute.strategy_from_name("gpus")
    with pytest.raises(ValueError, match="devices only apply to 'mirrored'"):
        distribute.strategy_from_name("default", devices=["/cpu:0"])
    with pytest.raises(RuntimeError, match="found no TPU"):
        distribute.strategy_from_name("tpu")


@pytest.mark.parametrize(
    "tf_config,match",
    [
        ("{not json", "not valid JSON"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "expected {'cluster'"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}',
         "has 1 'worker' address"),
    ],
)
def test_multi_worker_refuses_a_malformed_tf_config(monkeypatch, tf_config, match):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=match):
        distribute.strategy_from_name("multi_worker")


class _Replicas:
    def __init__(self, n):
        self.num_replicas_in_sync = n


def test_check_dataset_refuses_batches_replicas_would_split_unevenly():
    x = np.zeros((20, 8, 8, 1), np.float32)
    even = tf.data.Dataset.from_tensor_slices(x).batch(8, drop_remainder=True)
    assert distribute.check_dataset(even, _Replicas(2)) == 8
    assert distribute.check_dataset(tfgan_kit.load_dataset("digits", batch_size=32)) == 32
    with pytest.raises(ValueError, match="batch size is unknown.*drop_remainder=True"):
        distribute.check_dataset(tf.data.Dataset.from_tensor_slices(x).batch(8), _Replicas(2))
    labelled = tf.data.Dataset.from_tensor_slices((x, np.zeros(20))).batch(6, drop_remainder=True)
    with pytest.raises(ValueError, match="global batch size 6 is not divisible by the 4 replicas"):
        distribute.check_dataset(labelled, _Replicas(4))


def test_sync_batch_generator_uses_synchronized_batch_norm():
    generator = tfgan_kit.dcgan_generator((8, 8, 1), 8, width=4, norm="sync_batch")
    norms = [l for l in generator.layers if "batch_normalization" in l.name]
    assert norms and all(l.synchronized for l in norms)
    # Outside any strategy it normalizes like ordinary batch norm.
    plain = tfgan_kit.dcgan_generator((8, 8, 1), 8, width=4, norm="batch")
    plain.set_weights(generator.get_weights())
    z = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    np.testing.assert_allclose(generator(z, training=True), plain(z, training=True), atol=1e-5)
