"""The tensor operations of the compiled loop that ``keras.ops`` does not cover, for
the Keras backend in use: TensorFlow (the default) or JAX (``KERAS_BACKEND=jax``).

Elementwise mathematics in the engine is written with ``keras.ops``; this module adds
compilation, ``while`` loops, dynamic slices, scatters and host transfers. Integer
tensors (steps, synapse and neuron indices) have the dtype :data:`INDEX`: int64 on
TensorFlow, int32 on JAX (whose default configuration has no 64-bit types; 2^31
steps or synapses are far beyond any network this engine runs).
"""

import keras
import numpy as np

NAME = keras.backend.backend()
SUPPORTED = ("tensorflow", "jax")

if NAME == "tensorflow":
    import tensorflow as tf
    from tensorflow.compiler.tf2xla.python import xla

    INDEX = "int64"

    def compile(fn):
        """``fn`` compiled by XLA (traced once per argument structure). No AutoGraph:
        the loop's control flow is explicit, and converting its Python code took
        seconds per compilation."""
        return tf.function(fn, jit_compile=True, autograph=False)

    def while_loop(cond, body, loop_vars):
        """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; returns a tuple."""
        return tuple(tf.while_loop(cond, body, tuple(loop_vars)))

    def dynamic_slice(x, start, size):
        return xla.dynamic_slice(x, start, size)

    def dynamic_update_slice(x, update, start):
        return xla.dynamic_update_slice(x, update, start)

    def scatter_add(x, index, values):
        """``x`` with ``values`` added at the flat positions ``index`` (repeats add up)."""
        return tf.tensor_scatter_nd_add(x, tf.reshape(index, (-1, 1)), tf.reshape(values, (-1,)))

    def scatter_set(x, index, values):
        """``x`` with ``values`` written at the flat positions ``index``."""
        return tf.tensor_scatter_nd_update(x, tf.reshape(index, (-1, 1)),
                                           tf.reshape(values, (-1,)))

    def gather(x, index):
        return tf.gather(x, index)

    def to_device(array, dtype):
        return tf.constant(array, dtype)

elif NAME == "jax":
    import jax
    import jax.numpy as jnp

    INDEX = "int32"

    def compile(fn):
        """``fn`` compiled by XLA (traced once per argument structure)."""
        return jax.jit(fn)

    def while_loop(cond, body, loop_vars):
        """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; returns a tuple."""
        return jax.lax.while_loop(lambda c: cond(*c), lambda c: tuple(body(*c)),
                                  tuple(loop_vars))

    def dynamic_slice(x, start, size):
        return jax.lax.dynamic_slice(x, [jnp.asarray(s, INDEX) for s in start], size)

    def dynamic_update_slice(x, update, start):
        return jax.lax.dynamic_update_slice(x, update, [jnp.asarray(s, INDEX) for s in start])

    def scatter_add(x, index, values):
        """``x`` with ``values`` added at the flat positions ``index`` (repeats add up)."""
        return x.at[jnp.reshape(index, (-1,))].add(jnp.reshape(values, (-1,)))

    def scatter_set(x, index, values):
        """``x`` with ``values`` written at the flat positions ``index``."""
        return x.at[jnp.reshape(index, (-1,))].set(jnp.reshape(values, (-1,)))

    def gather(x, index):
        return jnp.take(x, index, axis=0, mode="clip")

    def to_device(array, dtype):
        return jnp.asarray(array, dtype)

else:
    raise NotImplementedError(
        f"pyNN.ann's engine runs on the 'tensorflow' and 'jax' backends of Keras, not on "
        f"KERAS_BACKEND={NAME!r}; set KERAS_BACKEND to one of {SUPPORTED}")


def scatter_new(index, values, size):
    """A length-``size`` vector of zeros with ``values`` added at ``index``."""
    return scatter_add(keras.ops.zeros((size,), values.dtype), index, values)


def constant(array):
    """A host array on the device: floats as float32, integers as :data:`INDEX`,
    booleans as bool."""
    array = np.asarray(array)
    if array.dtype == bool:
        return to_device(array, "bool")
    if np.issubdtype(array.dtype, np.integer):
        return to_device(array, INDEX)
    return to_device(array, "float32")


def to_numpy(x):
    """A device tensor as a (writable) NumPy array."""
    return np.array(x)
