"""The engine: owns every tensor of a network and advances it in compiled chunks.

Knows nothing of PyNN objects; the adapter talks to it through :class:`Engine`
(interface in docs/architecture.md). Cell groups that share a surrogate are
batched together; spike sources (Poisson, arrays) are generated inside the loop.
"""

import time

import numpy as np
from keras import ops
from tqdm.auto import tqdm

from ..surrogates import if_family, izhikevich, registry
from . import backend as B
from . import cell_rules, currents, poisson, renewal, stdp, stdp_tables
from . import short_term_plasticity as stp
from . import stochastic_synapses as sto
from .connectivity import SynapseTable
from .loop import ChunkRunner
from .recording import SignalBuffer, SpikeBuffer

RECEPTORS = if_family.STANDARD_RECEPTORS  # the two channels of the standard types
RECEPTOR_SIGNALS = ("gsyn", "isyn")  # recorded as "<receptor>.gsyn" (named receptors)
SIGNALS = ("v", "gsyn_exc", "gsyn_inh", "g_s", "g_r", "w", "u", "i_eta", "v_t")
STATE_OF_SIGNAL = {"v": "v", "gsyn_exc": "g_exc", "gsyn_inh": "g_inh", "g_s": "g_s",
                   "g_r": "g_r", "w": "w",
                   "u": "w"}  # Izhikevich's u is kept in w; i_eta, v_t: sums over eta, gamma
TIMED_PARTS = ("prepare", "compile", "loop", "host")
CELL_STATE = ("v", "g_exc", "g_inh", "x_exc", "x_inh", "g_s", "g_r", "w", "refrac")
COMPONENT_STATE = ("eta", "gamma")  # GIF cells: (cells x K), K per group
DEFAULT_SEED = 12345  # as in NEST, runs are reproducible unless a seed is chosen
MAX_CHUNK_STEPS = 5000
MAX_CHUNK_VALUES = 20_000_000  # recorded values per chunk before handing to the host
#: spikes at their threshold crossing / source time (NEST's "off_grid"), or on the grid
SPIKE_PRECISIONS = ("off_grid", "on_grid")


def _cell_state(channels):
    """State keys of cells with ``channels`` synaptic channels."""
    extra = tuple(k for r in range(2, channels) for k in cell_rules.state_keys(r))
    return CELL_STATE + extra


def _chunk_size(largest, remaining):
    """Steps of the next chunk: ``largest`` or a power of ten below it, so that runs of
    any length reuse a handful of compiled loop sizes."""
    size = largest
    while size > remaining:
        size = 10 ** (len(str(size)) - 1) if size > 10 ** (len(str(size)) - 1) else size // 10
    return max(1, size)


def _per_cell(values, size):
    """Parameter values -> float array (size,), or (size, K) for per-cell sequences."""
    values = np.asarray(values, dtype=float)
    return np.array(np.broadcast_to(values, (size,) + values.shape[1:] * (values.ndim == 2)))


def _fit(array, k, fill=0.0):
    """``array`` (n x K') with exactly k columns: cut or padded with ``fill``."""
    array = np.atleast_2d(array)[:, :k]
    return np.pad(array, ((0, 0), (0, k - array.shape[1])), constant_values=fill)


class _Group:
    def __init__(self, kind, size, parameters, initial=None, celltype=None, synapses=None):
        self.kind = kind  # "cells" | "poisson" | "array"
        self.size = size
        self.celltype = celltype  # the surrogate model that runs the cells
        self.synapses = synapses  # (type, shape) of integrate-and-fire cells
        # receptor names of the synaptic channels, in channel order
        self.receptors = (if_family.receptor_list(synapses)[1] if synapses is not None
                          else [(name, None) for name in RECEPTORS])
        self.parameters = {k: _per_cell(v, size) for k, v in parameters.items()}
        self.initial = {k: np.array(np.broadcast_to(v, (size,)), dtype=float)
                        for k, v in (initial or {}).items()}
        self.state = None  # host copy of the dynamic state between runs
        self.spike_times = None  # for "array" groups
        self.renewal = None  # for renewal-process sources (an "array" group drawn ahead)
        self.report_given_times = False  # record array spikes at their given times


class Engine:
    """A network of surrogate cell batches, spike sources and synapses."""

    def __init__(self, dt=0.1, seed=None, progress=True, spike_precision="off_grid"):
        if spike_precision not in SPIKE_PRECISIONS:
            raise ValueError(f"spike_precision {spike_precision!r}: use one of "
                             f"{SPIKE_PRECISIONS}")
        self.dt = float(dt)
        self.spike_precision = spike_precision
        self.seed = DEFAULT_SEED if seed is None else int(seed)
        self.progress = progress
        self.groups = []
        self.synapses = SynapseTable()
        self._syn_meta = []  # (pre_gid, pre_index, post_gid, post_index, receptor)
        self.signals = {}  # (gid, variable) -> SignalBuffer
        self.spikes = {}  # gid -> SpikeBuffer
        self.step = 0
        self._runner = None
        # wall time (s) of the parts of run(), summed over runs: see ``run``
        self.timings = dict.fromkeys(TIMED_PARTS, 0.0)
        self._layout_key = None
        self._stdp_info = self._stdp_key = None
        self._sto_info = self._sto_key = None
        self._cells = {}  # celltype -> Surrogate, keras cell
        self._dense_warned = {}  # gid -> rate of the last dense-Poisson warning
        self.current_sources = []  # dicts: kind, params, targets [(gid, index)], record

    # ------------------------------------------------------------------ building
    @property
    def t(self):
        return self.step * self.dt

    def _surrogate(self, celltype):
        if celltype not in self._cells:
            surrogate = registry.load(celltype, dt=self.dt)  # the model trained at dt
            self._cells[celltype] = (surrogate, surrogate.build_cell())
        return self._cells[celltype]

    def add_surrogate_group(self, celltype, size, parameters, initial=None, synapses=None):
        """Cells run by the surrogate ``celltype``. Integrate-and-fire membranes take
        membrane parameters (``if_family``) and ``synapses`` = (type, shape), or (type,
        [(receptor name, shape), ...]) for named receptors (one synaptic channel each,
        parameters ``tau_syn_<suffix>``, ``e_rev_<suffix>``, ``tau_rise_<suffix>``;
        see ``if_family.channel_suffix``; initial values "<receptor>.gsyn"/".isyn")."""
        surrogate, _ = self._surrogate(celltype)
        if surrogate.is_membrane and synapses is None:
            raise ValueError(f"{celltype}: synapses=(type, shape) is required")
        surrogate.check_parameters(parameters)
        if_family.check_gif(parameters)
        initial = dict(initial or {})
        for name, values in initial.items():
            surrogate.check_initial(name, values)
        group = _Group("cells", size, parameters, initial, celltype, synapses)
        group.initial.setdefault("v", np.full(size, -65.0))
        if surrogate.kind == izhikevich.KIND:  # PyNN's default initial u
            group.initial.setdefault("u", np.full(size, -14.0))
        self.groups.append(group)
        self._reset_group_state(group)
        return len(self.groups) - 1

    def add_poisson_group(self, size, rate, start, duration):
        group = _Group("poisson", size, {"rate": rate, "start": start, "duration": duration})
        self._check_rates(group.parameters["rate"])
        self.groups.append(group)
        return len(self.groups) - 1

    def add_renewal_group(self, kind, size, parameters):
        """Gamma (alpha, beta) or Poisson-with-dead-time (rate, tau_refrac) sources,
        each with start and duration (ms)."""
        group = _Group("array", size, parameters)
        renewal.check(kind, group.parameters)
        group.spike_times = [np.zeros(0) for _ in range(size)]
        self.groups.append(group)
        group.renewal = renewal.RenewalSources(kind, size, self.seed, len(self.groups) - 1)
        return len(self.groups) - 1

    def add_spike_array_group(self, spike_times, report_given_times=True):
        """Sources that fire at the given times (ms), delivered at the nearest step;
        recorded at the given times unless ``report_given_times`` is False (then at
        their steps' times, as for sources whose times are drawn per run)."""
        group = _Group("array", len(spike_times), {})
        group.spike_times = [np.asarray(t, dtype=float) for t in spike_times]
        group.report_given_times = report_given_times
        self.groups.append(group)
        return len(self.groups) - 1

    @staticmethod
    def _check_rates(rate):
        if np.any(rate < 0) or not np.all(np.isfinite(rate)):
            raise ValueError(f"Poisson rates must be finite and >= 0 Hz, got {rate.min()}")

    def set_parameters(self, gid, name, values, index=None):
        group = self.groups[gid]
        if group.renewal is not None:
            new = dict(group.parameters)
            new[name] = group.parameters[name].copy()
            new[name][slice(None) if index is None else np.asarray(index)] = values
            renewal.check(group.renewal.kind, new)
            group.parameters = new
            group.renewal.restart(self.t)  # the drawn future follows the new values
            return
        if group.kind == "array":
            if name != "spike_times":
                raise KeyError(name)
            index = range(group.size) if index is None else index
            for i, t in zip(index, values):
                group.spike_times[i] = np.asarray(t, dtype=float)
            return
        if group.kind == "cells":
            return self.set_cell_parameters(gid, {name: values}, index)
        new = group.parameters[name].copy()
        new[slice(None) if index is None else np.asarray(index)] = values
        if name == "rate":
            self._check_rates(new)
        group.parameters[name] = new

    def set_cell_parameters(self, gid, updates, index=None):
        """Several parameters of a group of cells at once ({name: values}), checked
        together (the GIF types' sequences tau_eta and a_eta must match in length)."""
        group = self.groups[gid]
        sel = slice(None) if index is None else np.asarray(index)
        new = dict(group.parameters)
        for name, values in updates.items():
            old = group.parameters[name]
            if old.ndim == 2:  # per-cell sequences (GIF components): NaN-padded
                values = np.atleast_2d(np.asarray(values, dtype=float))
                k = max(old.shape[1], values.shape[1])
                new[name], values = _fit(old, k, np.nan), _fit(values, k, np.nan)
            else:
                new[name] = old.copy()
            new[name][sel] = values
        self._surrogate(group.celltype)[0].check_parameters(
            {name: new[name] for name in updates})
        if_family.check_gif(new)
        k = cell_rules.components(new)
        for key in COMPONENT_STATE:  # a GIF cell may have gained or lost components
            group.state[key] = _fit(group.state[key], k)
        group.parameters = new

    def get_parameters(self, gid, name):
        group = self.groups[gid]
        if name == "spike_times":
            return list(group.spike_times)
        return group.parameters[name].copy()

    def set_initial(self, gid, variable, values, index=None):
        group = self.groups[gid]
        if group.kind != "cells":
            return
        self._surrogate(group.celltype)[0].check_initial(variable, values)
        sel = slice(None) if index is None else np.asarray(index)
        current = group.initial.setdefault(variable, np.zeros(group.size))
        current[sel] = values
        # the new value also applies now, to the cells concerned
        fresh = self._initial_state(group)
        cells = np.arange(group.size)[sel]
        for key, arr in group.state.items():
            if key == "memory":
                for part, new in zip(arr, fresh[key]):
                    part[cells] = new[cells]
            else:
                arr[cells] = fresh[key][cells]

    def add_synapses(self, pre_gid, pre_index, post_gid, post_index, weight, delay, receptor,
                     dynamics=None):
        """One projection's synapses. ``dynamics``: None (static),
        {"kind": "tsodyks_markram", "U", "tau_rec", "tau_facil", "u"} (arrays(n) or
        scalars; "u" is the initial value of the state variable u),
        {"kind": "stdp", "timing", "weight_dependence", and the parameters of
        ``stdp.parameter_names(timing, weight_dependence)``} or {"kind": one of
        ``stochastic_synapses.KINDS``, and its ``PARAMETERS``}."""
        post = self.groups[post_gid]
        if post.kind != "cells":
            raise ValueError("synapses can only target cells, not spike sources")
        names = self.receptor_names(post_gid)
        if receptor not in names:
            raise ValueError(f"receptor_type {receptor!r} is not one of {names}")
        delay_steps = self._delay_steps(delay)
        sid = self.synapses.add(np.asarray(pre_index), np.asarray(post_index),
                                weight, delay_steps)
        self._syn_meta.append((pre_gid, post_gid, receptor))
        self._surrogate(post.celltype)[0].check_weights(receptor, weight)
        if dynamics is not None:
            self._add_dynamics(sid, dynamics)
        return sid

    def receptor_names(self, gid):
        """Receptor names of a cell group's synaptic channels, in channel order."""
        return tuple(name for name, _ in self.groups[gid].receptors
                     if not name.startswith("."))  # ".unused": padding

    def _channel(self, gid, receptor):
        """Synaptic channel index of ``receptor`` in group ``gid``."""
        return [name for name, _ in self.groups[gid].receptors].index(receptor)

    @property
    def _channels(self):
        """Synaptic channels per cell in the loop: the most of any group (at least 2)."""
        return max([2] + [len(g.receptors) for g in self.groups if g.kind == "cells"])

    def _add_dynamics(self, sid, dynamics):
        if dynamics.get("kind") == "stdp":
            return self._add_stdp(sid, dynamics)
        if dynamics.get("kind") in sto.KINDS:
            return self._add_stochastic(sid, dynamics)
        if dynamics.get("kind") != "tsodyks_markram":
            raise NotImplementedError(f"synaptic dynamics {dynamics.get('kind')!r}")
        p = self.synapses.projections[sid]
        n = len(p["weight"])
        params = {k: np.broadcast_to(np.asarray(dynamics.get(k, stp.DEFAULTS[k]), float),
                                     (n,)).copy() for k in stp.PARAMETERS}
        stp.check(params)
        u0 = np.broadcast_to(np.asarray(dynamics.get("u", 0.0), float), (n,)).copy()
        p["stp"] = {"params": params, "u0": u0, "state": stp.initial_state(n, u0)}

    def _add_stochastic(self, sid, dynamics):
        p = self.synapses.projections[sid]
        kind, n = dynamics["kind"], len(p["weight"])
        params = {k: np.broadcast_to(np.asarray(dynamics.get(k, sto.DEFAULTS[kind][k]), float),
                                     (n,)).copy() for k in sto.PARAMETERS[kind]}
        sto.check(kind, params)
        p["sto"] = {"kind": kind, "params": params,
                    "state": sto.initial_state(kind, params, n)}

    def _add_stdp(self, sid, dynamics):
        p = self.synapses.projections[sid]
        timing, dependence = dynamics.get("timing"), dynamics.get("weight_dependence")
        names = stdp.parameter_names(timing, dependence)
        n = len(p["weight"])
        params = {k: np.broadcast_to(np.asarray(dynamics.get(k, stdp.DEFAULTS[k]), float),
                                     (n,)).copy() for k in names}
        stdp.check(timing, dependence, params)
        stdp_tables.dendritic_lags(p["delay"], params["dendritic_delay_fraction"], self.dt)
        p["stdp"] = {"timing": timing, "dependence": dependence, "params": params,
                     "state": stdp.initial_state(p["weight"])}

    def _delay_steps(self, delay):
        delay = np.atleast_1d(np.asarray(delay, dtype=float))
        steps = np.round(delay / self.dt).astype(np.int64)
        if np.any(steps < 1) or not np.all(np.isfinite(delay)):
            bad = delay[(steps < 1) | ~np.isfinite(delay)][0]
            raise ValueError(f"delay {bad} ms is below the time step {self.dt} ms")
        return steps

    def get_synapses(self, sid, name):
        p = self.synapses.projections[sid]
        if name == "weight":  # plastic weights: their current values
            return (p["stdp"]["state"]["w"] if "stdp" in p else p["weight"]).astype(float)
        if "stdp" in p and name in p["stdp"]["params"]:
            return p["stdp"]["params"][name].copy()
        if name == "delay":
            return p["delay"] * self.dt
        if "stp" in p and name in stp.PARAMETERS:
            return p["stp"]["params"][name].copy()
        if "stp" in p and name == "u":
            return p["stp"]["state"]["u"].copy()
        if "sto" in p and name in p["sto"]["params"]:
            return p["sto"]["params"][name].copy()
        raise KeyError(name)

    def set_synapses(self, sid, name, values):
        p = self.synapses.projections[sid]
        values = np.broadcast_to(np.asarray(values, dtype=float), p["weight"].shape)
        if name == "weight":  # also the value that reset() restores
            _, post_gid, receptor = self._syn_meta[sid]
            self._surrogate(self.groups[post_gid].celltype)[0].check_weights(receptor, values)
            p["weight"] = values.astype(np.float64)
            if "stdp" in p:
                p["stdp"]["state"]["w"] = p["weight"].copy()
        elif name == "delay":
            steps = self._delay_steps(values)
            if "stdp" in p:
                stdp_tables.dendritic_lags(
                    steps, p["stdp"]["params"]["dendritic_delay_fraction"], self.dt)
            p["delay"] = steps
        elif "stdp" in p and name in p["stdp"]["params"]:
            s = p["stdp"]
            new = dict(s["params"], **{name: values.astype(float)})
            stdp.check(s["timing"], s["dependence"], new)
            stdp_tables.dendritic_lags(p["delay"], new["dendritic_delay_fraction"], self.dt)
            s["params"] = new
        elif "stp" in p and name in stp.PARAMETERS:
            new = dict(p["stp"]["params"], **{name: values.astype(float)})
            stp.check(new)
            p["stp"]["params"] = new
        elif "stp" in p and name == "u":
            p["stp"]["u0"] = values.astype(float)
            p["stp"]["state"]["u"] = values.astype(float)
        elif "sto" in p and name in sto.INITIAL_VALUES.get(p["sto"]["kind"], ()):
            sto.set_initial(p["sto"], name, values.astype(float), self.t)
            p["sto"].setdefault("initial", {})[name] = values.astype(float)
        elif "sto" in p and name in p["sto"]["params"]:
            s = p["sto"]
            new = dict(s["params"], **{name: values.astype(float)})
            sto.check(s["kind"], new)
            s["params"] = new
            if name == "n":  # sites beyond the new number are gone
                s["state"]["available"] = np.minimum(s["state"]["available"], new["n"])
        else:
            raise KeyError(name)

    # ------------------------------------------------------------------ currents
    def add_current_source(self, kind, params):
        """A current source (kind: dc, ac, step, noise; PyNN parameter names)."""
        currents.check(kind, params)
        self.current_sources.append({"kind": kind, "params": dict(params), "targets": [],
                                     "recorded": None})
        return len(self.current_sources) - 1

    def set_current_source(self, cid, params):
        source = self.current_sources[cid]
        new = dict(source["params"], **params)
        currents.check(source["kind"], new)
        source["params"] = new

    def inject(self, cid, gid, index):
        if self.groups[gid].kind != "cells":
            raise TypeError("current can only be injected into cells, not spike sources")
        self.current_sources[cid]["targets"].append((gid, np.asarray(index, np.int64)))

    def record_current(self, cid):
        source = self.current_sources[cid]
        if source["recorded"] is None:
            source["recorded"] = {"start": self.step, "chunks": []}

    def recorded_current(self, cid):
        """(t_start ms, samples every dt up to and including now) of a recorded source."""
        source = self.current_sources[cid]
        rec = source["recorded"]
        if rec is None:
            return 0.0, np.zeros(0)
        now = currents.waveform(source["kind"], source["params"], [self.step], self.dt,
                                self.seed, cid)
        return rec["start"] * self.dt, np.concatenate(rec["chunks"] + [now])

    def _injected_cells(self):
        """Sorted cell-space positions of the cells that receive injected current."""
        pos = [self._offsets[gid] + index for source in self.current_sources
               for gid, index in source["targets"]]
        return np.unique(np.concatenate(pos)) if pos else np.zeros(0, np.int64)

    def _injection(self, k0, n, record=False):
        """Injected current of steps k0 .. k0+n-1 for every cell that receives any:
        (n x T matrix, the T cell positions of :meth:`_injected_cells`)."""
        targets = self._injected_cells()
        matrix = np.zeros((n, len(targets)), np.float32)
        steps = np.arange(k0, k0 + n)
        for cid, source in enumerate(self.current_sources):
            wave = currents.waveform(source["kind"], source["params"], steps, self.dt,
                                     self.seed, cid)
            if record and source["recorded"] is not None:
                source["recorded"]["chunks"].append(wave)
            for gid, index in source["targets"]:
                cols = np.searchsorted(targets, self._offsets[gid] + index)
                np.add.at(matrix, (slice(None), cols), wave[:, None])
        return matrix, targets

    # ------------------------------------------------------------------ recording
    def _recordable(self, gid, variable):
        """Whether group ``gid`` has signal ``variable``: a cell state, a named
        receptor's signal, and ``i_eta`` / ``v_t`` only from escape-noise (GIF) cells."""
        group = self.groups[gid]
        if group.kind != "cells":
            return False
        if variable in ("i_eta", "v_t"):
            return "tau_eta" in group.parameters
        return variable in SIGNALS or self._receptor_signal(gid, variable) is not None

    def record(self, gid, variable, index, sampling_interval=None):
        index = np.asarray(index, np.int64)
        if variable == "spikes":
            old = self.spikes.get(gid)
            merged = np.union1d(old.index, index) if old else index
            buf = SpikeBuffer(merged)
            if old is not None:
                buf.steps = [self._remap_spikes(s, old.index, merged) for s in old.steps]
                buf.shifts = list(old.shifts)
            self.spikes[gid] = buf
            return
        if not self._recordable(gid, variable):
            raise ValueError(f"cannot record {variable!r} from this group")
        every = max(1, int(round((sampling_interval or self.dt) / self.dt)))
        old = self.signals.get((gid, variable))
        merged = np.union1d(old.index, index) if old else index
        buf = SignalBuffer(merged, every, self.dt)
        if old is not None and old.chunks:
            data = np.full((len(old.data()), len(merged)), np.nan, np.float32)
            data[:, np.searchsorted(merged, old.index)] = old.data()
            buf.chunks, buf.t_start = [data], old.t_start
        self.signals[(gid, variable)] = buf

    def _receptor_signal(self, gid, variable):
        """Channel index of a "<receptor>.gsyn" / "<receptor>.isyn" signal, or None."""
        name, _, what = variable.rpartition(".")
        if what in RECEPTOR_SIGNALS and name in self.receptor_names(gid):
            return self._channel(gid, name)
        return None

    def _loop_signal(self, gid, variable):
        """The loop's name of a recorded variable (channel r's g is "g<r>")."""
        channel = self._receptor_signal(gid, variable)
        return variable if channel is None else f"g{channel}"

    @staticmethod
    def _remap_spikes(pairs, old_index, new_index):
        pairs = pairs.copy()
        pairs[:, 1] = np.searchsorted(new_index, old_index[pairs[:, 1]])
        return pairs

    def recorded_spikes(self, gid, clear=False):
        buf = self.spikes.get(gid)
        if buf is None:
            return {}
        out = buf.times(self.dt)
        if self.groups[gid].report_given_times:
            out = {i: self._given_times(gid, i, t) for i, t in out.items()}
        if clear:
            buf.clear()
        return out

    def _given_times(self, gid, index, grid_times):
        """A source's recorded spikes at the times it was given (SpikeSourceArray's
        0.075 ms, not the step 0.08 ms at which it is delivered), as pyNN.neuron and
        pyNN.nest report them; spikes no longer in its list keep their step's time."""
        given = np.asarray(self.groups[gid].spike_times[index], dtype=float)
        if not len(grid_times) or not len(given):
            return grid_times
        steps = np.round(given / self.dt).astype(np.int64)  # sorted, as the times are
        grid_times = np.asarray(grid_times, dtype=float)
        recorded = np.round(grid_times / self.dt).astype(np.int64)
        lo = np.searchsorted(steps, recorded, "left")
        count = np.searchsorted(steps, recorded, "right") - lo
        take = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
        out = np.concatenate([grid_times[count == 0], given[take]])
        return np.sort(out)

    def recorded_signal(self, gid, variable, clear=False):
        buf = self.signals.get((gid, variable))
        if buf is None:
            return np.zeros(0, np.int64), np.zeros((0, 0)), 0.0, self.dt
        out = (buf.index.copy(), buf.data(), buf.t_start or 0.0, buf.sampling_steps * self.dt)
        if clear:
            buf.clear()
        return out

    # ------------------------------------------------------------------ state
    def _initial_state(self, group):
        surrogate, cell = self._surrogate(group.celltype)
        inputs = None
        if surrogate.kind == izhikevich.KIND:  # at its initial state for ever
            inputs = izhikevich.rest_inputs(group.parameters, group.initial)
        elif surrogate.is_membrane:  # its memory starts as if at rest for ever
            inputs = np.stack(cell_rules.if_rest_inputs(
                group.parameters, group.synapses, group.initial["v"],
                group.initial.get("w", 0.0), surrogate.kind == "exp_membrane"),
                axis=1).astype(np.float32)
        v0, *memory = [np.array(x) for x in cell.initial_state(group.initial["v"], inputs)]
        # memory: the surrogate's own state after v (feature ring, LSTM h and c, and
        # whatever else its cell carries, e.g. channel gates)
        state = {"v": v0[:, 0].astype(np.float32), "memory": memory}
        zero = np.zeros(group.size, np.float32)
        for key, name in (("g_exc", "gsyn_exc"), ("g_inh", "gsyn_inh"), ("g_s", "g_s"),
                          ("g_r", "g_r"), ("w", "w"), ("w", "u")):
            if name in group.initial or key not in state:
                state[key] = group.initial.get(name, zero).astype(np.float32)
        state.update(x_exc=zero.copy(), x_inh=zero.copy(), refrac=zero.copy())
        for r, (name, _) in enumerate(group.receptors):  # named receptors
            kg, kx = cell_rules.state_keys(r)
            state.setdefault(kg, zero.copy())
            state.setdefault(kx, zero.copy())
            for what in RECEPTOR_SIGNALS:
                if f"{name}.{what}" in group.initial:
                    state[kg] = group.initial[f"{name}.{what}"].astype(np.float32)
        k = cell_rules.components(group.parameters)
        state.update({key: np.zeros((group.size, k), np.float32) for key in COMPONENT_STATE})
        return state

    def _reset_group_state(self, group):
        group.state = self._initial_state(group)

    def reset(self):
        """Back to t = 0 with every cell at its initial values; recordings cleared."""
        self.step = 0
        for group in self.groups:
            if group.kind == "cells":
                self._reset_group_state(group)
        for buf in list(self.signals.values()) + list(self.spikes.values()):
            buf.clear()
        for source in self.current_sources:
            if source["recorded"] is not None:
                source["recorded"] = {"start": 0, "chunks": []}
        for group in self.groups:
            if group.renewal is not None:
                group.renewal.restart(0.0)
        for p in self.synapses.projections:
            if "stp" in p:
                p["stp"]["state"] = stp.initial_state(len(p["weight"]), p["stp"]["u0"])
            if "stdp" in p:
                p["stdp"]["state"] = stdp.initial_state(p["weight"])
            if "sto" in p:
                p["sto"]["state"] = sto.initial_state(p["sto"]["kind"], p["sto"]["params"],
                                                      len(p["weight"]))
                for name, values in p["sto"].get("initial", {}).items():
                    sto.set_initial(p["sto"], name, values, 0.0)
        if self._runner is not None:
            self._runner.reset_ring()

    # ------------------------------------------------------------------ layout
    def _layout(self):
        """Positions of every group in cell / source / neuron space."""
        cell_groups = [g for g in range(len(self.groups)) if self.groups[g].kind == "cells"]
        celltypes = list(dict.fromkeys(self.groups[g].celltype for g in cell_groups))
        order = [g for ct in celltypes for g in cell_groups if self.groups[g].celltype == ct]
        offsets, pos = {}, 0
        models = []
        for ct in celltypes:
            start = pos
            for g in order:
                if self.groups[g].celltype == ct:
                    offsets[g] = pos
                    pos += self.groups[g].size
            models.append((ct, start, pos))
        n_cells = pos
        for kind in ("poisson", "array"):
            for g, group in enumerate(self.groups):
                if group.kind == kind:
                    offsets[g] = pos
                    pos += group.size
        n_poisson = sum(g.size for g in self.groups if g.kind == "poisson")
        return offsets, models, n_cells, n_poisson, pos - n_cells - n_poisson

    def _prepare(self):
        offsets, models, n_cells, n_poisson, n_array = self._layout()
        self._offsets = offsets
        const = self._constants(offsets, models, n_cells, n_poisson, n_array)
        signals = [(self._loop_signal(gid, var), (offsets[gid] + buf.index).astype(np.int64),
                    buf.sampling_steps) for (gid, var), buf in sorted(self.signals.items())]
        spike_index = np.concatenate(
            [offsets[gid] + buf.index for gid, buf in sorted(self.spikes.items())]
            or [np.zeros(0, np.int64)]).astype(np.int64)
        slots = self.synapses.max_delay + 2
        injected = self._injected_cells()
        key = (tuple(models), n_cells, n_poisson, n_array, slots, tuple(self._senders),
               self._plastic, self._stdp_key, self._sto_key, tuple(injected),
               tuple((v, tuple(i), e) for v, i, e in signals), tuple(spike_index),
               self._escape, self._channels, self._has_jumps, self._poisson_terms,
               self._array_repeats)
        if key != self._layout_key:
            old_ring = old_history = None
            if self._runner is not None and self._layout_key[:5] == key[:5]:
                old_ring = B.to_numpy(self._runner.ring)
                if self._runner.history is not None:
                    old_history = B.to_numpy(self._runner.history)
            model_cells = [(self._surrogate(ct)[1], a, b, self._surrogate(ct)[0].kind)
                           for ct, a, b in models]
            self._runner = ChunkRunner(model_cells, n_cells, n_poisson, n_array, slots,
                                       signals, spike_index, self.seed, self._senders,
                                       injected, self.dt, plastic=self._plastic,
                                       stdp=self._stdp_info,
                                       stochastic=self._sto_info, escape=self._escape,
                                       channels=self._channels,
                                       precise=self.spike_precision == "off_grid",
                                       jumps=self._has_jumps,
                                       poisson_terms=self._poisson_terms,
                                       array_repeats=self._array_repeats)
            dropped = old_ring is None
            history = self._runner.history
            if old_history is not None and history is not None \
                    and old_history.shape != tuple(history.shape):
                old_history, dropped = None, True  # other STDP delays: recent spikes forgotten
            if old_ring is not None:
                self._runner.set_ring(old_ring, old_history if history is not None else None)
            if dropped and self.step > 0 and self._layout_key is not None:
                import warnings
                warnings.warn("the network changed after the simulation started: spikes "
                              "in transit were dropped")
            self._layout_key = key
        return const, models

    def _warn_dense_poisson(self, gid, rate):
        """A Poisson source emits at most ``poisson.MAX_TERMS`` spikes per step: warn
        (once per group and rate) where that loses spikes."""
        top = float(np.max(rate, initial=0.0))
        per_step = top * self.dt / 1000.0
        if poisson.terms_for(per_step) >= poisson.MAX_TERMS \
                and self._dense_warned.get(gid) != top:
            self._dense_warned[gid] = top
            registry._warn_user(
                f"SpikeSourcePoisson rate {top:g} Hz is {per_step:.3g} spikes per "
                f"{self.dt:g}-ms step on average; pyNN.ann emits at most "
                f"{poisson.MAX_TERMS} spikes per source and step, so some are lost. Use "
                "a smaller timestep or split the source into several of lower rate.")

    def _constants(self, offsets, models, n_cells, n_poisson, n_array):
        cols = {k: np.full(n_cells, cell_rules.neutral(k), np.float32)
                for k in cell_rules.columns(self._channels)}
        p_lambda = np.zeros(n_poisson, np.float32)  # mean spikes per step
        p_start = np.zeros(n_poisson, np.int64)
        p_stop = np.zeros(n_poisson, np.int64)
        # how far (in steps) the grid points p_start, p_stop lie after start, stop
        p_start_after = np.zeros(n_poisson, np.float32)
        p_stop_after = np.zeros(n_poisson, np.float32)
        a_steps, a_index, a_shift = [], [], []
        for gid, group in enumerate(self.groups):
            off = offsets[gid]
            sl = slice(off, off + group.size)
            if group.kind == "cells":
                surrogate, _ = self._surrogate(group.celltype)
                if surrogate.kind == izhikevich.KIND:
                    mine = cell_rules.izhikevich_columns(group.parameters, self.dt)
                elif surrogate.is_membrane:
                    mine = cell_rules.if_columns(group.parameters, group.synapses, self.dt)
                else:
                    mine = cell_rules.hh_columns(surrogate, group.parameters, self.dt)
                for k, values in mine.items():
                    cols[k][sl] = values
            elif group.kind == "poisson":
                sl = slice(off - n_cells, off - n_cells + group.size)
                p = group.parameters
                p_lambda[sl] = p["rate"] * self.dt / 1000.0
                self._warn_dense_poisson(gid, p["rate"])
                for steps, after, t in ((p_start, p_start_after, p["start"]),
                                        (p_stop, p_stop_after, p["start"] + p["duration"])):
                    steps[sl] = np.ceil(t / self.dt - 1e-9)
                    after[sl] = np.clip(steps[sl] - t / self.dt, 0.0, 1.0 - 1e-6)
            else:
                for i, times in enumerate(group.spike_times):
                    steps = np.round(times / self.dt).astype(np.int64)
                    a_steps.append(steps)  # several in one step: all delivered
                    a_shift.append(steps - np.asarray(times, float) / self.dt)
                    a_index.append(np.full(len(steps), off - n_cells - n_poisson + i))
        a_steps = np.concatenate(a_steps) if a_steps else np.zeros(0, np.int64)
        a_index = np.concatenate(a_index) if a_index else np.zeros(0, np.int64)
        a_shift = np.concatenate(a_shift) if a_shift else np.zeros(0)
        order = np.argsort(a_steps, kind="stable")
        # some array source with several spikes in one step (compiled in only then)
        self._array_repeats = bool(np.any(
            (a_steps[order][1:] == a_steps[order][:-1])
            & (a_index[order][1:] == a_index[order][:-1])))
        self._array_steps, self._array_index = a_steps[order], a_index[order]
        self._array_shift = a_shift[order]
        csr = self._synapse_arrays(offsets, n_cells)
        row_ptr, target, weight, delay = (csr[k] for k in ("row_ptr", "target", "weight",
                                                            "delay"))
        self._csr_order = csr["order"]
        fanout = np.diff(row_ptr)
        self._senders = [(offsets[g], offsets[g] + grp.size,
                          int(fanout[offsets[g]:offsets[g] + grp.size].max(initial=0)))
                         for g, grp in enumerate(self.groups)]
        self._has_jumps = bool(np.any(cols["delta"] > 0))  # delta synapses somewhere
        self._poisson_terms = poisson.terms_for(p_lambda)
        self._poisson_host = dict(p_lambda=p_lambda, p_start=p_start, p_stop=p_stop,
                                  p_start_after=p_start_after, p_stop_after=p_stop_after)
        cols.update(cell_rules.arrival_columns(cols, self._channels, self.dt))
        const = dict(cols, p_lambda=p_lambda, p_start=p_start, p_stop=p_stop,
                     p_start_after=p_start_after, p_stop_after=p_stop_after,
                     row_ptr=row_ptr, syn_target=target, syn_weight=weight, syn_delay=delay)
        const.update(self._component_columns(offsets, n_cells))
        const = {k: B.constant(v) for k, v in const.items()}
        if self._plastic:
            const.update(self._stp_columns(cols, n_cells, target))
        const.update(self._sto_columns())
        const.update(self._stdp_constants(offsets, n_cells))
        return const

    @property
    def _escape(self):
        """None without GIF cells; else K, the most eta/gamma components of a cell."""
        ks = [cell_rules.components(g.parameters) for g in self.groups
              if g.kind == "cells" and "tau_eta" in g.parameters]
        return max([1] + ks) if ks else None

    def _component_columns(self, offsets, n_cells):
        """The (cells x K) columns of the GIF components (none without GIF cells)."""
        k = self._escape
        if k is None:
            return {}
        cols = cell_rules.component_columns({}, n_cells, k, self.dt)
        for gid, group in enumerate(self.groups):
            if group.kind == "cells" and "tau_eta" in group.parameters:
                sl = slice(offsets[gid], offsets[gid] + group.size)
                mine = cell_rules.component_columns(group.parameters, group.size, k, self.dt)
                for name, values in mine.items():
                    cols[name][sl] = values
        return {name: values.astype(np.float32) for name, values in cols.items()}

    @property
    def _plastic(self):
        return any("stp" in p for p in self.synapses.projections)

    def _csr_projections(self):
        """(projection, (pre_gid, post_gid, receptor)) of the synapses in the CSR table:
        all but STDP synapses, which have their own tables."""
        return [(p, meta) for p, meta in zip(self.synapses.projections, self._syn_meta)
                if "stdp" not in p]

    def _stp_concat(self, pick, default, dynamics="stp"):
        """Per-synapse values of every CSR projection (``default`` for those without
        ``dynamics``), in CSR order."""
        parts = [pick(p[dynamics]) if dynamics in p else np.full(len(p["weight"]), default)
                 for p, _ in self._csr_projections()]
        return np.concatenate(parts)[self._csr_order]

    @property
    def _stochastic(self):
        return any("sto" in p for p, _ in self._csr_projections())

    def _sto_columns(self):
        """Parameter columns of the stochastic synapses (sets ``_sto_info``, the loop's
        static description, and ``_sto_key``)."""
        self._sto_info = self._sto_key = None
        if not self._stochastic:
            return {}
        mine = [p["sto"] for p, _ in self._csr_projections() if "sto" in p]
        kinds = tuple(k for k in sto.KINDS if any(s["kind"] == k for s in mine))
        n_max = max([int(s["params"]["n"].max(initial=1)) for s in mine
                     if s["kind"] == "multi_quantal"] or [1])
        self._sto_info = {"kinds": kinds, "n_max": n_max}
        self._sto_key = (kinds, n_max)
        out = {"sto_kind": self._stp_concat(
            lambda s: np.full(len(s["state"]["u"]), sto.CODES[s["kind"]]), 0.0, "sto")}
        for k in sto.COLUMNS:
            if k != "kind":
                out["sto_" + k] = self._stp_concat(
                    lambda s: s["params"].get(k, np.full(len(s["state"]["u"]),
                                                         sto.COLUMNS[k])),
                    sto.COLUMNS[k], "sto")
        const = {k: B.to_device(v, "float32") for k, v in out.items()}
        # identifiers for the random numbers: positions in the order of creation
        const["sto_id"] = B.constant(self._csr_order.astype(np.int64))
        return const

    def _stdp_constants(self, offsets, n_cells):
        """Tables and rule columns of the STDP synapses (sets ``_stdp_info``, the
        loop's static description, and ``_stdp_key``)."""
        self._stdp_info, self._stdp_key = None, None
        projections = self.synapses.projections
        mine = [(p, meta) for p, meta in zip(projections, self._syn_meta) if "stdp" in p]
        if not mine:
            return {}
        cat = lambda f: np.concatenate([f(p, m) for p, m in mine])  # noqa: E731
        passes, history, target = stdp_tables.build(
            pre=cat(lambda p, m: offsets[m[0]] + p["pre"]),
            post=cat(lambda p, m: offsets[m[1]] + p["target"]),
            target=cat(lambda p, m: offsets[m[1]] + p["target"]
                       + self._channel(m[1], m[2]) * n_cells),
            delay=cat(lambda p, m: p["delay"]),
            fraction=cat(lambda p, m: p["stdp"]["params"]["dendritic_delay_fraction"]),
            dt=self.dt)
        self._stdp_info = {"history": history, "n": len(target),
                           "passes": {k: (len(ps.neurons), ps.lags, ps.fan)
                                      for k, ps in passes.items()}}
        self._stdp_key = (history, len(target),
                          tuple(sorted(self._stdp_info["passes"].items())))
        const = {"stdp_target": B.constant(target)}
        for k, v in stdp_tables.rule_columns(projections).items():
            const["stdp_" + k] = B.to_device(v, "float32")
        for name, ps in passes.items():
            const.update({f"stdp_{name}_neurons": B.constant(ps.neurons),
                          f"stdp_{name}_row_ptr": B.constant(ps.row_ptr),
                          f"stdp_{name}_syn": B.constant(ps.syn)})
        return const

    def _stp_columns(self, cols, n_cells, target):
        decay = np.concatenate([cols["decay_" + cell_rules.suffix(r)]
                                for r in range(self._channels)])[target]
        with np.errstate(divide="ignore"):
            tau_syn = np.where(decay < 1.0, -self.dt / np.log(decay), 1e9)
        out = {"stp_on": self._stp_concat(lambda s: np.ones(len(s["u0"])), 0.0),
               "stp_tau_syn": tau_syn}
        for k in stp.PARAMETERS:
            out[f"stp_{k}"] = self._stp_concat(lambda s: s["params"][k], stp.DEFAULTS[k])
        return {k: B.to_device(v, "float32") for k, v in out.items()}

    def _synapse_arrays(self, offsets, n_cells):
        table = SynapseTable()
        for p, (pre_gid, post_gid, receptor) in self._csr_projections():
            target = (offsets[post_gid] + p["target"]
                      + self._channel(post_gid, receptor) * n_cells)
            table.add(offsets[pre_gid] + p["pre"], target, p["weight"], p["delay"])
        n_total = sum(g.size for g in self.groups)
        return table.compile(n_total)

    # ------------------------------------------------------------------ running
    def _device_state(self, models):
        order = sorted((self._offsets[g], g) for g, grp in enumerate(self.groups)
                       if grp.kind == "cells")
        cat = lambda key: np.concatenate(  # noqa: E731  (absent channels: zero)
            [self.groups[g].state.get(key, np.zeros(self.groups[g].size, np.float32))
             for _, g in order] or [np.zeros(0, np.float32)])
        state = {key: B.to_device(cat(key), "float32") for key in _cell_state(self._channels)}
        if self._escape:  # GIF components, padded to K columns
            for key in COMPONENT_STATE:
                state[key] = B.to_device(np.concatenate(
                    [_fit(self.groups[g].state[key], self._escape) for _, g in order]
                    or [np.zeros((0, self._escape))]).astype(np.float32), "float32")
        if self._plastic:
            state["stp"] = {k: B.to_device(self._stp_concat(lambda s: s["state"][k], 0.0),
                                           "float32") for k in stp.STATE}
        if self._stochastic:  # in the same dictionary as Tsodyks-Markram's
            state.setdefault("stp", {}).update({"sto_" + k: B.to_device(self._stp_concat(
                lambda s: s["state"][k], 0.0, "sto"), "float32") for k in sto.STATE})
        if self._stdp_info is not None:
            state["stdp"] = {k: B.to_device(np.append(stdp_tables.concat(  # + padding
                self.synapses.projections, lambda s: s["state"][k]), 0),
                B.INDEX if k.startswith("t_") else "float32") for k in stdp.STATE}
        state["peak_a"] = ops.zeros_like(state["v"])
        state["peak_b"] = ops.zeros_like(state["v"])
        state["models"] = []
        for ct, a, b in models:
            sub = [g for off, g in order if a <= off < b]
            v = B.to_device(np.concatenate([self.groups[g].state["v"] for g in sub]),
                            "float32")
            memory = [B.to_device(np.concatenate(parts), "float32") for parts in zip(
                *(self.groups[g].state["memory"] for g in sub))]
            state["models"].append((v[:, None], *memory))
        return state

    def _store_state(self, state, models):
        if self._plastic or self._stochastic:
            back = np.empty_like(self._csr_order)
            back[self._csr_order] = np.arange(len(self._csr_order))
            host = {k: B.to_numpy(v) for k, v in state["stp"].items()}
            start = 0
            for p, _ in self._csr_projections():
                n = len(p["weight"])
                if "stp" in p:
                    for k in stp.STATE:
                        p["stp"]["state"][k] = host[k][back[start:start + n]]
                if "sto" in p:
                    for k in sto.STATE:
                        p["sto"]["state"][k] = host["sto_" + k][back[start:start + n]]
                start += n
        if "stdp" in state:
            stdp_tables.store(self.synapses.projections,
                              {k: B.to_numpy(v)[:-1] for k, v in state["stdp"].items()})
        peaks = (B.to_numpy(state["peak_a"]), B.to_numpy(state["peak_b"]))
        host = {key: B.to_numpy(state[key])
                for key in _cell_state(self._channels) + COMPONENT_STATE if key in state}
        for g, group in enumerate(self.groups):
            if group.kind != "cells":
                continue
            off = self._offsets[g]
            sl = slice(off, off + group.size)
            surrogate = self._surrogate(group.celltype)[0]
            surrogate.check_inputs(dict(zip(surrogate.monitored_inputs,
                                            (p[sl] for p in peaks))))
            for key in _cell_state(len(group.receptors)):
                group.state[key] = host[key][sl]
            for key in [k for k in COMPONENT_STATE if k in host]:
                group.state[key] = host[key][sl, :group.state[key].shape[1]]
            for (ct, a, b), ms in zip(models, state["models"]):
                if a <= off < b:
                    local = slice(off - a, off - a + group.size)
                    group.state["memory"] = [B.to_numpy(arr)[local] for arr in ms[1:]]

    def _record_initial_samples(self):
        for (gid, var), buf in self.signals.items():
            if not buf.chunks and self.step % buf.sampling_steps == 0:
                buf.append(self.step, self._state_signal(gid, var)[buf.index][None, :])

    def _state_signal(self, gid, var):
        """The recordable ``var`` of a group's cells from its host state."""
        group = self.groups[gid]
        if var == "i_eta":
            return group.state["eta"].sum(axis=1)
        if var == "v_t":
            return group.parameters["v_t_star"] + group.state["gamma"].sum(axis=1)
        channel = self._receptor_signal(gid, var)
        if channel is not None:
            return group.state[cell_rules.state_keys(channel)[0]]
        return group.state[STATE_OF_SIGNAL[var]]

    def run(self, duration):
        """Advance the network by ``duration`` ms (rounded to whole steps)."""
        n_steps = int(round(duration / self.dt))
        if n_steps <= 0:
            return
        for group in self.groups:  # spikes of renewal sources due in this run
            if group.renewal is not None:
                group.spike_times = group.renewal.emit(
                    group.parameters, (self.step + n_steps + 0.5) * self.dt)
        clock = time.perf_counter()
        const, models = self._prepare()
        self._record_initial_samples()
        state = self._device_state(models)
        n_rec = sum(len(i) for _, i, _ in self._runner.signals) + len(self._runner.spike_index)
        chunk = int(min(MAX_CHUNK_STEPS, max(100, MAX_CHUNK_VALUES // max(1, n_rec))))
        clock = self._tick("prepare", clock)
        done, bar = 0, None
        while done < n_steps:
            n = _chunk_size(chunk, n_steps - done)
            k0 = self.step
            started = time.perf_counter()
            injection, targets = self._injection(k0, n, record=True)
            self._check_injection(const, injection, targets)
            events, shifts = self._array_events(k0, n)
            clock = self._tick("host", clock)
            new_size = not self._runner.is_compiled(n)
            state, samples, spikes = self._runner.run_chunk(k0, n, state, const, events,
                                                            shifts, injection)
            self._collect(k0, n, samples, spikes)  # waits for the device
            clock = self._tick("compile" if new_size else "loop", clock)
            self.step += n
            done += n
            per_step = (time.perf_counter() - started) / n
            if bar is None and self.progress and not new_size \
                    and per_step * (n_steps - done) > 2.0:
                bar = tqdm(total=n_steps, initial=done, unit="step", leave=False,
                           desc="pyNN.ann")  # a long run: show progress between chunks
            elif bar is not None:
                bar.update(n)
        if bar is not None:
            bar.close()
        self._store_state(state, models)
        self._tick("host", clock)

    def _tick(self, part, since):
        """Add the time since ``since`` to ``timings[part]``; returns now.

        "prepare": constants and state to the device; "compile": chunks of a size run
        for the first time (XLA compilation included); "loop": the compiled loop and
        reading its results back; "host": inputs of each chunk, storing the state."""
        now = time.perf_counter()
        self.timings[part] += now - since
        return now

    def _check_injection(self, const, injection, targets):
        if not len(targets):
            return
        total = injection + B.to_numpy(const["i_ext"])[targets][None, :]
        lo, hi = total.min(axis=0), total.max(axis=0)
        for g, group in enumerate(self.groups):
            if group.kind == "cells":
                off = self._offsets[g]
                mine = (targets >= off) & (targets < off + group.size)
                if mine.any():
                    self._surrogate(group.celltype)[0].check_inputs(
                        {"i_ext": np.concatenate([lo[mine], hi[mine]])})

    def _array_events(self, k0, n):
        """Array-source spikes of steps k0+1 .. k0+n as an (n x E) index matrix, and
        the (n x E) steps each lies before its step's grid time."""
        lo, hi = np.searchsorted(self._array_steps, [k0 + 1, k0 + n + 1])
        steps = self._array_steps[lo:hi] - (k0 + 1)
        per_step = np.bincount(steps, minlength=n)
        events = np.full((n, max(1, per_step.max(initial=0))), self._runner.n_array, np.int64)
        shifts = np.zeros(events.shape)
        rank = np.arange(len(steps)) - np.repeat(np.cumsum(per_step) - per_step, per_step)
        events[steps, rank] = self._array_index[lo:hi]
        shifts[steps, rank] = self._array_shift[lo:hi]
        return events, shifts

    def _collect(self, k0, n, samples, spikes):
        for ((gid, var), buf), data in zip(sorted(self.signals.items()), samples):
            every = buf.sampling_steps
            count = (k0 + n) // every - k0 // every
            buf.append((k0 // every + 1) * every, B.to_numpy(data)[:count])
        spikes = B.to_numpy(spikes)
        col = 0
        for gid, buf in sorted(self.spikes.items()):
            mine = spikes[:, col:col + len(buf.index)]
            if self.groups[gid].kind == "poisson":
                self._collect_poisson(gid, buf, k0 + 1, mine)
            else:
                buf.append(k0 + 1, mine)
            col += len(buf.index)

    def _collect_poisson(self, gid, buf, step_of_first, codes):
        """Recorded Poisson events (count + mean position) back into spike times: the
        host draws the same numbers as the loop (``poisson.recorded_positions``)."""
        rows, cols = np.nonzero(codes)
        source = self._offsets[gid] - self._runner.n_cells + buf.index[cols]
        host = {k: v[source] for k, v in self._poisson_host.items()}
        event, positions = poisson.recorded_positions(
            self.seed, rows + step_of_first, source, host["p_lambda"], host["p_start"],
            host["p_start_after"], host["p_stop"], host["p_stop_after"],
            self._poisson_terms, self.spike_precision == "off_grid")
        buf.add(rows[event] + step_of_first, cols[event], positions)
