"""The compiled time loop: one XLA-compiled ``tf.while_loop`` advances the whole
network by a chunk of steps, with no Python and no dynamic shapes per step.

Step k -> k+1, in order:
 1. synaptic arrivals due at step k are taken from the delay ring and added to the
    synaptic kernels (exponential, alpha or delta; exact, see ``cell_rules``);
 2. every surrogate batch advances v_k -> v_{k+1}; the exact rules of
    ``cell_rules`` (reset, refractory clamp, spike-triggered conductances) follow;
 3. a cell spikes at t_{k+1} when v crosses its threshold upwards; spike sources
    (Poisson, arrays) emit their spikes for t_{k+1};
 4. the synapses of the neurons that spiked are looked up (CSR) and their weights
    added to the ring slot of step k+1+delay. Spiking neurons are compacted into
    blocks of ``spike_block`` (a prefix sum, not a dynamic-size ``where``) and each
    block's synapses gathered as a (spike_block x max_fanout) tile, so the cost
    follows the number of spikes, and a step with many spikes just takes more blocks;
 5. STDP synapses (``stdp``, tables in ``stdp_tables``), from a history of recent
    spikes: presynaptic events at their adjusters, then postsynaptic events, then
    the arrivals due at step k+1, which add the current weights to the ring; the same
    compaction and tiles, over the neurons that spiked one lag ago;
 6. requested samples and spikes are written into fixed-size chunk buffers.
"""

from types import SimpleNamespace

import tensorflow as tf
from keras import ops as keras_ops
from tensorflow.compiler.tf2xla.python import xla

from ..surrogates import if_family, izhikevich
from . import short_term_plasticity as stp
from . import stdp as stdp_rule

TILE = 512  # synapses gathered per block of spikes
_TF_OPS = SimpleNamespace(exp=tf.exp, where=tf.where, abs=tf.abs, pow=tf.pow,
                          clip=tf.clip_by_value, zeros_like=tf.zeros_like,
                          to_float=lambda x: tf.cast(x, tf.float32))


class ChunkRunner:
    """Builds and runs the compiled chunk function for one network layout.

    ``models`` is a list of (cell, start, stop, kind): the surrogate batches in cell
    space; kind "membrane" (integrate-and-fire, inputs from ``if_family``),
    "izhikevich" (its own spike and reset rule, ``izhikevich``) or "hh".
    ``signals`` is a list of (variable, global cell indices, sampling_steps);
    ``spike_index`` the global neuron indices whose spikes are kept; ``senders``
    the (start, stop, max fan-out) of each group of presynaptic neurons; ``stdp``
    None or {"history": steps of spike history, "n": synapses,
    "passes": {name: (rows' neurons, lags, fan)}} (see ``stdp_tables``); the STDP
    state arrays have one padding entry after the n synapses.
    """

    def __init__(self, models, n_cells, n_poisson, n_array, ring_slots, signals,
                 spike_index, seed, senders, injected=(), dt=0.1, plastic=False, stdp=None):
        self.models = models
        self.plastic = plastic  # synapses with Tsodyks-Markram dynamics
        self.stdp = stdp
        self.history = None  # recent spikes of every neuron, for STDP
        if stdp is not None:
            self.history = tf.Variable(tf.zeros((stdp["history"], n_cells + n_poisson
                                                 + n_array), tf.bool), trainable=False)
        self.dt = float(dt)
        self.n_cells, self.n_poisson, self.n_array = n_cells, n_poisson, n_array
        self.n_total = n_cells + n_poisson + n_array
        self.slots = ring_slots
        self.ring = tf.Variable(tf.zeros((ring_slots * 2 * n_cells,)), trainable=False)
        self.signals = signals
        self.spike_index = tf.constant(spike_index, tf.int64)
        self.seed = int(seed)
        # (start, stop, max fan-out) of each presynaptic group in neuron space
        self.senders = [(a, b, int(f)) for a, b, f in senders if f > 0]
        self.injected = tf.constant(injected, tf.int64)  # cells with injected current
        self._compiled = {}

    def reset_ring(self):
        self.ring.assign(tf.zeros_like(self.ring))
        if self.history is not None:
            self.history.assign(tf.zeros_like(self.history))

    def run_chunk(self, k0, n_steps, state, const, array_events, injection):
        """Advance steps k0 .. k0 + n_steps (a Python int: one compilation per size).

        ``array_events`` (n_steps x E) lists the array-source spikes of each step
        (index ``n_array`` pads); ``injection`` (n_steps x T) the injected current of
        the cells ``injected``. Returns the new state, per-signal sample buffers
        (rows beyond the chunk's samples are padding) and the spike buffer.
        """
        if n_steps not in self._compiled:
            self._compiled[n_steps] = tf.function(
                lambda k0, state, const, events, inj: self._run(k0, n_steps, state, const,
                                                                events, inj),
                jit_compile=True)
        state, ring, history, samples, spikes = self._compiled[n_steps](
            k0, state, const, array_events, injection)
        self.ring.assign(ring)
        if self.history is not None:
            self.history.assign(history)
        return state, samples, spikes

    # -- pieces of one step ---------------------------------------------------
    def _advance_cells(self, k, state, arrivals, const, injected):
        n = self.n_cells
        c = const
        i_ext = c["i_ext"]
        if len(self.injected):
            i_ext = tf.tensor_scatter_nd_add(i_ext, self.injected[:, None], injected)
        arr_e, arr_i = arrivals[:n], arrivals[n:]
        g_exc = state["g_exc"] + arr_e * c["kick_g_E"]
        g_inh = state["g_inh"] + arr_i * c["kick_g_I"]
        x_exc = state["x_exc"] + arr_e * c["kick_x_E"]
        x_inh = state["x_inh"] + arr_i * c["kick_x_I"]
        refrac = state["refrac"]  # ms of clamp left, from t_k
        refractory = refrac > 0
        v = state["v"] + tf.where(refractory, 0.0, c["delta"] * (arr_e + arr_i))
        new_v, new_models, monitor_a, monitor_b = [], [], [], []
        own_rule = {}  # start -> (u, spikes) of cells with their own spike/reset rule
        for (cell, start, stop, kind), ms in zip(self.models, state["models"]):
            sl = slice(start, stop)
            ones = tf.ones_like(v[sl])
            if kind in ("membrane", "exp_membrane"):
                params = {key: c[key][sl] for key in (
                    "cm", "tau_m", "v_rest", "e_rev_E", "e_rev_I", "e_rev_sfa", "e_rev_rr",
                    "delta_T", "v_thresh")}
                params["i_offset"] = i_ext[sl] - state["w"][sl]
                mean = lambda g, x, key: (c["mean_g_" + key][sl] * g[sl]  # noqa: E731
                                          + c["mean_x_" + key][sl] * x[sl])
                v_inf, rate = if_family.membrane_inputs(
                    mean(g_exc, x_exc, "E"), mean(g_inh, x_inh, "I"),
                    c["mean_s"][sl] * state["g_s"][sl], c["mean_r"][sl] * state["g_r"][sl],
                    params, c["conductance"][sl])
                columns = [v_inf, rate]
                if kind == "exp_membrane":
                    columns += [params["delta_T"], params["v_thresh"], params["tau_m"]]
                inputs = tf.stack(columns + [v[sl], ones], axis=1)
                monitor_a.append(rate)
                monitor_b.append(tf.abs(v_inf - v[sl]))
            elif kind == izhikevich.KIND:  # u is kept in w; jumps are already in v
                current = izhikevich.current(i_ext[sl])
                inputs = tf.stack([current, state["w"][sl], c["izh_a"][sl], c["izh_b"][sl],
                                   0.0 * ones, v[sl], ones], axis=1)
                monitor_a.append(-v[sl])
                monitor_b.append(tf.abs(state["w"][sl]))
            else:
                inputs = tf.stack([g_exc[sl], g_inh[sl], c["e_rev_E"][sl], c["e_rev_I"][sl],
                                   i_ext[sl], v[sl], ones], axis=1)
                monitor_a.append(g_exc[sl])
                monitor_b.append(g_inh[sl])
            out, (_, buf, h, cc) = cell(inputs, list(ms))
            if kind == izhikevich.KIND:  # its own spike and reset rule, and u
                v_end, u_end, spiked = izhikevich.spike_and_reset(
                    v[sl], out[:, 0], state["w"][sl], current, c["izh_a"][sl],
                    c["izh_b"][sl], c["v_reset"][sl], c["izh_d"][sl], self.dt, xp=keras_ops)
                out = v_end[:, None]
                own_rule[start] = (u_end, spiked)
            new_v.append(out[:, 0])
            new_models.append((out, buf, h, cc))
        v_pred = tf.concat(new_v, 0) if new_v else v
        threshold = c["threshold"]
        resets = c["reset"] > 0
        dt = self.dt
        clamped = refrac >= dt * (1 - 1e-4)
        free_from = tf.where(clamped, dt, refrac)  # the clamp ends this far into the step
        v_pred = v + (1.0 - free_from / dt) * (v_pred - v)
        spikes = (~clamped & (v_pred >= threshold)
                  & (resets | (v < threshold)))  # reset models: at or above threshold
        # crossing time within the free part of the step, by linear interpolation
        crossing = tf.clip_by_value(
            tf.math.divide_no_nan(threshold - v, v_pred - v), 0.0, 1.0)
        clamp_left = c["tau_refrac"] - (1.0 - crossing) * (dt - free_from)
        v_new = tf.where(resets & (spikes | clamped), c["v_reset"], v_pred)
        refrac = tf.where(spikes & resets, tf.maximum(clamp_left, 0.0),
                          tf.maximum(refrac - dt, 0.0))
        fired = tf.cast(spikes, tf.float32)
        peak = lambda old, parts: tf.maximum(old, tf.concat(parts, 0)) if parts else old  # noqa
        # decay to t_{k+1}; arrivals due at k+1 are added at the next step
        carried = {key: state[key] for key in ("stp", "stdp") if key in state}
        state = {"v": v_new, "refrac": refrac, "models": new_models, **carried,
                 "g_exc": (g_exc + c["alpha_dt_E"] * x_exc) * c["decay_E"],
                 "g_inh": (g_inh + c["alpha_dt_I"] * x_inh) * c["decay_I"],
                 "x_exc": x_exc * c["decay_E"], "x_inh": x_inh * c["decay_I"],
                 "w": (state["w"] * c["decay_w"] + fired * c["b"] + c["a"] * (
                     0.5 * (v + tf.minimum(v_pred, threshold)) - c["v_rest"])
                     * (1.0 - c["decay_w"])),
                 "g_s": state["g_s"] * c["decay_s"] + fired * c["q_sfa"],
                 "g_r": state["g_r"] * c["decay_r"] + fired * c["q_rr"],
                 "peak_a": peak(state["peak_a"], monitor_a),
                 "peak_b": peak(state["peak_b"], monitor_b)}
        if own_rule:  # generic rules are neutral for these cells: take theirs
            parts = [own_rule.get(start, (state["w"][start:stop], spikes[start:stop]))
                     for _, start, stop, _ in self.models]
            state["w"] = tf.concat([u for u, _ in parts], 0)
            spikes = tf.concat([spiked for _, spiked in parts], 0)
        return state, spikes

    def _sources(self, k1, const, events):
        u = tf.random.stateless_uniform(
            [self.n_poisson], seed=tf.stack([tf.constant(self.seed, tf.int64), k1]))
        poisson = (u < const["p_spike"]) & (k1 >= const["p_start"]) & (k1 < const["p_stop"])
        arrays = tf.scatter_nd(events[:, None], tf.ones_like(events, tf.bool),
                               [self.n_array + 1])[:self.n_array]
        return poisson, arrays

    def _tiles(self, active, row_ptr, fan, body, carry):
        """``carry = body(pos, mask, carry)`` for the rows where ``active``: rows are
        compacted into blocks (prefix sum) and each block's entries ``row_ptr[r] + j``
        (j < fan) gathered as a (block x fan) tile; ``mask`` marks real entries."""
        n_rows = int(active.shape[0])
        block = max(1, min(n_rows, TILE // fan))
        active_i = tf.cast(active, tf.int32)
        order = tf.cumsum(active_i) - 1  # rank of each active row
        count = tf.reduce_sum(active_i)
        rows = tf.range(n_rows, dtype=tf.int32)
        offsets = tf.range(fan, dtype=tf.int64)[None, :]

        def one_block(b, carry):
            lo = b * block
            mine = (active_i > 0) & (order >= lo) & (order < lo + block)
            slot = tf.where(mine, order - lo, block)
            who = tf.scatter_nd(slot[:, None], rows, [block + 1])[:block]
            valid = tf.range(block) < count - lo
            first = tf.gather(row_ptr, who)
            length = tf.where(valid, tf.gather(row_ptr, who + 1) - first, 0)
            mask = offsets < length[:, None]
            pos = tf.where(mask, first[:, None] + offsets, 0)
            return b + 1, body(pos, mask, carry)

        n_blocks = (count + block - 1) // block
        _, carry = tf.while_loop(lambda b, *_: b < n_blocks, one_block, (0, carry))
        return carry

    def _transmit(self, ring, syn_state, k1, spikes, const, start, stop, fan):
        """Add the weights of the synapses of neurons start..stop that spiked; with
        short-term plasticity, the effective weights and the synapses' new state."""
        n_slots = tf.constant(self.slots, tf.int64)
        width = tf.constant(2 * self.n_cells, tf.int64)

        def send(syn, mask, carry):
            ring, syn_state = carry
            weight = tf.where(mask, tf.gather(const["syn_weight"], syn), 0.0)
            delay = tf.gather(const["syn_delay"], syn)
            if self.plastic:
                weight, syn_state = self._plastic_weights(weight, syn, mask, k1 + delay,
                                                          syn_state, const)
            where = ((k1 + delay) % n_slots) * width + tf.gather(const["syn_target"], syn)
            ring = tf.tensor_scatter_nd_add(ring, tf.reshape(where, (-1, 1)),
                                            tf.reshape(weight, (-1,)))
            return ring, syn_state

        return self._tiles(spikes[start:stop], const["row_ptr"][start:stop + 1], fan, send,
                           (ring, syn_state))

    def _plastic_weights(self, weight, syn, mask, arrival_step, syn_state, const):
        """Tsodyks-Markram: effective weights of a tile and the updated synapse state."""
        on = mask & (tf.gather(const["stp_on"], syn) > 0)
        t = tf.cast(arrival_step, tf.float32) * self.dt
        old = {k: tf.gather(syn_state[k], syn) for k in stp.STATE}
        params = {k: tf.gather(const[f"stp_{k}"], syn) for k in stp.PARAMETERS}
        effective, new = stp.arrive(_TF_OPS, weight, t, old, params,
                                    tf.gather(const["stp_tau_syn"], syn))
        weight = tf.where(on, effective, weight)
        index = tf.reshape(tf.where(on, syn, tf.shape(syn_state["u"], tf.int64)[0]), (-1, 1))
        syn_state = {k: tf.tensor_scatter_nd_update(  # the padding row absorbs misses
            tf.concat([syn_state[k], [0.0]], 0), index, tf.reshape(new[k], (-1,)))[:-1]
            for k in stp.STATE}
        return weight, syn_state

    def _stdp_step(self, k1, spikes, history, syn_state, ring, const):
        """STDP at step k1: record the spikes, then presynaptic events, postsynaptic
        events and arrivals (in this order at equal times; see ``stdp``)."""
        length = self.stdp["history"]
        history = tf.tensor_scatter_nd_update(history, [[k1 % length]], spikes[None, :])

        def active(name):
            _, lags, _ = self.stdp["passes"][name]
            # tf.gather, not indexing: a strided slice would make XLA specialise on k0
            past = [tf.gather(tf.gather(history, (k1 - lag) % length),
                              const[f"stdp_{name}_neurons"]) for lag in lags]
            return tf.reshape(tf.stack(past, axis=1), [-1])  # row = neuron x lags + lag

        def events(name, rule):
            def update(pos, mask, state):
                syn = tf.gather(const[f"stdp_{name}_syn"], pos)
                old = {k: tf.gather(state[k], syn) for k in stdp_rule.STATE}
                cols = {k: tf.gather(const["stdp_" + k], syn) for k in stdp_rule.COLUMNS}
                new = rule(_TF_OPS, old, k1, self.dt, cols)
                # the state's last entry pads: it absorbs the misses
                index = tf.reshape(tf.where(mask, syn, self.stdp["n"]), (-1, 1))
                return {k: tf.tensor_scatter_nd_update(state[k], index,
                                                       tf.reshape(new[k], (-1,)))
                        for k in stdp_rule.STATE}
            return update

        for name, rule in (("pre", stdp_rule.on_pre), ("post", stdp_rule.on_post)):
            if self.stdp["passes"][name][1]:
                syn_state = self._tiles(active(name), const[f"stdp_{name}_row_ptr"],
                                        max(1, self.stdp["passes"][name][2]),
                                        events(name, rule), syn_state)
        slot = (k1 % self.slots) * (2 * self.n_cells)

        def arrive(pos, mask, ring):
            syn = tf.gather(const["stdp_arrive_syn"], pos)
            weight = tf.where(mask, tf.gather(syn_state["w"], syn), 0.0)
            where = slot + tf.gather(const["stdp_target"], syn)
            return tf.tensor_scatter_nd_add(ring, tf.reshape(where, (-1, 1)),
                                            tf.reshape(weight, (-1,)))

        ring = self._tiles(active("arrive"), const["stdp_arrive_row_ptr"],
                           max(1, self.stdp["passes"]["arrive"][2]), arrive, ring)
        return history, syn_state, ring

    # -- the chunk --------------------------------------------------------------
    def _run(self, k0, n_steps, state, const, events, injection):
        width = 2 * self.n_cells
        n_slots = tf.constant(self.slots, tf.int64)
        buffers = [tf.zeros((n_steps // every + 2, len(idx))) for _, idx, every in self.signals]
        spike_buffer = tf.zeros((n_steps, len(self.spike_index)), tf.bool)
        first_sample = [k0 // every + 1 for _, _, every in self.signals]

        def body(i, state, ring, history, buffers, spike_buffer):
            k = k0 + tf.cast(i, tf.int64)
            k1 = k + 1
            start = tf.cast((k % n_slots) * width, tf.int32)
            arrivals = xla.dynamic_slice(ring, [start], [width])
            ring = xla.dynamic_update_slice(ring, tf.zeros((width,)), [start])
            state, cell_spikes = self._advance_cells(k, state, arrivals, const, injection[i])
            poisson, arrays = self._sources(k1, const, events[i])
            spikes = tf.concat([cell_spikes, poisson, arrays], 0)
            syn_state = state.get("stp", {})
            for start, stop, fan in self.senders:
                ring, syn_state = self._transmit(ring, syn_state, k1, spikes, const, start,
                                                 stop, fan)
            if self.plastic:
                state = dict(state, stp=syn_state)
            if self.stdp is not None:
                history, stdp_state, ring = self._stdp_step(k1, spikes, history,
                                                            state["stdp"], ring, const)
                state = dict(state, stdp=stdp_state)
            values = {"v": state["v"], "gsyn_exc": state["g_exc"],
                      "gsyn_inh": state["g_inh"], "g_s": state["g_s"], "g_r": state["g_r"],
                      "w": state["w"], "u": state["w"]}
            new_buffers = []
            for buf, (var, idx, every), first in zip(buffers, self.signals, first_sample):
                row = tf.where(k1 % every == 0, k1 // every - first, n_steps // every + 1)
                new_buffers.append(xla.dynamic_update_slice(
                    buf, tf.gather(values[var], idx)[None, :], [tf.cast(row, tf.int32), 0]))
            if len(self.spike_index):
                spike_buffer = xla.dynamic_update_slice(
                    spike_buffer, tf.gather(spikes, self.spike_index)[None, :], [i, 0])
            return i + 1, state, ring, history, new_buffers, spike_buffer

        history = (tf.zeros((1, 0), tf.bool) if self.history is None
                   else self.history.read_value())
        _, state, ring, history, buffers, spike_buffer = tf.while_loop(
            lambda i, *_: i < n_steps, body,
            (tf.constant(0), state, self.ring.read_value(), history, buffers, spike_buffer))
        return state, ring, history, buffers, spike_buffer
