"""Counter-based random numbers: a uniform number is a hash of (seed, step, index).

Nothing is carried from step to step, so a result does not depend on how a simulation
is split into ``run()`` calls, and the same seed gives the same numbers on every Keras
backend (TensorFlow, JAX) and device. The hash is 32-bit integer mixing ("lowbias32",
C. Wellons) chained over the three keys; written with ``keras.ops`` on uint32 tensors,
whose multiplications wrap around on every backend.
"""

import numpy as np
from keras import ops

_M1, _M2 = 0x7FEB352D, 0x846CA68B
_GOLDEN = 0x9E3779B9


def _u32(x):
    if isinstance(x, int):  # a typed constant: JAX has no 64-bit integers by default
        return np.uint32(x & 0xFFFFFFFF)
    return ops.cast(x, "uint32")


def _mix(x):
    x = ops.bitwise_xor(x, ops.right_shift(x, _u32(16)))
    x = ops.multiply(x, _u32(_M1))
    x = ops.bitwise_xor(x, ops.right_shift(x, _u32(15)))
    x = ops.multiply(x, _u32(_M2))
    return ops.bitwise_xor(x, ops.right_shift(x, _u32(16)))


def fold_seed(seed):
    """A Python integer seed folded to 32 bits."""
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return (seed ^ (seed >> 32)) & 0xFFFFFFFF


def uniform(seed, step, index, stream=0):
    """Uniform numbers in [0, 1) (24 bits), one per entry of the integer tensor
    ``index``, for the integer scalar ``step``; ``stream`` separates independent uses
    of the same seed."""
    key = _mix(_u32(fold_seed(seed) ^ ((stream * _GOLDEN) & 0xFFFFFFFF)))
    key = _mix(ops.bitwise_xor(key, _u32(step)))
    bits = _mix(_mix(ops.bitwise_xor(key, _u32(index))))
    return ops.cast(ops.right_shift(bits, _u32(8)), "float32") * (1.0 / 16777216.0)
