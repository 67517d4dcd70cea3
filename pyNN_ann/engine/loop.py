"""The compiled time loop: one XLA-compiled ``while`` loop advances the whole network
by a chunk of steps, with no Python and no dynamic shapes per step. It is written with
``keras.ops`` and the few primitives of ``backend``, so it runs on the TensorFlow and
the JAX backends of Keras alike.

Step k -> k+1, in order:
 1. synaptic arrivals due at step k are taken from the delay ring and added to the
    synaptic kernels (exponential, alpha, beta or delta, one per synaptic channel;
    exact, see ``cell_rules``);
 2. every surrogate batch advances v_k -> v_{k+1}; the exact rules of
    ``cell_rules`` (reset, refractory clamp, spike-triggered conductances) follow;
 3. a cell spikes in the step when v crosses its threshold upwards, at the crossing
    time (linear interpolation; ``spike_precision="off_grid"``, the default) or at
    t_{k+1} ("on_grid"); spike sources emit their spikes of the step (Poisson sources
    at a uniform time within it, arrays at their given times);
 4. the synapses of the neurons that spiked are looked up (CSR) and their weights
    added to the ring at the arrival time, spike time + delay: w (1 - f) in the slot
    of the step it falls in, w f in the second half's next slot, f its position
    within the step (kernels: step 1 propagates the step's arrivals from their mean
    time exactly, ``cell_rules.arrival_response``), or whole at the nearer grid point
    (voltage jumps); on the grid, at slot k+1+delay. Spiking neurons are compacted into
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

from keras import ops

from ..surrogates import hh_channels, if_family, izhikevich
from . import backend as B
from . import cell_rules, poisson
from . import escape_noise
from . import short_term_plasticity as stp
from . import stdp as stdp_rule
from . import stochastic_synapses as sto

TILE = 512  # synapses gathered per block of spikes
#: crossings within a step are looked for only where every synaptic kernel decays by
#: at most this much per step (dt / tau_syn): tau_syn >= 5 dt
GRAZING_MAX_RATE = 0.2
INDEX = B.INDEX
_OPS = SimpleNamespace(exp=ops.exp, where=ops.where, abs=ops.abs, pow=ops.power,
                       clip=ops.clip, zeros_like=ops.zeros_like,
                       to_float=lambda x: ops.cast(x, "float32"), sum=ops.sum,
                       uint32=lambda x: ops.cast(x, "uint32"),
                       bitwise_xor=ops.bitwise_xor, right_shift=ops.right_shift)


def _index(x):
    return ops.cast(x, INDEX)


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
    state arrays have one padding entry after the n synapses. ``stochastic`` None or
    {"kinds": the stochastic synapse kinds present, "n_max": most release sites}.
    ``escape`` is None or the number K of spike-triggered components of the GIF cells
    (``escape_noise``; state "eta", "gamma" and their columns are cells x K).
    ``channels`` is the number R of synaptic channels (2, more when a composed cell
    type has more named receptors): the delay ring holds R x n_cells targets per
    slot, channel r of cell i at r * n_cells + i.
    """

    def __init__(self, models, n_cells, n_poisson, n_array, ring_slots, signals,
                 spike_index, seed, senders, injected=(), dt=0.1, plastic=False, stdp=None,
                 stochastic=None, escape=None, channels=2, precise=True, jumps=True,
                 poisson_terms=1, array_repeats=False):
        self.models = models
        self.poisson_terms = int(poisson_terms)  # most spikes per Poisson source and step
        self.array_repeats = bool(array_repeats)  # an array source spikes twice in a step
        self.precise = bool(precise)  # spikes off the grid (spike_precision)
        self.jumps = bool(jumps)  # whether some cells' synapses are voltage jumps
        self.channels = int(channels)
        self.stochastic = stochastic
        self.plastic = plastic  # synapses with Tsodyks-Markram dynamics
        self.stdp = stdp
        self.escape = escape  # GIF cells: escape noise, eta_j and gamma_j (K or None)
        self.dt = float(dt)
        self.n_cells, self.n_poisson, self.n_array = n_cells, n_poisson, n_array
        self.n_total = n_cells + n_poisson + n_array
        self.slots = ring_slots
        self.signals = signals
        self._signal_index = [B.constant(idx) for _, idx, _ in signals]
        self.spike_index = B.constant(spike_index)
        self.seed = int(seed)
        # (start, stop, max fan-out) of each presynaptic group in neuron space
        self.senders = [(a, b, int(f)) for a, b, f in senders if f > 0]
        self.injected = B.constant(injected) if len(injected) else ()
        self.ring = self.history = None
        self.reset_ring()
        self._compiled = {}

    def reset_ring(self):
        """Empty the delay ring (spikes in transit) and the STDP spike history.

        The ring has two halves of ``slots`` slots: for the arrivals in each step, the
        first holds the sum of w (1 - f), the second (one slot later) the sum of w f,
        f being the position within the step; together they give the step's weight
        and mean arrival time. The cells take the arrivals in at that time, so a
        conductance recorded at the step's end includes them (one that arrives on the
        grid point itself is recorded there just before it, like a voltage jump)."""
        self.ring = ops.zeros((2 * self.slots * self.channels * self.n_cells,), "float32")
        if self.stdp is not None:  # recent spikes of every neuron
            self.history = ops.zeros((self.stdp["history"], self.n_total), "bool")

    def set_ring(self, ring, history=None):
        """Restore a delay ring (and STDP history) saved with ``B.to_numpy``."""
        self.ring = B.constant(ring)
        if history is not None:
            self.history = B.constant(history)

    def is_compiled(self, n_steps):
        """Whether chunks of ``n_steps`` have been compiled already."""
        return n_steps in self._compiled

    def run_chunk(self, k0, n_steps, state, const, array_events, array_shifts, injection):
        """Advance steps k0 .. k0 + n_steps (a Python int: one compilation per size).

        ``array_events`` (n_steps x E) lists the array-source spikes of each step
        (index ``n_array`` pads), ``array_shifts`` how many steps each lies before its
        step's grid time (in (-1/2, 1/2]); ``injection`` (n_steps x T) the injected
        current of the cells ``injected``. Returns the new state, per-signal sample
        buffers (rows beyond the chunk's samples are padding) and the spike buffer
        (0, or 1 + the spike's shift before the grid time, in steps).
        """
        if n_steps not in self._compiled:
            self._compiled[n_steps] = B.compile(
                lambda k0, state, const, events, shifts, inj, ring, history: self._run(
                    k0, n_steps, state, const, events, shifts, inj, ring, history))
        history = ops.zeros((1, 0), "bool") if self.history is None else self.history
        state, ring, history, samples, spikes = self._compiled[n_steps](
            B.constant(k0), state, const, B.constant(array_events),
            B.constant(array_shifts.astype("float32")), B.constant(injection),
            self.ring, history)
        self.ring = ring
        if self.history is not None:
            self.history = history
        return state, samples, spikes

    # -- pieces of one step ---------------------------------------------------
    def _advance_cells(self, k, state, early, late, const, injected):
        """One step t_k -> t_{k+1} of every cell. The weights arriving in this step come
        as ``early`` = sum of w (1 - f) and ``late`` = sum of w f, f being each
        arrival's position within the step (``_transmit``; f = 0 on the grid, and
        voltage jumps come whole in ``early``): their total is early + late, their
        weighted mean position late / (early + late)."""
        n = self.n_cells
        c = const
        i_ext = c["i_ext"]
        if len(self.injected):
            i_ext = B.scatter_add(i_ext, self.injected, injected)
        keys = [cell_rules.state_keys(r) for r in range(self.channels)]
        sfx = [cell_rules.suffix(r) for r in range(self.channels)]
        g_next, x_next, means = [], [], []
        for r, ((kg, kx), s) in enumerate(zip(keys, sfx)):
            a, b = early[r * n:(r + 1) * n], late[r * n:(r + 1) * n]
            weight = a + b
            position = ops.clip(ops.divide_no_nan(b, weight), 0.0, 1.0)
            if r == 1:  # where inhibition arrives, a rising membrane may turn
                turn_at = ops.where(weight != 0, position, 2.0)  # 2: none
            g_add, x_add, mean_add = cell_rules.arrival_response(
                weight, position, c["kick_g_" + s], c["kick_x_" + s], c["rate_g_" + s],
                c["rate_x_" + s], c["alpha_" + s], self.dt, xp=ops)
            g0, x0 = state[kg], state[kx]
            mean = c["mean_g_" + s] * g0 + c["mean_x_" + s] * x0 + mean_add
            means.append(mean)
            g_next.append((g0 + c["cross_" + s] * x0) * c["decay_" + s] + g_add)
            x_next.append(x0 * c["decay_x_" + s] + x_add)
        arr_e, arr_i = early[:n], early[n:2 * n]  # voltage jumps: whole, on the grid
        # the conductances whose step means these are (HH surrogates take g and mean_g)
        g_exc, g_inh = (ops.where(c["mean_g_" + s] > 0,
                                  ops.divide_no_nan(means[r], c["mean_g_" + s]),
                                  state[keys[r][0]]) for r, s in ((0, "E"), (1, "I")))
        refrac = state["refrac"]  # ms of clamp left, from t_k
        refractory = refrac > 0
        v = state["v"] + ops.where(refractory, 0.0, c["delta"] * (arr_e + arr_i))
        i_adapt = state["w"]  # adaptation currents, subtracted from i_offset
        if self.escape:  # GIF: eta and the threshold v_t at t_k, held over the step
            eta, v_t = escape_noise.at_step_start(state, c)
            i_adapt = i_adapt + eta
        new_v, new_models, monitor_a, monitor_b = [], [], [], []
        slopes = []  # (dv/dt and v_inf at t_k, v_inf and rate at t_{k+1}) of IF membranes
        own_rule = {}  # start -> (u, spikes) of cells with their own spike/reset rule
        for (cell, start, stop, kind), ms in zip(self.models, state["models"]):
            sl = slice(start, stop)
            ones = ops.ones_like(v[sl])
            slope = None
            if kind in ("membrane", "exp_membrane"):
                params = {key: c[key][sl] for key in (
                    "cm", "tau_m", "v_rest", "e_rev_E", "e_rev_I", "e_rev_sfa", "e_rev_rr",
                    "delta_T", "v_thresh")}
                params["i_offset"] = i_ext[sl] - i_adapt[sl]
                mine = [m[sl] for m in means]
                extra = None
                if self.channels > 2:  # named receptors beyond the first two
                    extra = (sum(mine[2:]),
                             sum(m * c["e_rev_" + s][sl] for m, s in zip(mine[2:], sfx[2:])))
                v_inf, rate = if_family.membrane_inputs(
                    mine[0], mine[1],
                    c["mean_s"][sl] * state["g_s"][sl], c["mean_r"][sl] * state["g_r"][sl],
                    params, c["conductance"][sl], extra=extra)
                columns = [v_inf, rate]
                if kind == "membrane" and self.precise:
                    slope = self._membrane_slopes(state, g_next, v[sl], params, c, sl)
                if kind == "exp_membrane":
                    columns += [params["delta_T"], params["v_thresh"], params["tau_m"]]
                inputs = ops.stack(columns + [v[sl], ones], axis=1)
                monitor_a.append(rate)
                monitor_b.append(ops.abs(v_inf - v[sl]))
            elif kind == izhikevich.KIND:  # u is kept in w; jumps are already in v
                current = izhikevich.current(i_ext[sl])
                inputs = ops.stack([current, state["w"][sl], c["izh_a"][sl], c["izh_b"][sl],
                                    0.0 * ones, v[sl], ones], axis=1)
                monitor_a.append(-v[sl])
                monitor_b.append(ops.abs(state["w"][sl]))
            else:  # Hodgkin-Huxley types: the inputs the cell names, 0 for the others
                known = {"g_exc": g_exc[sl], "g_inh": g_inh[sl], "e_rev_E": c["e_rev_E"][sl],
                         "e_rev_I": c["e_rev_I"][sl], "i_ext": i_ext[sl],
                         "mean_E": c["mean_g_E"][sl], "mean_I": c["mean_g_I"][sl],
                         "v_true": v[sl], "teacher": ones,
                         **{k: c[k][sl] for k in hh_channels.PARAMETERS}}
                inputs = ops.stack([known.get(name, 0.0 * ones) for name in cell.INPUTS],
                                   axis=1)
                monitor_a.append(g_exc[sl])
                monitor_b.append(g_inh[sl])
            slopes.append(slope)
            out, (_, *memory) = cell(inputs, list(ms))
            if kind == izhikevich.KIND:  # its own spike and reset rule, and u
                v_end, u_end, spiked, theta = izhikevich.spike_and_reset(
                    v[sl], out[:, 0], state["w"][sl], current, c["izh_a"][sl],
                    c["izh_b"][sl], c["v_reset"][sl], c["izh_d"][sl], self.dt, xp=ops)
                out = v_end[:, None]
                own_rule[start] = (u_end, spiked, 1.0 - theta)
            new_v.append(out[:, 0])
            new_models.append((out, *memory))
        v_pred = ops.concatenate(new_v, 0) if new_v else v
        threshold = c["threshold"]
        resets = c["reset"] > 0
        dt = self.dt
        clamped = refrac >= dt * (1 - 1e-4)
        free_from = ops.where(clamped, dt, refrac)  # the clamp ends this far into the step
        v_pred = v + (1.0 - free_from / dt) * (v_pred - v)
        # reset models spike at or above threshold, also when a voltage jump (delta
        # synapse) crossed it at the step's start: the relaxation within the step
        # must not pull such a cell back unseen (NEST's iaf_psc_delta checks right
        # after the jump)
        spikes = (~clamped & ((v_pred >= threshold) | (resets & (v >= threshold)))
                  & (resets | (v < threshold)))
        # crossing time within the free part of the step, by linear interpolation
        crossing = ops.where(v >= threshold, 0.0,
                             ops.clip(ops.divide_no_nan(threshold - v, v_pred - v), 0.0, 1.0))
        if any(sl is not None for sl in slopes):  # crossings that both ends miss
            slope0, v_inf0, v_inf1, rate1 = (ops.concatenate(
                [sl[i] if sl is not None else ops.zeros((stop - start,))
                 for sl, (_, start, stop, _) in zip(slopes, self.models)], 0)
                for i in range(4))
            grazed, position = cell_rules.grazing_crossing(
                v, v_pred, slope0 * dt, rate1 * (v_inf1 - v_pred) * dt, threshold,
                turn_at=turn_at, v_inf=v_inf0, xp=ops)
            # the cubic and the frozen relaxation need inputs that change slowly over a
            # step: kernels of tau >= 5 dt (brunel.py's tau_syn = dt would fool them)
            slow = None
            for r in range(self.channels):
                fast = ops.maximum(c["rate_g_" + sfx[r]], c["rate_x_" + sfx[r]]) * dt
                slow = fast <= GRAZING_MAX_RATE if slow is None else slow & (
                    fast <= GRAZING_MAX_RATE)
            grazed = grazed & slow & resets & (refrac <= 0) & ~spikes
            spikes = spikes | grazed
            crossing = ops.where(grazed, position, crossing)
        lead = (1.0 - crossing) * (dt - free_from)  # ms from the crossing to t_{k+1}
        clamp_left = c["tau_refrac"] - lead
        if self.escape:  # GIF: spikes by escape noise at t_{k+1}, clamp from there
            escaped = escape_noise.fire(self.seed, k + 1, v_pred, v_t, c, dt - free_from)
            spikes = spikes | escaped
            clamp_left = ops.where(escaped, c["tau_refrac"], clamp_left)
            lead = ops.where(escaped, 0.0, lead)
        v_new = ops.where(resets & (spikes | clamped), c["v_reset"], v_pred)
        refrac = ops.where(spikes & resets, ops.maximum(clamp_left, 0.0),
                           ops.maximum(refrac - dt, 0.0))
        fired = ops.cast(spikes, "float32")
        # spike-triggered jumps happen at the crossing: by t_{k+1} they have decayed
        # for ``lead`` ms (g_r's tau_rr of 2 ms loses up to 5 % over one 0.1-ms step)
        since = lead / dt
        peak = lambda old, parts: (  # noqa: E731
            ops.maximum(old, ops.concatenate(parts, 0)) if parts else old)
        # decay to t_{k+1}; arrivals due at k+1 are added at the next step
        carried = {key: state[key] for key in ("stp", "stdp") if key in state}
        if self.escape:
            carried.update(escape_noise.advance(state, c, spikes))
        state = {"v": v_new, "refrac": refrac, "models": new_models, **carried,
                 **{kg: g_next[r] for r, (kg, _) in enumerate(keys)},
                 **{kx: x_next[r] for r, (_, kx) in enumerate(keys)},
                 "w": (state["w"] * c["decay_w"]
                       + fired * c["b"] * ops.power(c["decay_w"], since) + c["a"] * (
                     if_family.adaptation_voltage(v, v_pred, threshold, c["v_reset"],
                                                  spikes & resets, lead / dt, xp=ops)
                     - c["v_rest"]) * (1.0 - c["decay_w"])),
                 "g_s": (state["g_s"] * c["decay_s"]
                         + fired * c["q_sfa"] * ops.power(c["decay_s"], since)),
                 "g_r": (state["g_r"] * c["decay_r"]
                         + fired * c["q_rr"] * ops.power(c["decay_r"], since)),
                 "peak_a": peak(state["peak_a"], monitor_a),
                 "peak_b": peak(state["peak_b"], monitor_b)}
        shift = lead / dt  # steps before t_{k+1}
        if own_rule:  # generic rules are neutral for these cells: take theirs
            parts = [own_rule.get(start, (state["w"][start:stop], spikes[start:stop],
                                          shift[start:stop]))
                     for _, start, stop, _ in self.models]
            state["w"] = ops.concatenate([u for u, _, _ in parts], 0)
            spikes = ops.concatenate([spiked for _, spiked, _ in parts], 0)
            shift = ops.concatenate([s for _, _, s in parts], 0)
        return state, spikes, shift

    def _membrane_slopes(self, state, g_next, v, params, c, sl):
        """An IF membrane's dv/dt and v_inf at t_k, and v_inf and rate at t_{k+1}, from the
        kernels' values there (not their step means): the ends of the step's Hermite
        cubic (``cell_rules.grazing_crossing``)."""
        ends = []
        for g, g_s, g_r in (([state[cell_rules.state_keys(r)[0]][sl]
                              for r in range(self.channels)],
                             state["g_s"][sl], state["g_r"][sl]),
                            ([g[sl] for g in g_next], state["g_s"][sl] * c["decay_s"][sl],
                             state["g_r"][sl] * c["decay_r"][sl])):
            extra = None
            if self.channels > 2:
                extra = (sum(g[2:]), sum(x * c["e_rev_" + cell_rules.suffix(r + 2)][sl]
                                         for r, x in enumerate(g[2:])))
            ends.append(if_family.membrane_inputs(g[0], g[1], g_s, g_r, params,
                                                  c["conductance"][sl], extra=extra))
        (v_inf0, rate0), (v_inf1, rate1) = ends
        return rate0 * (v_inf0 - v), v_inf0, v_inf1, rate1

    def _sources(self, k1, const, events, shifts):
        """Spikes of the Poisson and array sources in step k1 - 1 -> k1: whether each
        spiked, how many spikes (Poisson sources may emit several, ``poisson``) and
        their mean position before t_{k1} (steps)."""
        index = ops.arange(self.n_poisson, dtype="int32")
        count, position, _, _ = poisson.step(
            self.seed, k1, index, const["p_lambda"], const["p_start"],
            const["p_start_after"], const["p_stop"], const["p_stop_after"],
            self.poisson_terms, self.precise)
        hits = B.scatter_new(events, ops.ones(ops.shape(events), "float32"),
                             self.n_array + 1)[:self.n_array]
        when = B.scatter_new(events, shifts, self.n_array + 1)[:self.n_array]
        mean = position / ops.maximum(count, 1.0)
        return (count > 0, hits > 0, count, hits,
                ops.concatenate([mean, when / ops.maximum(hits, 1.0)], 0))

    def _tiles(self, active, row_ptr, fan, body, carry):
        """``carry = body(pos, mask, rows, carry)`` for the rows where ``active``: the
        active rows are listed once per call (prefix sum + scatter), then taken in
        blocks, and each block's entries ``row_ptr[r] + j`` (j < fan) gathered as a
        (block x fan) tile; ``mask`` marks real entries, ``rows`` the block's rows.
        Cost: one pass over the rows, then per block only the tile."""
        n_rows = int(active.shape[0])
        block = max(1, min(n_rows, TILE // fan))
        active_i = ops.cast(active, "int32")
        count = ops.sum(active_i)
        slot = ops.where(active, ops.cumsum(active_i) - 1, n_rows)  # inactive: padding
        listed = B.scatter_new(slot, ops.arange(n_rows, dtype="int32"), n_rows + block)
        offsets = ops.arange(fan, dtype=INDEX)[None, :]

        def one_block(b, carry):
            lo = b * block
            who = B.dynamic_slice(listed, [lo], [block])
            valid = ops.arange(block, dtype="int32") < count - lo
            first = B.gather(row_ptr, who)
            length = ops.where(valid, B.gather(row_ptr, who + 1) - first, 0)
            mask = offsets < length[:, None]
            pos = ops.where(mask, first[:, None] + offsets, 0)
            return b + 1, body(pos, mask, who, carry)

        n_blocks = (count + block - 1) // block
        _, carry = B.while_loop(lambda b, *_: b < n_blocks, one_block,
                                (ops.convert_to_tensor(0, "int32"), carry))
        return carry

    def _transmit(self, ring, syn_state, k1, spikes, shift, many, jumps, const, start,
                  stop, fan):
        """Add the weights of the synapses of neurons start..stop that spiked (``shift``:
        their mean position before t_{k1}, steps; ``many``: None or their number of
        spikes; ``jumps``: targets whose arrivals are voltage jumps); with short-term
        plasticity, the effective weights and the synapses' new state (several
        spikes of one source in one step count as one event of that many times the
        weight)."""
        width = self.channels * self.n_cells
        shift = shift[start:stop]
        many = None if many is None else many[start:stop]

        def send(syn, mask, rows, carry):
            ring, syn_state = carry
            weight = ops.where(mask, B.gather(const["syn_weight"], syn), 0.0)
            delay = B.gather(const["syn_delay"], syn)
            if self.plastic:
                weight, syn_state = self._plastic_weights(weight, syn, mask, k1 + delay,
                                                          syn_state, const)
            if self.stochastic:
                weight, syn_state = self._stochastic_weights(weight, syn, mask, k1, delay,
                                                             syn_state, const)
            target = B.gather(const["syn_target"], syn)
            if many is not None:
                weight = weight * B.gather(many, rows)[:, None]
            if not self.precise:
                where = ((k1 + delay) % self.slots) * width + target
                return B.scatter_add(ring, where, weight), syn_state
            # arrival at slot k1 + delay - s: slot `first` plus a fraction `frac`
            s = B.gather(shift, rows)[:, None]
            s = ops.where(ops.abs(s) < 1e-4, 0.0, s)  # on the grid up to rounding errors
            back = ops.ceil(s)  # s in (-1/2, 1]: 0 or 1 slot earlier
            frac = back - s
            first = k1 + delay - ops.cast(back, INDEX)
            # kernels: w (1 - f) in the step's slot, w f in the second half's next
            # slot (``_advance_cells``); jumps: whole, at the nearer point
            late = frac
            if self.jumps:
                jump = B.gather(jumps, target)
                first = first + ops.cast(jump & (frac >= 0.5), INDEX)
                late = ops.where(jump, 0.0, frac)
            where = (first % self.slots) * width + target
            after = self.slots * width + ((first + 1) % self.slots) * width + target
            ring = B.scatter_add(ring, ops.concatenate([where, after], 0),
                                 ops.concatenate([weight * (1.0 - late), weight * late], 0))
            return ring, syn_state

        return self._tiles(spikes[start:stop], const["row_ptr"][start:stop + 1], fan, send,
                           (ring, syn_state))

    def _plastic_weights(self, weight, syn, mask, arrival_step, syn_state, const):
        """Tsodyks-Markram: effective weights of a tile and the updated synapse state."""
        on = mask & (B.gather(const["stp_on"], syn) > 0)
        t = ops.cast(arrival_step, "float32") * self.dt
        old = {k: B.gather(syn_state[k], syn) for k in stp.STATE}
        params = {k: B.gather(const[f"stp_{k}"], syn) for k in stp.PARAMETERS}
        effective, new = stp.arrive(_OPS, weight, t, old, params,
                                    B.gather(const["stp_tau_syn"], syn))
        weight = ops.where(on, effective, weight)
        index = ops.where(on, syn, syn_state["u"].shape[0])
        syn_state = dict(syn_state, **{k: B.scatter_set(  # the padding entry absorbs misses
            ops.concatenate([syn_state[k], ops.zeros((1,), "float32")], 0), index,
            new[k])[:-1] for k in stp.STATE})  # (stochastic synapses' "sto_*" kept)
        return weight, syn_state

    def _stochastic_weights(self, weight, syn, mask, k1, delay, syn_state, const):
        """Stochastic synapses: transmitted weights of a tile and the updated state
        (``sto_*`` entries of the synapse state), random numbers keyed by (seed, k1, id)."""
        on = mask & (B.gather(const["sto_kind"], syn) > 0)
        t = ops.cast(k1 + delay, "float32") * self.dt
        old = {k: B.gather(syn_state["sto_" + k], syn) for k in sto.STATE}
        params = {k: B.gather(const["sto_" + k], syn) for k in (*sto.COLUMNS, "id")}
        effective, new = sto.transmit(_OPS, self.stochastic["kinds"], weight, t, k1, old,
                                      params, sto.seed_key(self.seed),
                                      self.stochastic["n_max"])
        weight = ops.where(on, effective, weight)
        index = ops.where(on, syn, syn_state["sto_u"].shape[0])
        syn_state = dict(syn_state, **{"sto_" + k: B.scatter_set(  # the padding entry
            ops.concatenate([syn_state["sto_" + k], ops.zeros((1,), "float32")], 0), index,
            new[k])[:-1] for k in sto.STATE})  # absorbs misses
        return weight, syn_state

    def _stdp_step(self, k1, spikes, history, syn_state, ring, const):
        """STDP at step k1: record the spikes, then presynaptic events, postsynaptic
        events and arrivals (in this order at equal times; see ``stdp``)."""
        length = self.stdp["history"]
        history = B.dynamic_update_slice(history, spikes[None, :], [k1 % length, 0])

        def active(name):
            _, lags, _ = self.stdp["passes"][name]
            # gather, not indexing: a strided slice would make XLA specialise on k0
            past = [B.gather(B.gather(history, (k1 - lag) % length),
                             const[f"stdp_{name}_neurons"]) for lag in lags]
            return ops.reshape(ops.stack(past, axis=1), [-1])  # row = neuron x lags + lag

        def events(name, rule):
            def update(pos, mask, _rows, state):
                syn = B.gather(const[f"stdp_{name}_syn"], pos)
                old = {k: B.gather(state[k], syn) for k in stdp_rule.STATE}
                cols = {k: B.gather(const["stdp_" + k], syn) for k in stdp_rule.COLUMNS}
                new = rule(_OPS, old, k1, self.dt, cols)
                # the state's last entry pads: it absorbs the misses
                index = ops.where(mask, syn, self.stdp["n"])
                return {k: B.scatter_set(state[k], index, ops.cast(new[k], state[k].dtype))
                        for k in stdp_rule.STATE}
            return update

        for name, rule in (("pre", stdp_rule.on_pre), ("post", stdp_rule.on_post)):
            if self.stdp["passes"][name][1]:
                syn_state = self._tiles(active(name), const[f"stdp_{name}_row_ptr"],
                                        max(1, self.stdp["passes"][name][2]),
                                        events(name, rule), syn_state)
        slot = (k1 % self.slots) * (self.channels * self.n_cells)

        def arrive(pos, mask, _rows, ring):
            syn = B.gather(const["stdp_arrive_syn"], pos)
            weight = ops.where(mask, B.gather(syn_state["w"], syn), 0.0)
            return B.scatter_add(ring, slot + B.gather(const["stdp_target"], syn), weight)

        ring = self._tiles(active("arrive"), const["stdp_arrive_row_ptr"],
                           max(1, self.stdp["passes"]["arrive"][2]), arrive, ring)
        return history, syn_state, ring

    # -- the chunk --------------------------------------------------------------
    def _run(self, k0, n_steps, state, const, events, shifts, injection, ring, history):
        width = self.channels * self.n_cells
        buffers = [ops.zeros((n_steps // every + 2, len(idx)), "float32")
                   for _, idx, every in self.signals]
        spike_buffer = ops.zeros((n_steps, len(self.spike_index)), "float32")
        half = self.slots * width  # offset of the ring's second half (``reset_ring``)
        first_sample = [k0 // every + 1 for _, _, every in self.signals]
        # targets whose synapses are voltage jumps: arrivals are not split
        jumps = ops.tile(const["delta"] > 0, [self.channels]) if self.jumps else None

        def body(i, state, ring, history, buffers, spike_buffer):
            k = k0 + _index(i)
            k1 = k + 1
            start = (k % self.slots) * width
            following = half + (k1 % self.slots) * width
            # this step's arrivals: w (1 - f) in slot k, w f in the second half's
            # slot k + 1 (``_transmit``)
            early = B.dynamic_slice(ring, [start], [width])
            late = B.dynamic_slice(ring, [following], [width])
            ring = B.dynamic_update_slice(ring, ops.zeros((width,), "float32"), [start])
            ring = B.dynamic_update_slice(ring, ops.zeros((width,), "float32"), [following])
            state, cell_spikes, cell_shift = self._advance_cells(k, state, early, late, const,
                                                                 injection[i])
            poisson_spikes, arrays, count, hits, source_shift = self._sources(
                k1, const, events[i], shifts[i])
            spikes = ops.concatenate([cell_spikes, poisson_spikes, arrays], 0)
            shift = ops.where(spikes, ops.concatenate([cell_shift, source_shift], 0), 0.0)
            if not self.precise:
                shift = ops.zeros_like(shift)
            # spikes per neuron and step (Poisson and array sources may have several):
            # delivered as one event of that many times the weight
            many = recorded_many = None
            if self.poisson_terms > 1 or self.array_repeats:
                many = ops.concatenate([ops.ones_like(cell_shift), count, hits], 0)
                recorded_many = ops.concatenate([ops.ones_like(cell_shift), count,
                                                 ops.ones_like(hits)], 0)
            syn_state = state.get("stp", {})
            for start, stop, fan in self.senders:
                ring, syn_state = self._transmit(ring, syn_state, k1, spikes, shift, many,
                                                 jumps, const, start, stop, fan)
            if self.plastic or self.stochastic:
                state = dict(state, stp=syn_state)
            if self.stdp is not None:
                history, stdp_state, ring = self._stdp_step(k1, spikes, history,
                                                            state["stdp"], ring, const)
                state = dict(state, stdp=stdp_state)
            g_now = [state[cell_rules.state_keys(r)[0]] for r in range(self.channels)]
            values = {"v": state["v"], "gsyn_exc": g_now[0],
                      "gsyn_inh": g_now[1], "g_s": state["g_s"], "g_r": state["g_r"],
                      "w": state["w"], "u": state["w"],
                      **{f"g{r}": g_now[r] for r in range(self.channels)}}
            if self.escape:
                values.update(escape_noise.recorded(state, const))
            new_buffers = []
            for buf, (var, _, every), idx, first in zip(buffers, self.signals,
                                                         self._signal_index, first_sample):
                row = ops.where(k1 % every == 0, k1 // every - first, n_steps // every + 1)
                new_buffers.append(B.dynamic_update_slice(
                    buf, B.gather(values[var], idx)[None, :], [row, 0]))
            if len(self.spike_index):
                # 1 + shift; Poisson sources: count + shift (``Engine._collect``); array
                # sources are reported at their given times (``Engine._given_times``)
                code = ops.where(spikes, (1.0 if many is None else recorded_many) + shift,
                                 0.0)
                spike_buffer = B.dynamic_update_slice(
                    spike_buffer, B.gather(code, self.spike_index)[None, :], [i, 0])
            return i + 1, state, ring, history, new_buffers, spike_buffer

        _, state, ring, history, buffers, spike_buffer = B.while_loop(
            lambda i, *_: i < n_steps, body,
            (ops.convert_to_tensor(0, "int32"), state, ring, history, buffers, spike_buffer))
        return state, ring, history, buffers, spike_buffer
