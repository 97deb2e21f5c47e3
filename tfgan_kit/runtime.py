"""The process-wide switches: `set_seed` (repeatable runs) and `set_precision` (dtype policy).

Both change global state (random generators, op determinism, Keras' dtype
policy), so call them once at the start of a program, before building networks.

bfloat16 nearly doubles CPU throughput where the CPU has AMX or AVX512-BF16
(measured: ~1,000 vs ~550 images/s on the tutorial DCGAN), but on a CPU without
them TensorFlow emulates it and every step gets slower. `"auto"` therefore looks
at the hardware: bfloat16 on such CPUs and on GPUs of compute capability >= 8.0,
float16 (loss-scaled by `GAN.compile`) on older GPUs with tensor cores (7.x),
float32 otherwise.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def _cpu_flags(path: str = "/proc/cpuinfo") -> set:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _gpu_compute_capability() -> Optional[tuple]:
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability:
            return tuple(capability)
    return None


def auto_policy(cpu_flags: Optional[set] = None, gpu_capability: Optional[tuple] = None) -> str:
    """The fastest safe policy for this machine (arguments override detection, for tests)."""
    gpu = gpu_capability if gpu_capability is not None else _gpu_compute_capability()
    if gpu is not None:
        return "mixed_bfloat16" if gpu >= (8, 0) else "mixed_float16" if gpu >= (7, 0) else "float32"
    flags = cpu_flags if cpu_flags is not None else _cpu_flags()
    return "mixed_bfloat16" if flags & set(BF16_CPU_FLAGS) else "float32"


def set_precision(precision: str = "auto") -> str:
    """Sets Keras' global dtype policy and returns its name.

    Call it before building the networks: layers take the policy in force when
    they are created. The builders keep G's tanh and D's logits in float32.

    Args:
        precision: `"auto"`, `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`.
            Defaults to `"auto"`.
    """
    if precision not in POLICIES + ("auto",):
        raise ValueError(
            f"set_precision received precision={precision!r}; expected 'auto' or one of {POLICIES}."
        )
    policy = auto_policy() if precision == "auto" else precision
    keras.mixed_precision.set_global_policy(policy)
    return policy


def set_seed(seed: int) -> None:
    """Makes runs repeatable: the same `seed` gives bitwise-identical weights on CPU.

    Seeds Python's `random`, NumPy and TensorFlow (`keras.utils.set_random_seed`)
    and calls `tf.config.experimental.enable_op_determinism()`, which makes every
    TF op and `tf.data` pipeline deterministic (ops without a deterministic kernel
    then raise instead of varying). Call it once, before building the networks
    and the dataset. Determinism holds on one machine with one software version;
    another CPU, thread count or TF release may round differently.

    Examples:

    ```python
    tfgan_kit.set_seed(0)
    gan = tfgan_kit.GAN(generator, discriminator, latent_dim=64)
    ```
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed received seed={seed!r}; expected an int >= 0.")
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
