"""Process-wide switches: precision policies run, variables stay float32, float16 is
loss-scaled, no retracing; the same seed gives identical weights."""


import keras
import numpy as np
import pytest
from conftest import assert_same, tiny_gan, values

import tfgan_kit
from tfgan_kit import runtime as precision
from tfgan_kit.callbacks.training_state import training_state

X = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_policies_train_with_float32_variables_and_outputs(policy):
    keras.mixed_precision.set_global_policy(policy)
    gan = tiny_gan()
    logs = gan.fit(X, batch_size=16, epochs=2, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert all(v.dtype == "float32" for v in gan.generator.weights + gan.discriminator.weights)
    assert gan.generator(np.zeros((2, 16), np.float32)).dtype == "float32"
    assert gan.generate(3, seed=0).dtype == np.float32
    is_scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer)
                 for o in (gan.d_optimizer, gan.g_optimizer)]
    assert is_scaled == [policy == "mixed_float16"] * 2


def test_float16_gradients_reach_both_optimizers_scaled_once(monkeypatch):
    """The gradients an LSO receives are the float32 gradients times its loss scale."""
    seen = []
    original = keras.optimizers.LossScaleOptimizer.apply_gradients

    def recording(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        seen.append((self.name, float(self.dynamic_scale),
                     float(np.sqrt(sum(np.sum(np.square(g.numpy().astype(np.float64)))
                                       for g, _ in grads_and_vars)))))
        return original(self, grads_and_vars)

    monkeypatch.setattr(keras.optimizers.LossScaleOptimizer, "apply_gradients", recording)

    def no_dropout_gan(**compile_kwargs):  # Dropout masks would differ between the twins.
        gan = tfgan_kit.GAN(tfgan_kit.dcgan_generator((8, 8, 1), 16, width=8),
                            tfgan_kit.dcgan_discriminator((8, 8, 1), width=8, dropout=0.0),
                            latent_dim=16, seed=0)
        gan.compile(run_eagerly=True, **compile_kwargs)
        return gan

    keras.mixed_precision.set_global_policy("mixed_float16")
    gan16 = no_dropout_gan(d_optimizer=keras.optimizers.SGD(0.0),
                           g_optimizer=keras.optimizers.SGD(0.0))
    keras.mixed_precision.set_global_policy("float32")
    gan32 = no_dropout_gan()
    for src, dst in ((gan16.generator, gan32.generator), (gan16.discriminator, gan32.discriminator)):
        dst.set_weights(src.get_weights())

    norms32 = {}
    original_apply = keras.optimizers.Adam.apply_gradients

    def recording32(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        norms32[self is gan32.d_optimizer] = float(np.sqrt(sum(
            np.sum(np.square(g.numpy().astype(np.float64))) for g, _ in grads_and_vars)))
        return original_apply(self, grads_and_vars)

    monkeypatch.setattr(keras.optimizers.Adam, "apply_gradients", recording32)
    gan16.train_on_batch(X[:16])
    gan32.train_on_batch(X[:16])
    assert [name for name, _, _ in seen] == ["d_loss_scale", "g_loss_scale"]
    for (name, scale, norm16), is_d in zip(seen, (True, False)):
        # float16 forward passes differ slightly from float32: compare within 2 %.
        np.testing.assert_allclose(norm16 / scale, norms32[is_d], rtol=0.02)


def test_auto_policy_follows_the_hardware():
    assert precision.auto_policy(cpu_flags={"avx2"}) == "float32"
    assert precision.auto_policy(cpu_flags={"avx2", "amx_bf16"}) == "mixed_bfloat16"
    assert precision.auto_policy(cpu_flags={"avx512_bf16"}) == "mixed_bfloat16"
    assert precision.auto_policy(gpu_capability=(8, 6)) == "mixed_bfloat16"
    assert precision.auto_policy(gpu_capability=(7, 0)) == "mixed_float16"
    assert tfgan_kit.set_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision='fp8'"):
        tfgan_kit.set_precision("fp8")


def test_train_step_is_traced_once_across_epochs():
    class CountingGAN(tfgan_kit.GAN):
        traces = 0

        def train_step(self, data):
            CountingGAN.traces += 1  # Python runs only while tracing.
            return super().train_step(data)

    gan = CountingGAN(tfgan_kit.dcgan_generator((8, 8, 1), 16, width=8),
                      tfgan_kit.dcgan_discriminator((8, 8, 1), width=8), latent_dim=16)
    gan.compile()
    gan.fit(tfgan_kit.load_dataset("digits", batch_size=64, limit=256), epochs=3, verbose=0)
    assert CountingGAN.traces == 1


def _seeded_run(seed):
    tfgan_kit.set_seed(seed)
    data = tfgan_kit.load_dataset("digits", batch_size=32, seed=seed, limit=128)
    gan = tiny_gan(seed=None)  # Initial weights and noise come from set_seed alone.
    gan.fit(data, epochs=2, verbose=0)
    return gan


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_another_seed_different_ones():
    first, again, other = _seeded_run(4), _seeded_run(4), _seeded_run(5)
    for key, variables in training_state(first).items():
        assert_same(values(variables), values(training_state(again)[key]))
    for a, b in zip(first.trainable_weights, other.trainable_weights):
        assert not np.array_equal(a.numpy(), b.numpy()), a.path
    with pytest.raises(ValueError, match="seed=-1"):
        tfgan_kit.set_seed(-1)
