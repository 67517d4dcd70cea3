"""
Population, PopulationView and Assembly for the pyNN.ann backend.

A Population is one engine group; a PopulationView addresses a subset of its
parent's group by index. The adapter keeps a host copy of the (native) parameters
so that ``get()`` needs no device round trip.
"""

import warnings

import numpy as np
from pyNN import common
from pyNN.parameters import LazyArray, ParameterSpace, simplify

from . import simulator
from .recording import Recorder
from .surrogates import registry


def engine_addresses(cells):
    """Return (group ids, indices within group) for each cell of a Population,
    PopulationView or Assembly, in that object's order."""
    if isinstance(cells, common.Assembly):
        parts = [engine_addresses(p) for p in cells.populations]
        return (np.concatenate([g for g, _ in parts]),
                np.concatenate([i for _, i in parts]))
    root = cells._root
    index = np.arange(cells.size) if cells._engine_index is None else cells._engine_index
    return np.full(cells.size, root._engine_group, dtype=int), np.asarray(index, dtype=int)


def _object_array(value, size):
    """One object (e.g. a Sequence of spike times) per cell, as an array of shape (size,)."""
    value = np.asarray(value, dtype=object)
    items = [value.item()] * size if value.ndim == 0 else list(value)
    result = np.empty(size, dtype=object)
    result[:] = items
    return result


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator


class PopulationMixin(object):
    """Parameter access shared by Population and PopulationView."""

    def _get_parameters(self, *names):
        """Return a ParameterSpace of PyNN (standard) parameters."""
        if self.celltype.computed_parameters_include(names):
            native_names = self.celltype.get_native_names()
        else:
            native_names = self.celltype.get_native_names(*names)
        native = self._get_native_parameters(*native_names)
        return self.celltype.reverse_translate(native)

    def _get_native_parameters(self, *names):
        """Return a ParameterSpace of native parameters (from the host copy)."""
        index = self._engine_index
        values = {}
        for name in names:
            value = self._root._parameters[name]
            if index is not None:
                value = value[index]
            if value.dtype == object:  # e.g. spike_times: one Sequence per cell
                values[name] = value
            else:
                values[name] = simplify(value)
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        """Store native parameters in the host copy and send them to the engine."""
        parameter_space.evaluate(simplify=False)
        root = self._root
        index = self._engine_index
        engine = simulator.state.engine
        updates = {}
        for name, value in parameter_space.items():
            if root._parameters[name].dtype == object:
                updates[name] = _object_array(value, self.size)
            else:
                updates[name] = np.asarray(value, dtype=float)
        # the engine first: it may reject values outside the surrogate's domain
        push = getattr(root.celltype, "_push_parameters", None)
        if push is not None:  # all at once: the values may only be valid together
            push(engine, root._engine_group, updates, index)
        for name, new in updates.items():
            if push is None:
                engine.set_parameters(root._engine_group, name,
                                      root.celltype._engine_values(name, new), index)
            host = root._parameters[name]
            if index is None:
                host[:] = new
            else:
                host[index] = new

    def _push_initial_values(self, variable, values):
        """Send initial values of `variable` (array over this object) to the engine."""
        root = self._root
        if variable in root.celltype.engine_state_variables:
            simulator.state.engine.set_initial(root._engine_group, variable,
                                               np.asarray(values, dtype=float),
                                               self._engine_index)
        else:
            default = root.celltype.default_initial_values.get(variable)
            if default is None or not np.allclose(values, default):
                warnings.warn(
                    f"pyNN.ann: the surrogate for {root.celltype.__class__.__name__} does not "
                    f"take an initial value for '{variable}'; the value is stored but ignored")

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class PopulationView(PopulationMixin, common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _simulator = simulator
    _assembly_class = Assembly

    @property
    def _root(self):
        return self.grandparent

    @property
    def _engine_index(self):
        """Indices of this view's cells in the root Population (= engine group)."""
        if not hasattr(self, "_cached_engine_index"):
            self._cached_engine_index = np.asarray(
                self.index_in_grandparent(np.arange(self.size)), dtype=int)
        return self._cached_engine_index

    @property
    def initial_values(self):
        """Initial values of the cells in this view, as LazyArrays."""
        index = self._engine_index
        return {name: LazyArray(value.evaluate(simplify=False)[index], shape=(self.size,))
                for name, value in self._root.initial_values.items()}

    def initialize(self, **initial_values):
        """Set initial values of state variables for the cells of this view."""
        root = self._root
        index = self._engine_index
        for variable, value in initial_values.items():
            values = LazyArray(value, shape=(self.size,), dtype=float).evaluate(simplify=False)
            if variable in root.initial_values:
                full = np.array(root.initial_values[variable].evaluate(simplify=False),
                                dtype=float)
            else:
                full = np.zeros(root.size)
            full[index] = values
            root.initial_values[variable] = LazyArray(full, shape=(root.size,), dtype=float)
            self._push_initial_values(variable, values)


class Population(PopulationMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly
    _engine_index = None

    @property
    def _root(self):
        return self

    def _create_cells(self):
        """Create the cell IDs and register one group of cells with the engine."""
        state = simulator.state
        id_range = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(id) for id in id_range], dtype=simulator.ID)
        self._mask_local = np.ones((self.size,), bool)
        for id in self.all_cells:
            id.parent = self
        state.id_counter += self.size

        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = {}
        for name, value in parameter_space.items():
            value = np.asarray(value)
            if value.dtype == object:
                value = _object_array(value, self.size)
            else:
                value = np.array(np.broadcast_to(value, (self.size,)), dtype=float)
            self._parameters[name] = value

        initial = {}
        for name, value in self.celltype.default_initial_values.items():
            initial[name] = LazyArray(value, shape=(self.size,), dtype=float).evaluate(
                simplify=False)
        try:
            self._engine_group = self.celltype._create_engine_group(
                state.engine, self.size, self._parameters, initial)
        except registry.UnsupportedTimestepError as err:  # name the PyNN type too
            raise registry.UnsupportedTimestepError(
                f"{self.celltype.__class__.__name__}: {err}") from None

    def _set_initial_value_array(self, variable, initial_values):
        values = initial_values.evaluate(simplify=False)
        self._push_initial_values(variable, np.broadcast_to(values, (self.size,)))
