"""The compiled time loop: one ``tf.while_loop`` advances the whole network by a chunk
of steps, with no Python per step.

Step k -> k+1, in order:
 1. synaptic arrivals due at step k are taken from the delay ring and added to the
    exponential conductances (exact: g <- g * exp(-dt/tau) + arrivals);
 2. every surrogate batch advances v_k -> v_{k+1} (XLA-compiled cell update);
 3. a cell spikes at t_{k+1} when v crosses its threshold upwards; spike sources
    (Poisson, arrays) emit their spikes for t_{k+1};
 4. the synapses of the neurons that spiked are looked up (CSR) and their weights
    added to the ring slot of step k+1+delay;
 5. requested samples and spikes are written to per-chunk buffers.
"""

import tensorflow as tf


def _dense_update(models, n_poisson, seed):
    """The fixed-shape part of one step, compiled with XLA: conductances, every
    surrogate batch, threshold crossings and Poisson sources."""

    @tf.function(jit_compile=True, reduce_retracing=True)
    def update(k, arrivals, state, const):
        n_cells = tf.shape(state["g_exc"])[0]
        g_exc = state["g_exc"] + arrivals[:n_cells]
        g_inh = state["g_inh"] + arrivals[n_cells:]
        new_v, new_models = [], []
        for (cell, start, stop, _), ms in zip(models, state["models"]):
            zeros = tf.zeros_like(g_exc[start:stop])
            inputs = tf.stack([g_exc[start:stop], g_inh[start:stop],
                               const["e_rev_E"][start:stop], const["e_rev_I"][start:stop],
                               const["i_ext"][start:stop], zeros, zeros], axis=1)
            v, (v, buf, h, c) = cell(inputs, list(ms))
            new_v.append(v[:, 0])
            new_models.append((v, buf, h, c))
        v_old = state["v"]
        v_new = tf.concat(new_v, 0) if new_v else v_old
        cell_spikes = (v_old < const["threshold"]) & (v_new >= const["threshold"])
        k1 = k + 1
        u = tf.random.stateless_uniform([n_poisson], seed=tf.stack(
            [tf.constant(seed, tf.int64), k1]))
        poisson = (u < const["p_spike"]) & (k1 >= const["p_start"]) & (k1 < const["p_stop"])
        # decay to t_{k+1} (arrivals at k+1 are added at the next step)
        state = {"v": v_new, "g_exc": g_exc * const["decay_E"],
                 "g_inh": g_inh * const["decay_I"], "models": new_models}
        return state, tf.concat([cell_spikes, poisson], 0)

    return update


class ChunkRunner:
    """Builds and runs the compiled chunk function for one network layout.

    ``models`` is a list of (cell, start, stop, threshold): the surrogate batches in
    cell space. ``signals`` is a list of (variable, global cell indices,
    sampling_steps); ``spike_index`` the global neuron indices whose spikes are kept.
    """

    def __init__(self, models, n_cells, n_poisson, n_array, ring_slots, signals,
                 spike_index, seed):
        self.models = models
        self.n_cells, self.n_poisson, self.n_array = n_cells, n_poisson, n_array
        self.ring = tf.Variable(tf.zeros((ring_slots, 2 * n_cells)), trainable=False)
        self.signals = signals
        self.spike_index = tf.constant(spike_index, tf.int64)
        self.seed = int(seed)
        self.update = _dense_update(models, n_poisson, self.seed)
        self.run_chunk = tf.function(self._run_chunk, reduce_retracing=True)

    def reset_ring(self):
        self.ring.assign(tf.zeros_like(self.ring))

    def _run_chunk(self, k0, n_steps, state, const):
        """Advance steps k0 .. k0 + n_steps; returns new state and recorded data."""
        ring = self.ring
        slots = tf.cast(tf.shape(ring)[0], tf.int64)
        n_cells = self.n_cells
        signal_arrays = [tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                        element_shape=[len(idx)])
                         for _, idx, _ in self.signals]
        spike_array = tf.TensorArray(tf.bool, size=n_steps)

        def body(i, state, signal_arrays, spike_array):
            k = k0 + tf.cast(i, tf.int64)
            slot = k % slots
            arrivals = ring[slot]
            ring.scatter_update(tf.IndexedSlices(tf.zeros((1, 2 * n_cells)), slot[None]))
            dense = {name: const[name] for name in ("e_rev_E", "e_rev_I", "i_ext", "threshold",
                                           "decay_E", "decay_I", "p_spike", "p_start",
                                           "p_stop")}
            state, spikes = self.update(k, arrivals, state, dense)
            k1 = k + 1
            lo = tf.searchsorted(const["array_steps"], k1[None], side="left")[0]
            hi = tf.searchsorted(const["array_steps"], k1[None], side="right")[0]
            fired = const["array_index"][lo:hi]
            arrays = tf.scatter_nd(fired[:, None], tf.ones_like(fired, tf.bool),
                                   [self.n_array]) if self.n_array else tf.zeros([0], tf.bool)
            spikes = tf.concat([spikes, arrays], 0)
            # transmission: synapses of the neurons that spiked -> ring slot k1 + delay
            who = tf.where(spikes)[:, 0]
            first = tf.gather(const["row_ptr"], who)
            last = tf.gather(const["row_ptr"], who + 1)
            syn = tf.ragged.range(first, last).flat_values
            when = (k1 + tf.gather(const["syn_delay"], syn)) % slots
            ring.scatter_nd_add(tf.stack([when, tf.gather(const["syn_target"], syn)], 1),
                                tf.gather(const["syn_weight"], syn))
            values = {"v": state["v"], "gsyn_exc": state["g_exc"], "gsyn_inh": state["g_inh"]}
            signal_arrays = [
                tf.cond(k1 % every == 0,
                        lambda ta=ta, var=var, idx=idx, every=every: ta.write(
                            tf.cast(k1 // every - (k0 // every + 1), tf.int32),
                            tf.gather(values[var], idx)),
                        lambda ta=ta: ta)
                for ta, (var, idx, every) in zip(signal_arrays, self.signals)]
            spike_array = spike_array.write(i, tf.gather(spikes, self.spike_index))
            return i + 1, state, signal_arrays, spike_array

        _, state, signal_arrays, spike_array = tf.while_loop(
            lambda i, *_: i < n_steps, body,
            (tf.constant(0), state, signal_arrays, spike_array))
        return state, [ta.stack() for ta in signal_arrays], spike_array.stack()
