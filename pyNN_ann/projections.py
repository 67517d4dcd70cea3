"""
Projection for the pyNN.ann backend.

Connectors call ``_convergent_connect`` once per post-synaptic cell; the connections
are collected as arrays and handed to the engine in one ``add_synapses`` call per
(pre group, post group) pair, i.e. one call for a Projection between two Populations.
Weights and delays live in the engine; the adapter keeps only the addresses.
"""

import numpy as np
from pyNN import common, connectors, errors
from pyNN.parameters import ParameterSpace
from pyNN.space import Space

from . import simulator
from .engine import stochastic_synapses as sto
from .populations import engine_addresses
from .standardmodels.synapses import (MultiQuantalSynapse, SimpleStochasticSynapse,
                                      StaticSynapse, STDPMechanism,
                                      StochasticTsodyksMarkramSynapse, TsodyksMarkramSynapse)

SUPPORTED_SYNAPSES = (StaticSynapse, TsodyksMarkramSynapse, STDPMechanism,
                      SimpleStochasticSynapse, StochasticTsodyksMarkramSynapse,
                      MultiQuantalSynapse)


def check_delays(delays, state):
    """Raise ConnectionError unless all `delays` (ms) are >= dt and within the
    min/max delay given to setup(); note the smallest for ``min_delay="auto"``."""
    delays = np.asarray(delays, dtype=float)
    if delays.size == 0:
        return
    dt = state.dt
    tolerance = 1e-6 * dt  # allows float32 round trips
    if np.isnan(delays).any():
        raise errors.ConnectionError("Synaptic delays must be numbers, not NaN")
    if delays.min() < dt - tolerance:
        raise errors.ConnectionError(
            f"Synaptic delay {delays.min():g} ms is smaller than the time step "
            f"dt = {dt:g} ms; pyNN.ann needs delays >= dt (they are rounded to "
            "multiples of dt)")
    if delays.min() < state.engine_dt - 1e-6 * state.engine_dt:
        raise errors.ConnectionError(
            f"Synaptic delay {delays.min():g} ms is smaller than {state.engine_dt:g} ms, the "
            f"step at which pyNN.ann advances the cells for timestep {dt:g} ms (no surrogate "
            f"is trained at {dt:g} ms); use delays >= {state.engine_dt:g} ms")
    if delays.min() < state.declared_min_delay - tolerance:
        raise errors.ConnectionError(
            f"Synaptic delay {delays.min():g} ms is smaller than min_delay "
            f"{state.declared_min_delay:g} ms given to setup() (time step dt = {dt:g} ms)")
    if state.max_delay != "auto" and delays.max() > state.max_delay + tolerance:
        raise errors.ConnectionError(
            f"Synaptic delay {delays.max():g} ms is larger than max_delay "
            f"{state.max_delay:g} ms given to setup()")
    state.note_delays(delays.min())


def _celltype_name(cells):
    populations = getattr(cells, "populations", [cells])
    return ", ".join(sorted({type(p.celltype).__name__ for p in populations}))


class OneToOneConnector(connectors.OneToOneConnector):
    __doc__ = connectors.OneToOneConnector.__doc__

    def connect(self, projection):
        """Connect cell i of the pre-synaptic population to cell i of the post-synaptic
        one (also for populations of size 1, which PyNN's version fails on with
        NumPy >= 2.1)."""
        n_pre = projection.pre.size

        def connection_map_generator(mask=None):
            columns = np.arange(projection.post.size)
            if mask is not None:
                columns = columns[mask]
            for j in columns:
                yield np.array([j] if j < n_pre else [], dtype=int)

        self._standard_connect(projection, connection_map_generator)


class Connection(common.Connection):
    """One connection of a Projection: its indices, weight and delay.

    The values are those of when the connection was obtained (``prj[i]``,
    ``prj.connections``); assigning ``weight`` or ``delay`` changes the connection in the
    simulation, as in pyNN.nest and pyNN.neuron."""

    def __init__(self, projection, position, weight, delay):
        self._projection = projection
        self._position = position
        self.presynaptic_index = int(projection._pre_index[position])
        self.postsynaptic_index = int(projection._post_index[position])
        self._weight = weight
        self._delay = delay

    weight = property(lambda self: self._weight, lambda self, value: self._write("weight", value))
    delay = property(lambda self: self._delay, lambda self, value: self._write("delay", value))

    def _write(self, name, value):
        self._projection._set_one(name, self._position, value)
        setattr(self, "_" + name, float(value))

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _within_group(group_index, cells):
    """Indices within their engine group of the ``cells`` (positions in a Population,
    PopulationView or Assembly whose group indices are ``group_index``)."""
    if np.array_equal(group_index, np.arange(group_index.size)):
        return cells  # a whole Population: positions are the group indices
    return group_index[cells]


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population,
                 connector, synapse_type=None, source=None, receptor_type=None,
                 space=Space(), label=None):
        if not getattr(postsynaptic_population, "receptor_types", None):
            raise errors.ConnectionError(
                f"{postsynaptic_population.label!r} ({_celltype_name(postsynaptic_population)}) "
                "has no synaptic receptors: it cannot be the target of a Projection")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type,
                                   space, label)
        if not isinstance(self.synapse_type, SUPPORTED_SYNAPSES):
            raise NotImplementedError(
                f"pyNN.ann does not support {type(self.synapse_type).__name__} yet "
                "(StaticSynapse, TsodyksMarkramSynapse, STDPMechanism and the stochastic "
                "synapses are available)")
        self._names = list(self.synapse_type.get_native_names())
        self._pending = {name: [] for name in ["pre", "post"] + self._names}
        self._initial_u = None
        self._blocks = []  # (engine synapse id, positions in this projection)
        connector.connect(self)
        self._flush()

    # --- construction ---------------------------------------------------------

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Collect connections from `presynaptic_indices` to one post-synaptic cell."""
        if location_selector is not None:
            raise NotImplementedError("pyNN.ann does not support multicompartment models.")
        pre = np.asarray(presynaptic_indices, dtype=int).ravel()
        n = pre.size
        if n == 0:
            return
        self._pending["pre"].append(pre)
        self._pending["post"].append(np.full(n, int(postsynaptic_index), dtype=int))
        for name in self._names:
            value = np.asarray(connection_parameters[name], dtype=float)
            self._pending[name].append(np.broadcast_to(value.ravel() if value.ndim else value,
                                                       (n,)))

    def _flush(self):
        """Hand all collected connections to the engine."""
        pending = self._pending
        del self._pending
        index_type = np.int32 if max(self.pre.size, self.post.size) < 2 ** 31 else np.int64
        columns = {}
        for name in list(pending):  # one column at a time: the pieces go as it is joined
            pieces = pending.pop(name)
            dtype = index_type if name in ("pre", "post") else float
            columns[name] = np.concatenate(pieces).astype(dtype, copy=False) if pieces \
                else np.zeros(0, dtype)
            del pieces
        check_delays(columns["delay"], self._simulator.state)
        self._pre_index = columns.pop("pre")
        self._post_index = columns.pop("post")
        if self._pre_index.size == 0:
            return
        dynamics_kind = getattr(self.synapse_type, "engine_dynamics", None)
        extra = {}
        if dynamics_kind == "tsodyks_markram":
            extra["u"] = self.synapse_type.default_initial_values.get("u", 0.0)
        elif dynamics_kind == "stdp":
            extra.update(self.synapse_type.engine_rule())
        pre_gid, pre_idx = engine_addresses(self.pre)
        post_gid, post_idx = engine_addresses(self.post)
        for (pre_group, post_group), positions in self._group_pairs(pre_gid, post_gid):
            pre, post = self._pre_index[positions], self._post_index[positions]
            dynamics = None
            if dynamics_kind:
                dynamics = {name: columns[name][positions] for name in self._names
                            if name not in ("weight", "delay")}
                dynamics.update(kind=dynamics_kind, **extra)
            try:
                sid = self._simulator.state.engine.add_synapses(
                    int(pre_group), _within_group(pre_idx, pre), int(post_group),
                    _within_group(post_idx, post),
                    columns["weight"][positions], columns["delay"][positions],
                    self.receptor_type, dynamics=dynamics)
            except ValueError as err:
                raise errors.InvalidParameterValueError(str(err)) from None
            self._blocks.append((sid, positions))

    def _group_pairs(self, pre_gid, post_gid):
        """((pre group, post group), positions of its connections) for each pair of
        engine groups this projection joins; the positions are a slice (no copy) when a
        single pair holds every connection, as between two Populations."""
        if (pre_gid == pre_gid[0]).all() and (post_gid == post_gid[0]).all():
            return [((pre_gid[0], post_gid[0]), slice(None))]
        pairs = np.stack([pre_gid[self._pre_index], post_gid[self._post_index]], axis=1)
        return [(pair, np.nonzero((pairs == pair).all(axis=1))[0])
                for pair in np.unique(pairs, axis=0)]

    # --- access ---------------------------------------------------------------

    def __len__(self):
        return int(self._pre_index.size)

    def _values(self, name):
        """Array (one value per connection) of attribute `name`, read from the engine."""
        if name == "presynaptic_index":
            return self._pre_index
        if name == "postsynaptic_index":
            return self._post_index
        if name not in self._names:
            raise errors.NonExistentParameterError(name, self.synapse_type.__class__.__name__,
                                                   self._names)
        values = np.empty(len(self))
        engine = self._simulator.state.engine
        for sid, positions in self._blocks:
            values[positions] = engine.get_synapses(sid, name)
        return values

    def __getitem__(self, i):
        """Return the `i`th connection."""
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"connection index {i} out of range (size {len(self)})")
        return Connection(self, i, float(self._values("weight")[i]),
                          float(self._values("delay")[i]))

    def __iter__(self):
        return iter(self.connections)

    @property
    def connections(self):
        """List of all connections (snapshots of their weight and delay)."""
        weights, delays = self._values("weight"), self._values("delay")
        return [Connection(self, k, float(w), float(d))
                for k, (w, d) in enumerate(zip(weights, delays))]

    def _get_attributes_as_list(self, names):
        columns = []
        for name in names:
            values = self._values(name)
            columns.append(values.astype(int).tolist() if name.endswith("_index")
                           else values.tolist())
        return list(zip(*columns))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        if multiple_synapses not in common.Projection.MULTI_SYNAPSE_OPERATIONS:
            raise ValueError("`multiple_synapses` argument must be one of {}".format(
                list(common.Projection.MULTI_SYNAPSE_OPERATIONS)))
        shape = (self.pre.size, self.post.size)
        i, j = self._pre_index, self._post_index
        count = np.zeros(shape, dtype=int)
        np.add.at(count, (i, j), 1)
        arrays = []
        for name in names:
            if name.endswith("s") and name[:-1] in ("weight", "delay"):
                name = name[:-1]
            values = self._values(name)
            if multiple_synapses == "sum":
                result = np.zeros(shape)
                np.add.at(result, (i, j), values)
            elif multiple_synapses in ("min", "max"):
                ufunc = np.minimum if multiple_synapses == "min" else np.maximum
                result = np.full(shape, np.inf if multiple_synapses == "min" else -np.inf)
                ufunc.at(result, (i, j), values)
            else:  # "first" or "last": keep one connection per (i, j) pair
                result = np.full(shape, np.nan)
                flat = np.ravel_multi_index((i, j), shape)
                if multiple_synapses == "last":
                    flat, values = flat[::-1], values[::-1]
                flat, keep = np.unique(flat, return_index=True)
                result.flat[flat] = values[keep]
            result[count == 0] = np.nan
            arrays.append(result)
        return arrays

    def _set_attributes(self, parameter_space):
        """Set weights/delays (native names) of all connections in the engine."""
        engine = self._simulator.state.engine
        for name, lazy in parameter_space.items():
            if name not in self._names:
                raise errors.NonExistentParameterError(
                    name, self.synapse_type.__class__.__name__, self._names)
            if len(self) == 0:
                continue
            values = self._per_connection(lazy)
            if name == "delay":
                check_delays(values, self._simulator.state)
            elif name == "weight":
                self.synapse_type.parameter_checks["weight"](values, self)
            for sid, positions in self._blocks:
                try:
                    engine.set_synapses(sid, name, values[positions])
                except ValueError as err:
                    raise errors.InvalidParameterValueError(str(err)) from None

    def _per_connection(self, lazy):
        """One value per connection of a (pre.size x post.size) lazy array: a number,
        an array, a random distribution or a function of distance."""
        if lazy.is_homogeneous:
            return np.full(len(self), float(lazy.evaluate(simplify=True)))
        if not callable(lazy.base_value):
            return np.asarray(lazy[self._pre_index, self._post_index], dtype=float)
        # functions of distance evaluate whole rows: take blocks of presynaptic cells
        values = np.empty(len(self))
        rows = max(1, 2**22 // max(1, self.post.size))
        for start in range(0, self.pre.size, rows):
            stop = min(start + rows, self.pre.size)
            block = np.asarray(lazy[start:stop, :], dtype=float).reshape(-1, self.post.size)
            sel = np.nonzero((self._pre_index >= start) & (self._pre_index < stop))[0]
            values[sel] = block[self._pre_index[sel] - start, self._post_index[sel]]
        return values

    def _set_one(self, name, position, value):
        """Set attribute `name` of the connection at `position` (checked as by set())."""
        values = np.array([float(value)])
        if name == "delay":
            check_delays(values, self._simulator.state)
        elif name == "weight":
            self.synapse_type.parameter_checks["weight"](values, self)
        engine = self._simulator.state.engine
        for sid, positions in self._blocks:
            where = np.arange(len(self))[positions]
            hit = np.nonzero(where == position)[0]
            if hit.size:
                block = np.array(engine.get_synapses(sid, name), dtype=float)
                block[hit[0]] = values[0]
                engine.set_synapses(sid, name, block)
                return

    def initialize(self, **initial_values):
        """Set initial values of synaptic state variables (``u`` of TsodyksMarkramSynapse):
        numbers, random distributions, (pre.size x post.size) arrays or functions of
        distance, as documented by PyNN (whose own version builds them with the wrong
        shape)."""
        for variable, value in initial_values.items():
            space = ParameterSpace({variable: value}, shape=(self.pre.size, self.post.size))
            lazy = self._handle_distance_expressions(space)[variable]
            self._set_initial_value_array(variable, lazy)
            self.initial_values[variable] = lazy

    def _set_initial_value_array(self, variable, value):
        """Initial value of a synaptic state variable (``u`` of Tsodyks-Markram; ``a``
        and ``u`` of MultiQuantalSynapse, as in NEST's quantal_stp)."""
        dynamics = getattr(self.synapse_type, "engine_dynamics", None)
        allowed = {"tsodyks_markram": ("u",), **sto.INITIAL_VALUES}.get(dynamics, ())
        if variable not in allowed:
            raise NotImplementedError(
                f"{type(self.synapse_type).__name__} has no state variable {variable!r} to "
                f"initialize" + (f" (it has: {', '.join(allowed)})" if allowed else ""))
        values = self._per_connection(value)
        engine = self._simulator.state.engine
        for sid, positions in self._blocks:
            try:
                engine.set_synapses(sid, variable, values[positions])
            except ValueError as err:
                raise errors.InvalidParameterValueError(
                    f"{type(self.synapse_type).__name__}: {err}") from None
